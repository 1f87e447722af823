// rotateSecret survives a SIGKILLed worker at every step boundary of one run (after applySecrets,
// after restartDeployments, after waitDeploymentsRollout): each time a new worker resumes it. The end
// state is exactly one rotation: the key holds the new value, every other key of the Secret is as it
// was, each Deployment was restarted once (one new ReplicaSet, the run's restart stamp).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { RotateSecretReport } from '../../contract/types/rotate-secret.ts';
import { useTestCluster, uniqueNamespace } from '../helpers/cluster.ts';
import { setTestSecret } from '../helpers/secrets.ts';
import { uniqueTaskQueue, useTestTemporal } from '../helpers/temporal.ts';
import { recordReliability } from '../reliability/report.ts';
import { applyObjects } from '../helpers/apply-objects.ts';
import { crashWorkers, killAtBoundaries } from '../helpers/crash-workers.ts';
import { deployment } from '../helpers/workloads.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const DEPLOYMENTS = ['orchestrator', 'web'];
const ENV = 'ROTATE_CRASH_TEST_NEW_KEY';

test('SIGKILL after every step of rotateSecret: one rotation, other keys kept, each Deployment restarted once', async () => {
  const temporal = await testTemporal();
  const cluster = await testCluster();
  const namespace = uniqueNamespace('rotate-crash');
  const taskQueue = uniqueTaskQueue('rotate-crash');
  const rotated = setTestSecret(ENV, `new-${randomUUID()}`);
  const old = {
    ANTHROPIC_API_KEY: `old-${randomUUID()}`,
    GITHUB_TOKEN: `token-${randomUUID()}`,
    SLACK_WEBHOOK: `hook-${randomUUID()}`,
  };
  for (const [k, v] of Object.entries(old)) setTestSecret(`ROTATE_CRASH_TEST_${k}`, v);
  const workers = crashWorkers(temporal, cluster, taskQueue, { RUNBOOK_SECRET_ENV_ALLOW: 'ROTATE_CRASH_TEST_*' });
  cluster.defer(async () => {
    await workers.stopAll();
    await cluster.kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  await cluster.kubectl(['create', 'namespace', namespace]);
  // The Secret as an earlier deployPlatform left it: all keys under the runbooks' shared field manager.
  await cluster.kubectl(
    ['apply', '--server-side', '--field-manager=platform-runbooks', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'orchestrator-secrets', namespace },
      stringData: old,
    }),
  );
  await applyObjects(
    cluster,
    ...DEPLOYMENTS.map((name) =>
      deployment(name, namespace, 1, {
        containers: [
          { name: 'app', image: 'example/app:1', envFrom: [{ secretRef: { name: 'orchestrator-secrets' } }] },
        ],
      }),
    ),
  );
  for (const d of DEPLOYMENTS)
    await cluster.kubectl(['rollout', 'status', `deployment/${d}`, '-n', namespace, '--timeout=60s']);

  const started = Date.now();
  const first = await workers.start();
  const workflowId = uniqueTaskQueue('rotate-crash');
  const handle = await temporal.client.workflow.start('rotateSecret', {
    taskQueue,
    workflowId,
    args: [
      {
        namespace,
        key: 'ANTHROPIC_API_KEY',
        from: { env: ENV },
        restart: DEPLOYMENTS,
        skipHealthCheck: true,
        rolloutTimeoutSeconds: 120,
      },
    ],
  });
  const kills = await killAtBoundaries(handle, first, workers, [
    [1, 'applySecrets'],
    [2, 'restartDeployments'],
    [3, 'waitDeploymentsRollout'],
  ]);
  const report = (await handle.result()) as RotateSecretReport;
  const seconds = Math.round((Date.now() - started) / 1000);

  const secret = JSON.parse(
    await cluster.kubectl(['get', 'secret', 'orchestrator-secrets', '-n', namespace, '-o', 'json']),
  ) as { data: Record<string, string> };
  const data = Object.fromEntries(
    Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
  const { runId } = await handle.describe();
  const replicaSets = async (app: string) =>
    (await cluster.kubectl(['get', 'replicasets', '-n', namespace, '-l', `app=${app}`, '-o', 'name']))
      .trim()
      .split('\n')
      .filter(Boolean).length;
  const restarts = await Promise.all(
    DEPLOYMENTS.map(async (d) => ({
      stamp: (
        await cluster.kubectl([
          'get',
          'deployment',
          d,
          '-n',
          namespace,
          '-o',
          "jsonpath={.spec.template.metadata.annotations['platform-runbooks/restarted-by']}",
        ])
      ).trim(),
      replicaSets: await replicaSets(d),
    })),
  );
  const lost =
    Object.keys(old).filter((k) => k !== 'ANTHROPIC_API_KEY' && data[k] !== old[k as keyof typeof old]).length +
    (data.ANTHROPIC_API_KEY === rotated ? 0 : 1);
  await recordReliability('rotate-secret-crash', {
    runs: 1,
    crashes: kills.killedAt.length,
    lost,
    duplicates: restarts.reduce((n, r) => n + Math.max(0, r.replicaSets - 2), 0),
  });
  console.error(`rotate-secret-crash: ${kills.killedAt.length} kills (${kills.killedAt.join('; ')}), ${seconds} s`);

  assert.equal(kills.killedAt.length, 3);
  assert.deepEqual(data, { ...old, ANTHROPIC_API_KEY: rotated });
  assert.equal(report.changed, true);
  assert.deepEqual(
    report.restarted.map((r) => r.deployment),
    DEPLOYMENTS,
  );
  for (const r of restarts) {
    assert.equal(r.stamp, `${workflowId}/${runId}`);
    // The original ReplicaSet and the one restart: a retried restart applied the same stamp, no second rollout.
    assert.equal(r.replicaSets, 2);
  }
  assert.deepEqual(
    report.rollout.map((r) => [r.deployment, r.ready]),
    DEPLOYMENTS.map((d) => [d, 1]),
  );
});
