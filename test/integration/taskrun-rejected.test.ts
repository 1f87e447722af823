// The TaskRun controller on the local cluster with maxConcurrentTasks 1: TaskRuns whose Job the API
// server rejects for good (negative cpu, limits below requests) fail with the server's reason, and
// do not block the TaskRuns created after them.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { useTestCluster, uniqueNamespace, type TestCluster } from '../helpers/cluster.ts';
import { useTestTemporal } from '../helpers/temporal.ts';
import { startTaskRunController } from '../helpers/taskrun.ts';
import { eventually } from '../helpers/eventually.ts';
import { applyObjects } from '../helpers/apply-objects.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const namespace = uniqueNamespace('trreject');

interface TaskRunJson {
  status?: {
    phase?: string;
    jobName?: string;
    message?: string;
    completionTime?: string;
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

const taskRun = (name: string, resources?: Record<string, unknown>) => ({
  apiVersion: 'orchestrator.io/v1',
  kind: 'TaskRun',
  metadata: { name, namespace },
  spec: { service: 'auth-service', taskId: `task-${name}`, prompt: `do ${name}`, ...(resources ? { resources } : {}) },
});

const get = async (cluster: TestCluster, name: string) =>
  JSON.parse(await cluster.kubectl(['get', 'taskrun', name, '-n', namespace, '-o', 'json'])) as TaskRunJson;

before(async () => {
  await startTaskRunController(await testCluster(), await testTemporal(), {
    namespace,
    prefix: 'trreject',
    maxConcurrentTasks: 1,
    resyncSeconds: 30,
  });
});

test('maxConcurrentTasks 1: Jobs rejected for good fail their TaskRuns with the reason; a good TaskRun created after them gets its Job', async () => {
  const cluster = await testCluster();
  await applyObjects(cluster, taskRun('negative-cpu', { requests: { cpu: '-1' } }));
  await applyObjects(
    cluster,
    taskRun('limits-below-requests', { requests: { cpu: '2', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } }),
  );
  for (const [name, reason] of [
    ['negative-cpu', /must be greater than or equal to 0/],
    ['limits-below-requests', /must be less than or equal to cpu limit/],
  ] as const) {
    const failed = await eventually(`${name} Failed`, async () => {
      const tr = await get(cluster, name);
      return tr.status?.phase === 'Failed' ? tr : undefined;
    });
    assert.match(failed.status!.message!, /HTTP 422/, name);
    assert.match(failed.status!.message!, reason, name);
    assert.equal(failed.status!.jobName, '');
    assert.ok(failed.status!.completionTime);
    const complete = failed.status!.conditions!.find((c) => c.type === 'Complete')!;
    assert.deepEqual([complete.status, complete.reason], ['False', 'JobRejected']);
    assert.equal(failed.status!.conditions!.find((c) => c.type === 'JobCreated')?.reason, 'Rejected');
  }
  await applyObjects(cluster, taskRun('good'));
  const jobName = await eventually(
    "the good TaskRun's Job",
    async () => {
      const jobs = JSON.parse(
        await cluster.kubectl(['get', 'jobs', '-n', namespace, '-l', 'task-id=task-good', '-o', 'json']),
      ) as { items: { metadata: { name: string } }[] };
      return jobs.items[0]?.metadata.name;
    },
    30_000,
  );
  assert.equal(
    (
      await eventually('good Succeeded', async () => {
        const tr = await get(cluster, 'good');
        return tr.status?.phase === 'Succeeded' ? tr : undefined;
      })
    ).status?.jobName,
    jobName,
  );
  const jobs = JSON.parse(await cluster.kubectl(['get', 'jobs', '-n', namespace, '-o', 'json'])) as {
    items: unknown[];
  };
  assert.equal(jobs.items.length, 1, 'no Job for the rejected ones');
});
