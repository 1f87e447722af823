// upgradePlatform survives its worker being SIGKILLed: once while helm runs (the release is left
// pending-upgrade, helm dies with the worker's container), once right after helm finished. A new
// worker resumes the workflow; helm history shows no upgrade applied twice.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execa } from 'execa';
import type { UpgradeReport } from '../../contract/messages.ts';
import { useTestCluster, uniqueNamespace } from '../helpers/cluster.ts';
import { eventually } from '../helpers/eventually.ts';
import { startProbeServer } from '../helpers/http-probe-server.ts';
import { uniqueTaskQueue, useTestTemporal } from '../helpers/temporal.ts';
import { recordReliability } from '../reliability/report.ts';
import { deploymentImage, helmHistory } from '../helpers/release-state.ts';
import { crashWorkers } from '../helpers/crash-workers.ts';
import { failDeadWorkersActivities } from '../helpers/dead-worker.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const release = 'orchestrator';

/** The helm processes working on this namespace (the worker's children). */
async function helmPids(namespace: string): Promise<number[]> {
  const out = await execa('pgrep', ['-f', `upgrade --install ${release} .* -n ${namespace}`], { reject: false });
  return out.stdout.split('\n').filter(Boolean).map(Number);
}

async function setUp(prefix: string) {
  const temporal = await testTemporal();
  const cluster = await testCluster();
  const namespace = uniqueNamespace(prefix);
  const taskQueue = uniqueTaskQueue(prefix);
  const workers = crashWorkers(temporal, cluster, taskQueue);
  // The smoke test probes a loopback /health (the local cluster's pods do not answer HTTP).
  const probe = await startProbeServer();
  cluster.defer(async () => {
    await probe.close();
    await workers.stopAll();
    await cluster.kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });
  const first = await workers.start();
  await temporal.client.workflow.execute('deployPlatform', {
    taskQueue,
    workflowId: uniqueTaskQueue('deploy'),
    args: [{ namespace, release, values: { image: { tag: '1.0.0' } }, skipHealthCheck: true }],
  });
  const handle = await temporal.client.workflow.start('upgradePlatform', {
    taskQueue,
    workflowId: uniqueTaskQueue('upgrade'),
    // rolloutSeconds is also helm's --timeout: a release left pending is recovered only once it is older
    // than that (plus a margin), when its helm must have exited. Short, so that the test waits little.
    args: [
      {
        namespace,
        release,
        imageTag: 'slow',
        smokeTest: { healthUrl: probe.url('/health') },
        timeouts: { rolloutSeconds: 20 },
      },
    ],
  });
  return { cluster, namespace, first, workers, handle };
}

test('SIGKILL while helm runs: the stuck release is recovered and the upgrade completes once', async () => {
  const { cluster, namespace, first, workers, handle } = await setUp('crash-helm');
  // helm --wait is running (":slow" pods need 8 s): kill the worker and its helm, as a dead pod would.
  const pids = await eventually(
    'helm upgrade to run',
    async () => ((await helmPids(namespace)).length ? helmPids(namespace) : undefined),
    120_000,
    50,
  );
  await eventually(
    'revision 2 pending-upgrade',
    async () =>
      (await helmHistory(cluster, namespace, release)).at(-1)?.status === 'pending-upgrade' ? true : undefined,
    120_000,
    50,
  );
  await first.kill('SIGKILL');
  assert.deepEqual(await helmPids(namespace), [], `helm (${pids.join(', ')}) died with the worker`);
  await failDeadWorkersActivities(handle);
  assert.equal((await helmHistory(cluster, namespace, release)).at(-1)?.status, 'pending-upgrade');

  await workers.start();
  const report = (await handle.result()) as UpgradeReport;
  assert.equal(report.outcome, 'succeeded');
  const history = await helmHistory(cluster, namespace, release);
  await recordReliability('upgrade-crash-helm', { runs: 1, crashes: 1, duplicates: Math.max(0, history.length - 4) });
  // 1 install, 2 the interrupted upgrade, 3 the recovery rollback, 4 the upgrade: applied once.
  assert.deepEqual(
    history.map((h) => h.revision),
    [1, 2, 3, 4],
  );
  assert.equal(history.at(-1)?.status, 'deployed');
  assert.deepEqual(
    report.revisions.map((r) => r.action),
    ['recover', 'upgrade'],
  );
  assert.equal(await deploymentImage(cluster, namespace, release), 'ghcr.io/example/orchestrator:slow');
});

test('SIGKILL right after helm finished: the retried step finds the release at the target and adds no revision', async () => {
  const { cluster, namespace, first, workers, handle } = await setUp('crash-after');
  await eventually(
    'revision 2 deployed',
    async () => {
      const last = (await helmHistory(cluster, namespace, release)).at(-1);
      return last?.revision === 2 && last.status === 'deployed' ? true : undefined;
    },
    120_000,
    50,
  );
  await first.kill('SIGKILL');
  await failDeadWorkersActivities(handle);
  await workers.start();
  const report = (await handle.result()) as UpgradeReport;
  assert.equal(report.outcome, 'succeeded');
  const history = await helmHistory(cluster, namespace, release);
  await recordReliability('upgrade-crash-after', { runs: 1, crashes: 1, duplicates: Math.max(0, history.length - 2) });
  assert.deepEqual(
    history.map((h) => h.revision),
    [1, 2],
    'the upgrade was applied twice',
  );
  assert.deepEqual(
    report.revisions.map((r) => [r.revision, r.action]),
    [[2, 'upgrade']],
  );
});
