// deployPlatform: the operations guide's "Initial Platform Setup" (namespaces, CRD, secrets,
// controller configuration, Helm install, verification) as one resumable runbook.
// Plan first (server-side dry runs); with dryRun the plan is the result. Running it again on a
// deployed platform changes nothing: every write is an apply, and Helm is skipped when the
// release already runs the same chart and values.
import { ProgressTracker } from './progress.ts';
import { parseInput } from './validate.ts';
import { kubeActs, longActs } from './activity-proxies.ts';
import {
  deployPlatformInputSchema,
  type DeployPlatformInput,
  type DeployPlatformOptions,
  type DeployPlan,
  type DeployReport,
} from '../contract/types/deploy.ts';
import { helmChartArgs } from './helm-chart.ts';
import { checkOrchestratorHealth, healthCheckText, unhealthyFailure } from './orchestrator-health.ts';
import { mergeValues } from '../contract/merge-values.ts';

const STEPS = ['validate', 'plan', 'namespaces', 'crds', 'secrets', 'helm', 'rollout', 'health', 'report'] as const;
type StepName = (typeof STEPS)[number];

export async function deployPlatform(input: DeployPlatformInput = {}): Promise<DeployReport> {
  const progress = new ProgressTracker('deployPlatform', STEPS);
  const opts = await progress.run('validate', async () =>
    parseInput('deployPlatform', deployPlatformInputSchema, input),
  );
  const namespaces = [opts.namespace, ...(opts.createTelemetryNamespace ? [opts.telemetryNamespace] : [])];

  const plan = await progress.run(
    'plan',
    () => planDeploy(opts, namespaces),
    (p) =>
      `${p.namespaces.filter((n) => !n.exists).length} namespaces to create, helm ${p.helm.willChange ? (p.helm.installed ? 'upgrade' : 'install') : 'unchanged'}`,
  );
  const report: DeployReport = { runbook: 'deployPlatform', dryRun: opts.dryRun, plan };
  if (opts.dryRun) {
    for (const step of STEPS.slice(2, -1)) progress.skip(step, 'dry run');
    await progress.run(
      'report',
      async () => report,
      () => 'dry run: nothing changed',
    );
    return report;
  }

  report.namespaces = await progress.run('namespaces', () => kubeActs.ensureNamespaces(namespaces), countChanged);
  report.crds = await progress.run(
    'crds',
    async () => {
      const crds = await kubeActs.applyChartCrds(opts.chart);
      await longActs(opts.timeouts.crdSeconds).waitCrdsEstablished({
        names: crds.map((c) => c.name),
        timeoutSeconds: opts.timeouts.crdSeconds,
      });
      return crds;
    },
    (c) => `${c.length} Established`,
  );
  report.secrets = await progress.run(
    'secrets',
    () => kubeActs.applySecrets({ namespace: opts.namespace, secrets: opts.secrets }),
    (s) => `${s.length} Secrets`,
  );
  report.helm = await progress.run(
    'helm',
    async () => {
      const result = await longActs(opts.timeouts.rolloutSeconds).helmUpgradeInstall({
        ...helmChartArgs(opts.chart),
        release: opts.release,
        namespace: opts.namespace,
        values: chartValues(opts),
        valuesFiles: opts.valuesFiles,
        wait: true,
        timeoutSeconds: opts.timeouts.rolloutSeconds,
      });
      return { revision: result.revision, changed: result.changed, status: result.status };
    },
    (h) => `revision ${h.revision}${h.changed ? '' : ' (unchanged)'}`,
  );
  report.rollout = await progress.run(
    'rollout',
    () =>
      longActs(opts.timeouts.rolloutSeconds).waitReleaseRollout({
        namespace: opts.namespace,
        release: opts.release,
        timeoutSeconds: opts.timeouts.rolloutSeconds,
      }),
    (r) => r.map((d) => `${d.deployment} ${d.ready}/${d.replicas}`).join(', '),
  );
  report.health = await healthStep(progress, opts);
  await progress.run(
    'report',
    async () => report,
    () => 'deployed',
  );
  return report;
}

async function planDeploy(opts: DeployPlatformOptions, namespaces: string[]): Promise<DeployPlan> {
  const objects = await kubeActs.planPlatformObjects({
    namespaces,
    chart: opts.chart,
    secretsNamespace: opts.namespace,
    secrets: opts.secrets,
  });
  const current = await kubeActs.helmStatus({ release: opts.release, namespace: opts.namespace });
  const releaseNamespaceExists = objects.namespaces.find((n) => n.name === opts.namespace)?.exists ?? false;
  const dryRun = await kubeActs.helmUpgradeInstall({
    ...helmChartArgs(opts.chart),
    release: opts.release,
    namespace: opts.namespace,
    values: chartValues(opts),
    valuesFiles: opts.valuesFiles,
    wait: false,
    timeoutSeconds: 60,
    dryRun: releaseNamespaceExists ? 'server' : 'client',
  });
  return {
    ...objects,
    helm: {
      release: opts.release,
      namespace: opts.namespace,
      installed: current !== null,
      ...(current ? { currentRevision: current.revision } : {}),
      willChange: dryRun.changed,
      objects: dryRun.objects ?? [],
    },
  };
}

async function healthStep(
  progress: ProgressTracker<StepName>,
  opts: DeployPlatformOptions,
): Promise<DeployReport['health']> {
  if (opts.skipHealthCheck) {
    progress.skip('health', 'skipped by input');
    return undefined;
  }
  return progress.run(
    'health',
    async () => {
      const check = await checkOrchestratorHealth({
        namespace: opts.namespace,
        serviceName: opts.release,
        release: opts.release,
        ...(opts.healthUrl ? { healthUrl: opts.healthUrl } : {}),
      });
      if (!check.ok) throw unhealthyFailure(`deployed, but the health check failed: ${check.detail}`, check);
      return check;
    },
    healthCheckText,
  );
}

/** The input's values, with the TaskRun reconciler chosen by the input (one reconciler, never two). */
function chartValues(opts: DeployPlatformOptions): Record<string, unknown> {
  return mergeValues(opts.values, { taskRunReconciler: { enabled: opts.taskRunReconciler === 'orchestrator' } });
}

function countChanged(items: { changed: boolean | 'dry-run' }[]): string {
  return `${items.filter((i) => i.changed === true).length} changed of ${items.length}`;
}
