// A Kubernetes API outage (npm run reliability): the local kube-apiserver is killed and kept down for
// 30 s while a backup, a restore and the TaskRun controller's burst run. Each completes once the API
// server is back, and nothing is lost or duplicated. Needs the shared stack of scripts/test.ts or a
// cluster of its own (test/helpers/cluster.ts), whose API server it may stop.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { interruptApiServer } from '../../scripts/stack/local-cluster.ts';
import type { BackupReport, RestoreReport } from '../../contract/types/backup.ts';
import { uniqueNamespace, useTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { eventually } from '../helpers/eventually.ts';
import { setTestSecret } from '../helpers/secrets.ts';
import { uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal.ts';
import { recordReliability } from './report.ts';
import { applyObjects } from '../helpers/apply-objects.ts';
import { startWorkerStack } from '../helpers/worker-stack.ts';
import { startControllerWorkflow } from '../helpers/taskrun.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const namespace = uniqueNamespace('outage');
const copy = `${namespace}-copy`;
const OUTAGE_MS = 30_000;
setTestSecret('OUTAGE_TEST_HMAC_KEY', randomBytes(32).toString('hex'));
// The worker's backup key (its configuration, never an input).
const backupKeys = { hmacKey: { env: 'OUTAGE_TEST_HMAC_KEY' } };
const include = { secrets: false, helmReleases: false };
const store = mkdtempSync(join(tmpdir(), 'outage-store-'));

let temporal: TestTemporal;
let cluster: TestCluster;
let taskQueue: string;

before(async () => {
  const stack = {
    prefix: 'outage',
    deps: { backupDir: store, backupKeys },
    namespaces: [namespace, copy],
    dirs: [store],
  };
  ({ temporal, cluster, taskQueue } = await startWorkerStack(testTemporal, testCluster, stack));
  assert.ok(
    cluster.ref,
    "the outage test needs the local cluster's name and directory (TEST_CLUSTER_NAME, TEST_CLUSTER_DIR)",
  );
  await temporal.client.workflow.execute('deployPlatform', {
    taskQueue,
    workflowId: uniqueTaskQueue('deploy'),
    args: [{ namespace, skipHealthCheck: true }],
  });
  const configMaps = Array.from({ length: 50 }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `cm-${i}`, namespace },
    data: { i: String(i) },
  }));
  await applyObjects(cluster, ...configMaps);
});

/** Starts `workflow`, kills the API server right after, brings it back after OUTAGE_MS; returns the result. */
async function throughOutage<T>(workflow: string, input: unknown): Promise<T> {
  const outage = interruptApiServer(cluster.ref!, OUTAGE_MS);
  await sleep(200);
  const result = temporal.client.workflow.execute(workflow, {
    taskQueue,
    workflowId: uniqueTaskQueue(workflow),
    args: [input],
  });
  await outage;
  return (await result) as T;
}

/** Objects of a kind in a namespace; not the API server's own kube-root-ca.crt, which backups leave out. */
const count = async (kind: string, ns: string, selector?: string) =>
  (await cluster.kubectl(['get', kind, '-n', ns, '-o', 'name', ...(selector ? ['-l', selector] : [])]))
    .trim()
    .split('\n')
    .filter((name) => name && name !== 'configmap/kube-root-ca.crt').length;

let backupId: string;

test('backupPlatform started while the API server is down completes once it is back', async () => {
  const report = await throughOutage<BackupReport>('backupPlatform', { namespace, include });
  backupId = report.backupId;
  const inCluster = await count('configmaps', namespace);
  const backedUp = report.backup.counts.configMaps ?? 0;
  await recordReliability('outage-backup', { runs: 1, crashes: 1, lost: Math.max(0, inCluster - backedUp) });
  assert.equal(backedUp, inCluster);
});

test('restorePlatform through an outage restores every object', async () => {
  const report = await throughOutage<RestoreReport>('restorePlatform', { backupId, targetNamespace: copy, include });
  const expected = await count('configmaps', namespace);
  const found = await count('configmaps', copy);
  await recordReliability('outage-restore', { runs: 1, crashes: 1, lost: Math.max(0, expected - found) });
  assert.equal(found, expected, JSON.stringify(report.verify));
});

test("the TaskRun controller's burst through an outage: every TaskRun succeeds with one Job", async () => {
  const controller = await startControllerWorkflow(temporal, taskQueue, { namespace, resyncSeconds: 20 });
  try {
    const taskRuns = Array.from({ length: 100 }, (_, i) => ({
      apiVersion: 'orchestrator.io/v1',
      kind: 'TaskRun',
      metadata: { name: `burst-${i}`, namespace, labels: { burst: 'outage' } },
      spec: { service: 'svc', taskId: `t-${i}`, prompt: 'p' },
    }));
    await applyObjects(cluster, ...taskRuns);
    await interruptApiServer(cluster.ref!, OUTAGE_MS);
    const succeeded = () =>
      cluster.kubectl([
        'get',
        'taskruns',
        '-n',
        namespace,
        '-l',
        'burst=outage',
        '-o',
        'jsonpath={range .items[*]}{.status.phase}{"\\n"}{end}',
      ]);
    await eventually(
      'all 100 TaskRuns to succeed',
      async () => ((await succeeded()).split('\n').filter((p) => p === 'Succeeded').length === 100 ? true : undefined),
      240_000,
      1000,
    );
    const jobs = await count('jobs', namespace, 'app=claude-agent');
    await recordReliability('outage-controller', {
      runs: 1,
      crashes: 1,
      duplicates: Math.max(0, jobs - 100),
      lost: Math.max(0, 100 - jobs),
    });
    assert.equal(jobs, 100, 'one Job per TaskRun');
  } finally {
    await controller.terminate('test done');
  }
});
