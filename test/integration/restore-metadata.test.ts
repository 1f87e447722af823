// test-isolation: exclusive (replaces the cluster-wide TaskRun CRD with other versions)
// What a restore writes besides the objects' content: no ownerReferences or finalizers (the garbage
// collector would delete a restored object whose owner is not in the target; a finalizer of an operator
// that is not there blocks deletion forever), and TaskRuns that keep their backed-up status (created
// marked restored-from the backup, which the TaskRun controller leaves alone until the status has a
// phase, then the status), also when a controller watches the target namespace.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { PatchStrategy, setHeaderOptions, Watch } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import type { BackupReport, RestoreReport } from '../../contract/types/backup.ts';
import { RESTORE_PENDING_ANNOTATION, RESTORED_FROM_ANNOTATION } from '../../contract/types/taskrun.ts';
import { uniqueNamespace, useTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal.ts';
import { applyObjects } from '../helpers/apply-objects.ts';
import { startWorkerStack } from '../helpers/worker-stack.ts';
import { installTaskRunCrd } from '../helpers/taskrun.ts';
import { createTaskRun, taskSpec } from '../helpers/taskrun-objects.ts';
import { configMapOwnedBySecret } from '../helpers/owned-config-map.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const source = uniqueNamespace('restore-meta');
const target = `${source}-t`;
const target2 = `${source}-u`;
process.env.RESTORE_META_HMAC_KEY = randomBytes(32).toString('hex');
// The worker's backup keys (its configuration, never an input); nothing is encrypted in these backups.
const backupKeys = { hmacKey: { env: 'RESTORE_META_HMAC_KEY' }, identity: { env: 'RESTORE_META_NO_IDENTITY' } };
const include = { crds: false, secrets: false, helmReleases: false, configMaps: true, taskRuns: true };
const store = mkdtempSync(join(tmpdir(), 'restore-meta-store-'));
const CRD = fileURLToPath(new URL('../../charts/orchestrator/crds/taskruns.orchestrator.io.yaml', import.meta.url));
const TR = { group: 'orchestrator.io', version: 'v1', plural: 'taskruns' };
const FINALIZER = 'example.com/operator-cleanup';
const SUCCEEDED = 30;

let temporal: TestTemporal;
let cluster: TestCluster;
let taskQueue: string;
let backup: BackupReport;

type Obj = {
  metadata: {
    name: string;
    uid?: string;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
    finalizers?: string[];
    deletionTimestamp?: string;
  };
  status?: Record<string, unknown>;
};

before(async () => {
  const stack = { prefix: 'restore-meta', deps: { backupDir: store, backupKeys }, dirs: [store] };
  ({ temporal, cluster, taskQueue } = await startWorkerStack(testTemporal, testCluster, stack));
  cluster.defer(async () => {
    for (const ns of [source, target, target2]) {
      // The finalizer has no operator here: remove it, or the namespace never goes.
      await cluster
        .kubectl([
          'patch',
          'configmap',
          'finalized',
          '-n',
          ns,
          '--type=merge',
          '-p',
          '{"metadata":{"finalizers":null}}',
        ])
        .catch(() => undefined);
      await cluster.kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
    }
  });
  await installTaskRunCrd(cluster, 'platform-runbooks');
  await cluster.kubectl(['create', 'namespace', source]);
  // A Secret owns a ConfigMap (as an operator's Secret or a TaskRun owns its task ConfigMap); another carries an operator's finalizer.
  const items = [
    await configMapOwnedBySecret(cluster, source),
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'finalized', namespace: source, finalizers: [FINALIZER] },
      data: { a: 'b' },
    },
  ];
  await applyObjects(cluster, ...items);
  // Finished TaskRuns (their Jobs ran long ago), and one that never started (no status).
  const names = [...Array.from({ length: SUCCEEDED }, (_, i) => `done-${i}`), 'not-started'];
  await Promise.all(
    names.map(async (name) => {
      const status =
        name === 'not-started' ? undefined : { phase: 'Succeeded', jobName: `job-${name}`, message: 'done' };
      await createTaskRun(cluster, source, { name }, taskSpec(name), status);
    }),
  );
  backup = (await temporal.client.workflow.execute('backupPlatform', {
    taskQueue,
    workflowId: uniqueTaskQueue('backupPlatform'),
    args: [{ namespace: source, include }],
  })) as BackupReport;
  assert.deepEqual(backup.backup.counts, { configMaps: 2, taskRuns: SUCCEEDED + 1 });
});

