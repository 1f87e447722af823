// test-isolation: exclusive (a burst of 3,000 TaskRuns and ~9,000 writes: files beside it would time out)
// The TaskRun controller at scale on the local cluster (issue 16): 3,000 TaskRuns created at once
// while maxConcurrentTasks is 5, so nearly all wait as Pending in the worker's view; the controller
// continues as new (maxRounds) while they are unfinished. Then the cap is raised to 3,000: every
// TaskRun gets its Job while the controller keeps continuing as new (the TaskRuns with a Job are far
// more than the carried state holds, so the new runs re-derive them from the view). Checked against
// the cluster: exactly one Job per TaskRun, its status naming it, and no history payload over 512 KB.
// The Jobs' pods need not finish: the guarantee checked is the Job, not the agent's outcome, so once
// the cap is raised a ResourceQuota lets no more pods start.
import assert from 'node:assert/strict';
import { loadavg } from 'node:os';
import { before, test } from 'node:test';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { createActivities } from '../../activities/index.ts';
import { forEachConcurrently } from '../../activities/concurrency.ts';
import { AGENT_SELECTOR } from '../../activities/kube/jobs.ts';
import { listTaskRuns } from '../../activities/kube/taskruns.ts';
import { taskRunControllerQuery } from '../../contract/messages.ts';
import { controllerWorkflowId, TERMINAL_PHASES, type TaskRunPhase } from '../../contract/types/taskrun.ts';
import { jobNameFor } from '../../workflows/taskrun-controller/reconcile.ts';
import { testActivityDeps, uniqueNamespace, useTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { runTestWorker, useTestTemporal } from '../helpers/temporal.ts';
import { installTaskRunCrd, testControllerConfigYaml } from '../helpers/taskrun.ts';
import { createTaskRun, taskSpec } from '../helpers/taskrun-objects.ts';
import { applyObjects } from '../helpers/apply-objects.ts';
import { eventually } from '../helpers/eventually.ts';
import { workflowRunStats } from '../helpers/history-payloads.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const namespace = uniqueNamespace('trscale');
const N = 3000;
const LOW_CAP = 5;
/** Small, so that continue-as-new comes every few seconds (the default 500 would take minutes here). */
const MAX_ROUNDS = 20;
/** The project's target for one payload (Temporal's limit is 2 MB). */
const PAYLOAD_LIMIT = 512 * 1024;
const names = Array.from({ length: N }, (_, i) => `scale-${String(i).padStart(4, '0')}`);
let controller: WorkflowHandleWithFirstExecutionRunId;

const t0 = performance.now();
const log = (what: string) =>
  console.log(
    `taskrun-scale: ${((performance.now() - t0) / 1000).toFixed(1)} s: ${what} (load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})`,
  );

const controllerConfigMap = (maxConcurrentTasks: number) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'taskrun-controller-config', namespace },
  data: { 'config.yaml': testControllerConfigYaml(maxConcurrentTasks) },
});

const noMorePods = {
  apiVersion: 'v1',
  kind: 'ResourceQuota',
  metadata: { name: 'no-more-pods', namespace },
  spec: { hard: { pods: '0' } },
};

