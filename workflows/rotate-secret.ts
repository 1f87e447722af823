// rotateSecret: the guide's "Secret Rotation". Patch one key of a Secret from a reference,
// restart the Deployments that read it, wait for their rollout, verify health. The value is
// read and written by an activity only; history holds its fingerprint.
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import { ProgressTracker } from './progress.ts';
import { parseInput } from './validate.ts';
import { kubeActs, longActs } from './activity-proxies.ts';
import { SMOKE_TEST_FAILED } from '../contract/failures.ts';
import { judgeHealthProbe } from './health-summary.ts';
import {
  rotateSecretInputSchema,
  type RotateSecretInput,
  type RotateSecretReport,
} from '../contract/types/rotate-secret.ts';

const STEPS = ['validate', 'rotate', 'restart', 'rollout', 'health', 'report'] as const;

export async function rotateSecret(input: RotateSecretInput): Promise<RotateSecretReport> {
  const progress = new ProgressTracker('rotateSecret', STEPS);
  const opts = await progress.run('validate', async () => parseInput('rotateSecret', rotateSecretInputSchema, input));

  const [written] = await progress.run(
    'rotate',
    () =>
      kubeActs.applySecrets({
        namespace: opts.namespace,
        secrets: [{ name: opts.secret, keys: [{ key: opts.key, from: opts.from }] }],
        field: 'from',
      }),
    (r) => `${opts.secret}/${opts.key} ${r[0]?.changed ? 'updated' : 'unchanged'} (${r[0]?.keys[0]?.fingerprint})`,
  );

  // The stamp is the workflow run: a retried restart re-applies the same annotation, so pods restart
  // once per run, and a re-run under the same workflow ID restarts them again.
  const { workflowId, runId } = workflowInfo();
  const restarted = await progress.run(
    'restart',
    () =>
      kubeActs.restartDeployments({
        namespace: opts.namespace,
        deployments: opts.restart,
        stamp: `${workflowId}/${runId}`,
      }),
    (r) => r.map((d) => d.deployment).join(', '),
  );
  const rollout = await progress.run(
    'rollout',
    () =>
      longActs(opts.rolloutTimeoutSeconds).waitDeploymentsRollout({
        namespace: opts.namespace,
        deployments: opts.restart,
        timeoutSeconds: opts.rolloutTimeoutSeconds,
      }),
    (r) => r.map((d) => `${d.deployment} ${d.ready}/${d.replicas}`).join(', '),
  );

  const report: RotateSecretReport = {
    runbook: 'rotateSecret',
    secret: opts.secret,
    namespace: opts.namespace,
    key: opts.key,
    fingerprint: written!.keys[0]!.fingerprint,
    changed: written!.changed === true,
    restarted,
    rollout,
  };
  if (opts.skipHealthCheck) {
    progress.skip('health', 'skipped by input');
  } else {
    report.health = await progress.run(
      'health',
      async () => {
        const probe = await kubeActs.probeOrchestrator({
          namespace: opts.namespace,
          serviceName: opts.healthService,
          healthPath: '/health',
          ...(opts.healthUrl ? { healthUrl: opts.healthUrl } : {}),
        });
        const check = judgeHealthProbe(probe);
        if (!check.ok)
          throw ApplicationFailure.create({
            type: SMOKE_TEST_FAILED,
            message: `after the rotation: ${check.detail}`,
            nonRetryable: true,
            details: [check],
          });
        return check;
      },
      (h) => `${h.probe ?? 'probe'}: ${h.detail}`,
    );
  }
  await progress.run(
    'report',
    async () => report,
    () => 'rotated',
  );
  return report;
}