const restore = (targetNamespace: string, kinds = include) =>
  temporal.client.workflow.execute('restorePlatform', {
    taskQueue,
    workflowId: uniqueTaskQueue('restorePlatform'),
    args: [{ backupId: backup.backupId, targetNamespace, include: kinds }],
  }) as Promise<RestoreReport>;

const getJson = async <T>(args: string[]): Promise<T> =>
  JSON.parse(await cluster.kubectl([...args, '-o', 'json'])) as T;
const taskRuns = async (ns: string) =>
  new Map((await getJson<{ items: Obj[] }>(['get', 'taskruns', '-n', ns])).items.map((t) => [t.metadata.name, t]));

/**
 * Plays a TaskRun controller watching the namespace: a TaskRun without a phase and without the restore's
 * marks (restore-pending, restored-from) is a new task: it starts a Job for it and writes status Running
 * (as the real controller does). Returns the names it started.
 */
async function simulateController(ns: string): Promise<{ started: Set<string>; stop: () => void }> {
  const started = new Set<string>();
  const watch = new Watch(cluster.kube.config);
  const controller = await watch.watch(
    `/apis/orchestrator.io/v1/namespaces/${ns}/taskruns`,
    {},
    (_type, obj: Obj) => {
      if (
        obj.metadata.annotations?.[RESTORE_PENDING_ANNOTATION] !== undefined ||
        obj.status?.phase ||
        obj.metadata.annotations?.[RESTORED_FROM_ANNOTATION] !== undefined ||
        started.has(obj.metadata.name)
      )
        return;
      started.add(obj.metadata.name);
      void cluster.kube.custom
        .patchNamespacedCustomObjectStatus(
          {
            ...TR,
            namespace: ns,
            name: obj.metadata.name,
            body: { status: { phase: 'Running', jobName: `rerun-${obj.metadata.name}` } },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        )
        .catch(() => undefined);
    },
    () => undefined,
  );
  return { started, stop: () => controller.abort() };
}

test('restored objects carry no ownerReferences or finalizers: the garbage collector leaves them alone', async () => {
  const report = await restore(target);
  assert.deepEqual(
    report.restored.find((r) => r.kind === 'configMaps'),
    { kind: 'configMaps', created: 2, updated: 0, skipped: 0 },
  );
  // Proof that the garbage collector runs here: a ConfigMap whose owner does not exist is deleted.
  await applyObjects(cluster, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'orphan-control',
      namespace: target,
      ownerReferences: [{ apiVersion: 'v1', kind: 'Secret', name: 'owner', uid: randomUUID() }],
    },
  });
  let collected = false;
  for (let i = 0; i < 120 && !collected; i++) {
    collected = !(await cluster.kubectl(['get', 'configmaps', '-n', target, '-o', 'name'])).includes(
      'configmap/orphan-control',
    );
    if (!collected) await sleep(500);
  }
  assert.ok(collected, 'the garbage collector did not delete a ConfigMap with a missing owner within 60 s');
  await sleep(2000);
  const owned = await getJson<Obj>(['get', 'configmap', 'owned', '-n', target]);
  assert.equal(owned.metadata.deletionTimestamp, undefined);
  assert.equal(owned.metadata.ownerReferences, undefined);
  const finalized = await getJson<Obj>(['get', 'configmap', 'finalized', '-n', target]);
  assert.equal(finalized.metadata.finalizers, undefined);
  // The source keeps its own (the backup holds them; only the restore drops them).
  assert.equal((await getJson<Obj>(['get', 'configmap', 'owned', '-n', source])).metadata.ownerReferences?.length, 1);
});

