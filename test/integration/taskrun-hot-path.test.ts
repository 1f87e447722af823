// The watch's hot path on the local cluster: a new TaskRun's Job is created by the watch activity
// itself (no workflow task and apply activity in between); the workflow hears of it with its Job,
// counts it and writes its status.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { useTestCluster, uniqueNamespace } from '../helpers/cluster.ts';
import { useTestTemporal } from '../helpers/temporal.ts';
import { startTaskRunController } from '../helpers/taskrun.ts';
import { eventually } from '../helpers/eventually.ts';
import { applyObjects } from '../helpers/apply-objects.ts';
import { taskRunControllerQuery, taskRunQuery } from '../../contract/messages.ts';
import type { TaskRunAction, WatchResult } from '../../contract/types/taskrun.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const namespace = uniqueNamespace('trhot');
let controller: WorkflowHandle;

const taskRun = (name: string) => ({
  apiVersion: 'orchestrator.io/v1',
  kind: 'TaskRun',
  metadata: { name, namespace },
  spec: { service: 'auth-service', taskId: `task-${name}`, prompt: `do ${name}` },
});

/** The decoded inputs of the run's activities of one type, and the results of its watches. */
async function history(activityType: string) {
  const events = (await controller.fetchHistory()).events ?? [];
  const decode = (p: { data?: Uint8Array | null } | undefined) => JSON.parse(Buffer.from(p!.data!).toString('utf8'));
  const inputs: unknown[] = [];
  const watchTypes = new Map<string, string>();
  const watchResults: WatchResult[] = [];
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) {
      watchTypes.set(String(e.eventId), scheduled.activityType!.name!);
      if (scheduled.activityType?.name === activityType) inputs.push(decode(scheduled.input?.payloads?.[0]));
    }
    const completed = e.activityTaskCompletedEventAttributes;
    if (completed && watchTypes.get(String(completed.scheduledEventId)) === 'watchTaskRunChanges')
      watchResults.push(decode(completed.result?.payloads?.[0]) as WatchResult);
  }
  return { inputs, watchResults };
}

before(async () => {
  // No resync during the test: a relist's snapshot goes to the workflow, which would then create the Job itself.
  controller = await startTaskRunController(await testCluster(), await testTemporal(), {
    namespace,
    prefix: 'trhot',
    maxConcurrentTasks: 5,
    resyncSeconds: 3600,
  });
  await eventually(
    'the controller has its config',
    async () => (await controller.query(taskRunControllerQuery)).config,
  );
});

test('a new TaskRun gets its Job from the watch itself; the workflow counts it and writes its status, and creates no Job for it', async () => {
  const cluster = await testCluster();
  await applyObjects(cluster, taskRun('hot-1'));
  const tracked = await eventually('hot-1 Succeeded', async () => {
    const t = await controller.query(taskRunQuery, 'hot-1');
    return t?.phase === 'Succeeded' ? t : undefined;
  });
  assert.deepEqual(
    tracked.transitions.map((t) => t.phase),
    ['Pending', 'Running', 'Succeeded'],
  );
  const jobs = JSON.parse(
    await cluster.kubectl(['get', 'jobs', '-n', namespace, '-l', 'task-id=task-hot-1', '-o', 'json']),
  ) as { items: { metadata: { name: string } }[] };
  assert.deepEqual(
    jobs.items.map((j) => j.metadata.name),
    [tracked.jobName],
    'one Job',
  );

  const { inputs, watchResults } = await history('applyTaskRunActions');
  const actions = inputs.flatMap((i) => (i as { actions: TaskRunAction[] }).actions).filter((a) => a.name === 'hot-1');
  assert.ok(actions.length >= 2, 'the workflow wrote its statuses');
  assert.equal(actions[0]!.status?.jobName, tracked.jobName, 'its first status names the Job');
  const mentions = (r: WatchResult) =>
    Boolean(r.snapshot?.taskRuns.some((t) => t.name === 'hot-1')) ||
    r.changes.some((c) => c.kind === 'taskRun' && c.type === 'upsert' && c.taskRun.name === 'hot-1');
  const first = watchResults.find(mentions);
  assert.ok(first, 'a watch result told the workflow of hot-1');
  if (first.snapshot) {
    // A watch that failed (a 429 from a loaded API server, seen in a rehearsal) relists: a snapshot gets
    // no hot path by design, and the workflow creates the Job, once.
    assert.equal(actions.filter((a) => a.create).length, 1, 'after a relist the workflow created its Job once');
    return;
  }
  assert.deepEqual(
    actions.filter((a) => a.create),
    [],
    'no apply activity created its Job',
  );
  // The watch result that first told the workflow of hot-1 carried its Job with it.
  assert.ok(
    first.changes.some((c) => c.kind === 'job' && c.type === 'upsert' && c.job.ownerName === 'hot-1'),
    'told with its Job',
  );
});

test('maxConcurrentTasks holds with the hot path: 12 TaskRuns at once, cap 5, never more than 5 Jobs unfinished, one Job each', async () => {
  const cluster = await testCluster();
  const names = Array.from({ length: 12 }, (_, i) => `cap-${i}`);
  await Promise.all(names.map((n) => applyObjects(cluster, taskRun(n))));
  let peak = 0;
  await eventually(
    'all 12 Succeeded',
    async () => {
      const jobs = JSON.parse(
        await cluster.kubectl(['get', 'jobs', '-n', namespace, '-l', 'app=claude-agent', '-o', 'json']),
      ) as {
        items: { metadata: { labels: Record<string, string> }; status?: { succeeded?: number; failed?: number } }[];
      };
      const mine = jobs.items.filter((j) => j.metadata.labels['task-id']?.startsWith('task-cap-'));
      peak = Math.max(peak, mine.filter((j) => !j.status?.succeeded && !j.status?.failed).length);
      const done = await Promise.all(names.map((n) => controller.query(taskRunQuery, n)));
      return done.every((t) => t?.phase === 'Succeeded') && mine.length === 12 ? true : undefined;
    },
    120_000,
    200,
  );
  assert.ok(peak >= 1 && peak <= 5, `${peak} Jobs unfinished at once`);
});
