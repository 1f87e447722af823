// In npm run reliability (about 3.5 min: too slow for npm test).
// An idle TaskRun controller on the local cluster does not spin: after TaskRuns have run and
// finished (each adds a task ConfigMap) and unrelated ConfigMaps churned the namespace until the
// controller ConfigMap's own resourceVersion left the watch cache, an idle window holds only a few
// watch activities (about one per resyncSeconds), each a first attempt.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type proto from '@temporalio/proto';
import { useTestCluster, uniqueNamespace } from '../helpers/cluster.ts';
import { useTestTemporal } from '../helpers/temporal.ts';
import { getControllerConfigMap, startTaskRunController } from '../helpers/taskrun.ts';
import { eventually } from '../helpers/eventually.ts';
import { applyObjects } from '../helpers/apply-objects.ts';
import { taskRunObject } from '../helpers/taskrun-objects.ts';

const untilSlow = <T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 90_000) =>
  eventually(what, check, timeoutMs, 500);

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const namespace = uniqueNamespace('tridle');
const RESYNC_SECONDS = 20;
const IDLE_SECONDS = Number(process.env.TASKRUN_IDLE_SECONDS ?? 60);
const TASKRUNS = 12;
const UNRELATED_CONFIGMAPS = 30;
let controller: WorkflowHandleWithFirstExecutionRunId;

before(async () => {
  controller = await startTaskRunController(await testCluster(), await testTemporal(), {
    namespace,
    prefix: 'tridle',
    maxConcurrentTasks: 50,
    resyncSeconds: RESYNC_SECONDS,
  });
});

/** Every event of every run of the controller so far (continue-as-new followed from the first run). */
async function allEvents(): Promise<HistoryEvent[]> {
  const { client } = await testTemporal();
  const events: HistoryEvent[] = [];
  for (let runId: string | undefined = controller.firstExecutionRunId; runId;) {
    const history = await client.workflow.getHandle(controller.workflowId, runId).fetchHistory();
    events.push(...(history.events ?? []));
    runId = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return events;
}

const eventMs = (e: HistoryEvent) =>
  Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);

test(`idle for ${IDLE_SECONDS} s after TaskRuns ran and ConfigMaps churned: about one watch activity per resyncSeconds, no failed attempts`, async () => {
  const cluster = await testCluster();
  const names = Array.from({ length: TASKRUNS }, (_, i) => `idle-${i}`);
  await applyObjects(
    cluster,
    ...names.map((name) => taskRunObject({ name, namespace }, { service: 'svc', taskId: `task-${name}`, prompt: 'p' })),
  );
  await untilSlow('every TaskRun Succeeded', async () => {
    const list = JSON.parse(await cluster.kubectl(['get', 'taskruns', '-n', namespace, '-o', 'json'])) as {
      items: { status?: { phase?: string } }[];
    };
    return list.items.length === TASKRUNS && list.items.every((t) => t.status?.phase === 'Succeeded')
      ? true
      : undefined;
  });
  // Unrelated ConfigMaps come and change until the controller ConfigMap's own resourceVersion has left
  // the API server's ConfigMap watch cache (it keeps events of at least the last 75 s, more while
  // they are few): a watch from it answers 410, as in a namespace whose ConfigMaps churn for long.
  const unrelated = (version: number) => ({
    apiVersion: 'v1',
    kind: 'List',
    items: Array.from({ length: UNRELATED_CONFIGMAPS }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `unrelated-${i}`, namespace },
      data: { version: String(version) },
    })),
  });
  const configRv = (
    await getControllerConfigMap(cluster, namespace, '-o', 'jsonpath={.metadata.resourceVersion}')
  ).trim();
  const configRvTooOld = async () => {
    const out = await cluster.kubectl([
      'get',
      '--raw',
      `/api/v1/namespaces/${namespace}/configmaps?watch=true&resourceVersion=${configRv}&fieldSelector=metadata.name%3Dtaskrun-controller-config&timeoutSeconds=1`,
    ]);
    return /"code":410/.test(out);
  };
  const churnStarted = Date.now();
  let version = 0;
  do {
    await applyObjects(cluster, unrelated(++version));
    await sleep(500);
  } while (!(await configRvTooOld()) && Date.now() - churnStarted < 240_000);
  assert.ok(
    await configRvTooOld(),
    `the controller ConfigMap's resourceVersion ${configRv} is still in the watch cache after ${version} rounds of ${UNRELATED_CONFIGMAPS} ConfigMap updates`,
  );
  console.log(
    JSON.stringify({
      churn: {
        rounds: version,
        configMapWrites: version * UNRELATED_CONFIGMAPS + TASKRUNS,
        seconds: Math.round((Date.now() - churnStarted) / 1000),
      },
    }),
  );
  await sleep(3000); // the controller's last round of status writes comes back through the watch

  const idleFrom = Date.now();
  await sleep(IDLE_SECONDS * 1000);
  const idleTo = Date.now();

  const events = await allEvents();
  const inIdle = events.filter((e) => eventMs(e) >= idleFrom && eventMs(e) < idleTo);
  const watches = inIdle.filter(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'watchTaskRunChanges',
  );
  const retried = inIdle.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
  const perMinute = (n: number) => Math.round((n * 60) / IDLE_SECONDS);
  console.log(
    JSON.stringify({
      idleSeconds: IDLE_SECONDS,
      resyncSeconds: RESYNC_SECONDS,
      watchActivities: watches.length,
      watchActivitiesPerMinute: perMinute(watches.length),
      historyEvents: inIdle.length,
      historyEventsPerMinute: perMinute(inIdle.length),
      retriedAttempts: retried.length,
    }),
  );
  assert.ok(
    watches.length <= IDLE_SECONDS / RESYNC_SECONDS + 3,
    `${watches.length} watch activities in ${IDLE_SECONDS} s idle (${inIdle.length} history events)`,
  );
  assert.deepEqual(
    retried.map((e) => e.activityTaskStartedEventAttributes?.attempt),
    [],
    'a watch that ends by a timeout is not a failed attempt',
  );
  assert.ok(watches.length >= 1, 'the controller still watches');
});