before(async () => {
  const cluster = await testCluster();
  const temporal = await testTemporal();
  await installTaskRunCrd(cluster);
  await cluster.kubectl(['create', 'namespace', namespace]);
  // Waited for: the files after this exclusive one should not share the cluster with its deletion
  // (minutes of garbage collection); unless npm test deletes the cluster after this file.
  cluster.defer(async () => {
    if (process.env.TEST_CLUSTER_DISPOSABLE === '1') return;
    const start = performance.now();
    await cluster
      .kubectl(['delete', 'namespace', namespace, '--wait=true', '--timeout=180s'])
      .catch((e) => console.log(String(e)));
    log(`namespace deleted in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  });
  await applyObjects(cluster, controllerConfigMap(LOW_CAP));
  const taskQueue = await runTestWorker(temporal, createActivities(testActivityDeps(cluster)), 'taskrun-scale');
  controller = await temporal.client.workflow.start('taskRunController', {
    taskQueue,
    workflowId: controllerWorkflowId(namespace),
    args: [{ namespace, resyncSeconds: 30, maxRounds: MAX_ROUNDS }],
  });
  temporal.defer(() => controller.terminate('test finished').catch(() => undefined));
  log('controller started');
});

const summary = () => controller.query(taskRunControllerQuery);

interface ListedTaskRun {
  metadata: { name: string; uid: string };
  status?: { phase?: TaskRunPhase; jobName?: string };
}
const listed = async (cluster: TestCluster) => (await listTaskRuns<ListedTaskRun>(cluster.kube, namespace)).items;
const unfinished = (t: ListedTaskRun) => !t.status?.phase || !TERMINAL_PHASES.includes(t.status.phase);

/**
 * The namespace's agent Jobs by the uid of the TaskRun that owns them (names). Read by kubectl: 3,000
 * Jobs decoded in this process, which runs the worker too, would hold up its heartbeats.
 */
async function jobsByOwner(cluster: TestCluster): Promise<Map<string, string[]>> {
  const lines = await cluster.kubectl([
    'get',
    'jobs',
    '-n',
    namespace,
    '-l',
    AGENT_SELECTOR,
    '-o',
    'jsonpath={range .items[*]}{.metadata.name} {.metadata.ownerReferences[?(@.kind=="TaskRun")].uid}{"\\n"}{end}',
  ]);
  const byOwner = new Map<string, string[]>();
  for (const line of lines.split('\n').filter(Boolean)) {
    const [name, owner = '(no TaskRun owner)'] = line.trim().split(' ');
    byOwner.set(owner, [...(byOwner.get(owner) ?? []), name!]);
  }
  return byOwner;
}

/** Every TaskRun has exactly one Job, the one named after it, and no Job belongs to anything else. */
function assertOneJobEach(taskRuns: ListedTaskRun[], byOwner: Map<string, string[]>): void {
  assert.equal(taskRuns.length, N);
  const uids = new Set(taskRuns.map((t) => t.metadata.uid));
  const strays = [...byOwner.keys()].filter((uid) => !uids.has(uid));
  assert.deepEqual(strays, [], 'Jobs owned by no TaskRun of the test');
  const twice = [...byOwner].filter(([, jobs]) => jobs.length > 1);
  assert.deepEqual(twice, [], 'TaskRuns with more than one Job');
  const without = taskRuns.filter((t) => !byOwner.has(t.metadata.uid)).map((t) => t.metadata.name);
  assert.deepEqual(without, [], 'TaskRuns without a Job');
  for (const t of taskRuns)
    assert.deepEqual(byOwner.get(t.metadata.uid), [jobNameFor(t.metadata.name, t.metadata.uid)], t.metadata.name);
}

test(`${N} TaskRuns at maxConcurrentTasks ${LOW_CAP}: carried unfinished through continue-as-new; with the cap raised, exactly one Job each; no payload over 512 KB`, async () => {
  const cluster = await testCluster();
  const temporal = await testTemporal();

  await forEachConcurrently(names, 50, (name) => createTaskRun(cluster, namespace, { name }, taskSpec(name)));
  log(`${N} TaskRuns created`);

  // A continue-as-new after all of them exist: the TaskRuns still unfinished now were unfinished then.
  const runsCreated = (await summary()).runs;
  await eventually('a continue-as-new after the TaskRuns were created', async () =>
    (await summary()).runs > runsCreated ? true : undefined,
  );
  // Jobs listed first: a TaskRun unfinished now whose Job was there then held a slot all along.
  const jobsThen = await jobsByOwner(cluster);
  const left = (await listed(cluster)).filter(unfinished);
  const holdingSlots = left.filter((t) => jobsThen.has(t.metadata.uid)).length;
  log(`continued as new with ${left.length} or more unfinished TaskRuns, ${holdingSlots} with a Job`);
  assert.ok(left.length >= N - 150, `only ${left.length} unfinished TaskRuns at the continue-as-new`);
  assert.ok(holdingSlots <= LOW_CAP, `${holdingSlots} unfinished TaskRuns with a Job, over maxConcurrentTasks`);

  // Room for all: the queued TaskRuns get their Jobs while the controller keeps continuing as new.
  // No more pods from now on: the Job is what is checked, and 3,000 agent pods would keep the
  // cluster's controllers (20 requests/s each) busy for minutes after the test.
  await applyObjects(cluster, noMorePods);
  const runsRaised = (await summary()).runs;
  await applyObjects(cluster, controllerConfigMap(N));
  await eventually(
    `the controller to report a Job for each of the ${N} TaskRuns`,
    async () => {
      const s = await summary();
      return s.active + s.finished.Succeeded + s.finished.Failed >= N ? true : undefined;
    },
    240_000,
    1000,
  );
  log('the controller reports a Job for every TaskRun');
  const taskRuns = await eventually(
    "every TaskRun's status to name its Job",
    async () => {
      const items = await listed(cluster);
      return items.every((t) => t.status?.jobName) ? items : undefined;
    },
    120_000,
    2000,
  );
  assertOneJobEach(taskRuns, await jobsByOwner(cluster));
  for (const t of taskRuns) assert.equal(t.status?.jobName, jobNameFor(t.metadata.name, t.metadata.uid));
  const runsDone = (await summary()).runs;
  assert.ok(runsDone > runsRaised, `continued as new while the Jobs were created (runs ${runsRaised} -> ${runsDone})`);
  log(`every TaskRun has its Job (runs ${runsRaised} -> ${runsDone})`);

  // Once more after every TaskRun has a Job: the new run re-derives them all and creates no second one.
  await eventually('another continue-as-new', async () => ((await summary()).runs > runsDone ? true : undefined));
  await eventually('the new run to follow every unfinished TaskRun again', async () => {
    const s = await summary();
    return s.active + s.finished.Succeeded + s.finished.Failed >= N ? true : undefined;
  });
  assertOneJobEach(await listed(cluster), await jobsByOwner(cluster));

  const stats = await workflowRunStats(
    { address: temporal.address, namespace: temporal.namespace },
    controller.workflowId,
    controller.firstExecutionRunId,
  );
  log(
    `${stats.runs} runs, largest payload ${stats.maxPayloadBytes} B, events per run ${stats.historyLengths.join(' ')}`,
  );
  assert.ok(stats.runs >= 3, `${stats.runs} runs in the history chain`);
  assert.ok(stats.maxPayloadBytes <= PAYLOAD_LIMIT, `a payload of ${stats.maxPayloadBytes} bytes`);
});