test('restored TaskRuns keep their backed-up status under a watching controller; none is started again; they name their backup', async () => {
  const before_ = await taskRuns(source);
  await cluster.kubectl(['create', 'namespace', target2]);
  // An earlier attempt created this one (marked, no status yet); this one was there before the restore (left alone).
  await createTaskRun(
    cluster,
    target2,
    { name: 'done-0', annotations: { [RESTORED_FROM_ANNOTATION]: backup.backupId } },
    taskSpec('done-0'),
  );
  await createTaskRun(
    cluster,
    target2,
    { name: 'done-1' },
    { service: 'auth-service', taskId: 'mine', prompt: 'other' },
    { phase: 'Failed', message: 'its own' },
  );
  await sleep(500);
  const controller = await simulateController(target2);
  let report: RestoreReport;
  try {
    report = await restore(target2, { ...include, configMaps: false });
    await sleep(1000); // events still in flight
  } finally {
    controller.stop();
  }
  const result = report.restored.find((r) => r.kind === 'taskRuns')!;
  assert.deepEqual([result.created, result.skipped, result.statusRestored], [SUCCEEDED, 1, SUCCEEDED - 1]);
  const after = await taskRuns(target2);
  for (const [name, original] of before_) {
    const restored = after.get(name)!;
    assert.equal(restored.metadata.annotations?.[RESTORE_PENDING_ANNOTATION], undefined, name);
    const from = restored.metadata.annotations?.[RESTORED_FROM_ANNOTATION];
    if (name === 'done-1') assert.deepEqual(restored.status, { phase: 'Failed', message: 'its own' });
    else if (name !== 'not-started') assert.deepEqual(restored.status, original.status, name);
    // A TaskRun the restore wrote a phase for names the backup; one without a phase is a new TaskRun.
    assert.equal(from, name === 'done-1' || name === 'not-started' ? undefined : backup.backupId, name);
  }
  // Only the TaskRun that had never started is a new task for the controller (once its restore finished).
  assert.deepEqual([...controller.started], ['not-started']);
});

test("existing: update never downgrades the CRD: a backup's CRD that would stop serving a version is skipped, with the reason", async () => {
  const crdBackup = (await temporal.client.workflow.execute('backupPlatform', {
    taskQueue,
    workflowId: uniqueTaskQueue('backupPlatform'),
    args: [
      {
        namespace: source,
        include: { crds: true, secrets: false, helmReleases: false, configMaps: false, taskRuns: false },
      },
    ],
  })) as BackupReport;
  // A newer chart's CRD, applied as deployPlatform applies it (same field manager): it also serves v2.
  const newer = parseYaml(readFileSync(CRD, 'utf8')) as { spec: { versions: Record<string, unknown>[] } };
  newer.spec.versions.push({ ...newer.spec.versions[0]!, name: 'v2', storage: false });
  await cluster.kubectl(
    ['apply', '--server-side', '--force-conflicts', '--field-manager=platform-runbooks', '-f', '-'],
    JSON.stringify(newer),
  );
  cluster.defer(() =>
    cluster.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=platform-runbooks', '-f', CRD]),
  );
  const served = async () =>
    (
      await getJson<{ spec: { versions: { name: string; served: boolean }[] } }>([
        'get',
        'crd',
        'taskruns.orchestrator.io',
      ])
    ).spec.versions
      .filter((v) => v.served)
      .map((v) => v.name);
  assert.deepEqual(await served(), ['v1', 'v2']);
  const report = (await temporal.client.workflow.execute('restorePlatform', {
    taskQueue,
    workflowId: uniqueTaskQueue('restorePlatform'),
    args: [
      {
        backupId: crdBackup.backupId,
        targetNamespace: target,
        existing: 'update',
        include: { crds: true, secrets: false, helmReleases: false, configMaps: false, taskRuns: false },
      },
    ],
  })) as RestoreReport;
  assert.deepEqual(report.restored, [
    {
      kind: 'crds',
      created: 0,
      updated: 0,
      skipped: 1,
      notUpdated: [{ name: 'taskruns.orchestrator.io', reason: "the backup's CRD would stop serving v2" }],
    },
  ]);
  assert.deepEqual(await served(), ['v1', 'v2']);
});
