// The TaskRun controller survives its worker being SIGKILLed during a burst of 100 TaskRuns: a new
// worker resumes the reconciler, and every TaskRun ends Succeeded with exactly one Job
// (deterministic Job names + create-or-get make a retried creation harmless).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useTestCluster, uniqueNamespace } from '../helpers/cluster.ts';
import { installTaskRunCrd, startControllerWorkflow } from '../helpers/taskrun.ts';
import { eventually } from '../helpers/eventually.ts';
import { uniqueTaskQueue, useTestTemporal } from '../helpers/temporal.ts';
import { applyObjects } from '../helpers/apply-objects.ts';
import { crashWorkers } from '../helpers/crash-workers.ts';
import { failDeadWorkersActivities } from '../helpers/dead-worker.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const COUNT = 100;

test('SIGKILL during a burst of 100 TaskRuns: a new worker finishes them, each with exactly one Job', async (t) => {
  const temporal = await testTemporal();
  const cluster = await testCluster();
  const namespace = uniqueNamespace('tr-crash');
  const taskQueue = uniqueTaskQueue('tr-crash');
  const workers = crashWorkers(temporal, cluster, taskQueue);
  await installTaskRunCrd(cluster);
  await cluster.kubectl(['create', 'namespace', namespace]);
  const handle = await startControllerWorkflow(temporal, taskQueue, { namespace, chunkSize: 10 });
  cluster.defer(async () => {
    await handle.terminate('test finished').catch(() => undefined);
    await workers.stopAll();
    await cluster.kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });
  await applyObjects(cluster, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'taskrun-controller-config', namespace },
    data: {
      'config.yaml': 'agent:\n  image: example/claude-agent:1.0.0\njob:\n  backoffLimit: 0\nmaxConcurrentTasks: 1000\n',
    },
  });
  const first = await workers.start();

  const items = Array.from({ length: COUNT }, (_, i) => ({
    apiVersion: 'orchestrator.io/v1',
    kind: 'TaskRun',
    metadata: { name: `burst-${i}`, namespace },
    spec: { service: 'auth-service', taskId: `burst-${i}`, prompt: `task ${i}` },
  }));
  await cluster.kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  // Kill the worker while the burst is being turned into Jobs.
  // Through the API, not kubectl: a kubectl process takes longer to start than the burst takes on a busy machine.
  const countJobs = async () =>
    (await cluster.kube.batch.listNamespacedJob({ namespace, labelSelector: 'app=claude-agent' })).items.length;
  const atKill = await eventually(
    'the first Jobs',
    async () => {
      const n = await countJobs();
      return n > 0 ? n : undefined;
    },
    120_000,
    20,
  );
  await first.kill('SIGKILL');
  await failDeadWorkersActivities(handle);
  t.diagnostic(`SIGKILL with ${atKill} of ${COUNT} Jobs created`);
  assert.ok(atKill < COUNT, `all ${atKill} Jobs existed before the kill: the crash came too late to test anything`);

  await workers.start();
  await eventually(
    `all ${COUNT} TaskRuns Succeeded`,
    async () => {
      const phases = (
        await cluster.kubectl(['get', 'taskruns', '-n', namespace, '-o', 'jsonpath={.items[*].status.phase}'])
      )
        .trim()
        .split(/\s+/);
      return phases.length === COUNT && phases.every((p) => p === 'Succeeded') ? true : undefined;
    },
    240_000,
    500,
  );

  const jobs = JSON.parse(
    await cluster.kubectl(['get', 'jobs', '-n', namespace, '-l', 'app=claude-agent', '-o', 'json']),
  ) as { items: { metadata: { name: string; labels: Record<string, string> } }[] };
  const perTask = new Map<string, number>();
  for (const j of jobs.items)
    perTask.set(j.metadata.labels['task-id']!, (perTask.get(j.metadata.labels['task-id']!) ?? 0) + 1);
  assert.equal(jobs.items.length, COUNT);
  assert.equal(perTask.size, COUNT);
  assert.ok([...perTask.values()].every((n) => n === 1));
  const runs = JSON.parse(await cluster.kubectl(['get', 'taskruns', '-n', namespace, '-o', 'json'])) as {
    items: { status: { jobName: string } }[];
  };
  const names = new Set(jobs.items.map((j) => j.metadata.name));
  assert.ok(
    runs.items.every((r) => names.has(r.status.jobName)),
    'every status.jobName names an existing Job',
  );
});
