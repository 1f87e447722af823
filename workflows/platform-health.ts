// platformHealth: the operations guide's "Health Checks" and "Resource Usage Monitoring" as
// one read-only runbook. Nothing here changes the cluster.
import { quickReadActs } from './activity-proxies.ts';
import { summarizeHealth, withLists } from './health-summary.ts';
import { ProgressTracker } from './progress.ts';
import {
  platformHealthInputSchema,
  type PlatformHealthInput,
  type PlatformHealthReport,
} from '../contract/types/platform-health.ts';
import { parseInput } from './validate.ts';

const STEPS = ['validate', 'cluster', 'nodes', 'pods', 'taskruns', 'orchestrator health', 'report'] as const;

export async function platformHealth(input: PlatformHealthInput = {}): Promise<PlatformHealthReport> {
  const progress = new ProgressTracker('platformHealth', STEPS);
  const options = await progress.run('validate', async () =>
    parseInput('platformHealth', platformHealthInputSchema, input),
  );

  const cluster = await progress.run(
    'cluster',
    () => quickReadActs.describeCluster(),
    (c) => `${c.server} (${c.version})`,
  );
  const nodes = await progress.run(
    'nodes',
    () => quickReadActs.checkNodes(),
    (n) => `${n.ready}/${n.total} Ready, ${n.cordoned.length} cordoned`,
  );
  const pods = await progress.run(
    'pods',
    () => quickReadActs.checkPods(options.namespace),
    (p) => (p.namespaceExists ? `${p.ready}/${p.total} ready in ${p.namespace}` : `namespace ${p.namespace} missing`),
  );
  const taskRuns = await progress.run(
    'taskruns',
    () => quickReadActs.countTaskRuns(options.namespace),
    (t) => (t.crdInstalled ? `${t.total} TaskRuns` : 'CRD not installed'),
  );
  const service = await progress.run(
    'orchestrator health',
    () =>
      quickReadActs.probeOrchestrator({
        namespace: options.namespace,
        serviceName: options.serviceName,
        healthPath: options.healthPath,
        ...(options.healthUrl ? { healthUrl: options.healthUrl } : {}),
      }),
    (s) => s.detail,
  );

  return progress.run(
    'report',
    async () => {
      const readings = withLists({ nodes, pods, taskRuns });
      const summary = summarizeHealth({
        ...readings,
        service,
        restartWarningThreshold: options.restartWarningThreshold,
      });
      return {
        runbook: 'platformHealth' as const,
        checkedAt: new Date().toISOString(),
        cluster,
        ...summary,
        ...readings,
        service,
      };
    },
    (r) => (r.healthy ? 'healthy' : `${r.problems.length} problems`),
  );
}
