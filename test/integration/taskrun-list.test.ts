// Listing TaskRuns on the local cluster with more TaskRuns than one page: every caller reads them
// all (listTaskRuns, the controller's snapshot, the backup's count and read, cleanup's plan).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { listTaskRuns } from '../../activities/kube/taskruns.ts';
import { watchTaskRunChanges } from '../../activities/taskrun/watch.ts';
import { countTaskRuns, readTaskRuns } from '../../activities/backup/capture.ts';
import { planTaskRunCleanup } from '../../activities/taskrun/cleanup.ts';
import { useTestCluster, uniqueNamespace } from '../helpers/cluster.ts';
import { installTaskRunCrd } from '../helpers/taskrun.ts';
import { applyObjects } from '../helpers/apply-objects.ts';
import { taskRunObject } from '../helpers/taskrun-objects.ts';

const testCluster = useTestCluster();
const namespace = uniqueNamespace('trlist');
const COUNT = 8;
const names = Array.from({ length: COUNT }, (_, i) => `tr-${i}`);

before(async () => {
  const cluster = await testCluster();
  await installTaskRunCrd(cluster);
  await cluster.kubectl(['create', 'namespace', namespace]);
  cluster.defer(() => cluster.kubectl(['delete', 'namespace', namespace, '--wait=false']));
  await applyObjects(
    cluster,
    ...names.map((name) => taskRunObject({ name, namespace }, { service: 'svc', taskId: `task-${name}`, prompt: 'p' })),
  );
});

test(`listTaskRuns with 3 a page returns all ${COUNT} TaskRuns and the list's resourceVersion`, async () => {
  const { kube } = await testCluster();
  let pages = 0;
  const list = await listTaskRuns(kube, namespace, { pageSize: 3, onPage: () => void pages++ });
  assert.deepEqual(list.items.map((t) => t.metadata.name).sort(), [...names].sort());
  assert.equal(pages, 3);
  assert.match(list.resourceVersion, /^\d+$/);
  assert.equal(list.complete, true);
});

test(`the controller's watch activity: its snapshot holds all ${COUNT} TaskRuns read 3 a page, and its cursor watches from the list`, async () => {
  const cluster = await testCluster();
  const { kube, kubectl } = cluster;
  const first = await watchTaskRunChanges(
    kube,
    { namespace, configMapName: 'taskrun-controller-config', maxWaitSeconds: 5, activeTasks: 0 },
    { pageSize: 3 },
  );
  assert.equal(first.relisted, 'initial');
  assert.deepEqual(first.snapshot?.taskRuns.map((t) => t.name).sort(), [...names].sort());
  assert.match(first.cursor.taskRuns, /^\d+$/);
  // The cursor is a list resourceVersion a watch can start from: the next TaskRun arrives as a change.
  const next = watchTaskRunChanges(
    kube,
    {
      namespace,
      configMapName: 'taskrun-controller-config',
      maxWaitSeconds: 20,
      activeTasks: 0,
      cursor: first.cursor,
      config: first.config,
    },
    { pageSize: 3 },
  );
  await applyObjects(cluster, {
    apiVersion: 'orchestrator.io/v1',
    kind: 'TaskRun',
    metadata: { name: 'tr-late', namespace },
    spec: { service: 'svc', taskId: 'task-late', prompt: 'p' },
  });
  const result = await next;
  assert.equal(result.snapshot, undefined);
  assert.deepEqual(
    result.changes.map((c) => (c.kind === 'taskRun' && c.type === 'upsert' ? c.taskRun.name : '?')),
    ['tr-late'],
  );
  await kubectl(['delete', 'taskrun', 'tr-late', '-n', namespace]);
});

test('the backup counts and reads them all; the cleanup plan scans them all', async () => {
  const { kube } = await testCluster();
  const scope = {
    namespace,
    include: { crds: false, configMaps: false, secrets: false, helmReleases: false, taskRuns: true } as never,
  };
  assert.equal(await countTaskRuns(kube, scope), COUNT);
  assert.equal((await readTaskRuns(kube, scope)).length, COUNT);
  const plan = await planTaskRunCleanup(kube, {
    namespace,
    succeededMaxAgeSeconds: 0,
    failedMaxAgeSeconds: 0,
    keepLabel: 'keep',
    asOf: new Date().toISOString(),
  });
  assert.equal(plan.scanned, COUNT);
});
