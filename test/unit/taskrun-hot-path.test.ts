// The watch's hot path (activities/taskrun/hot-path.ts) as pure functions: which TaskRuns the watch
// creates Jobs for (jobsToCreateAhead), within the budget the workflow gives it (hotPathBudget), and a
// simulated stream of TaskRuns through view, hot path and reconciler together: maxConcurrentTasks is
// never passed, every TaskRun gets exactly one Job, all succeed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  diffView,
  emptyView,
  foldRaw,
  handOver,
  jobsToCreateAhead,
  recordCreatedJob,
  RESULT_BUDGET_BYTES,
} from '../../activities/taskrun/view.ts';
import {
  activeCount,
  applyResults,
  applyWatchResult,
  carryState,
  hotPathBudget,
  jobNameFor,
  planRound,
  restoreState,
} from '../../workflows/taskrun-controller/reconcile.ts';
import { watchRequest, type ControllerRun } from '../../workflows/taskrun-controller/pipeline.ts';
import { DEFAULT_CONTROLLER_CONFIG } from '../../activities/taskrun/config.ts';
import type {
  ActionResult,
  ControllerCarried,
  ObservedJob,
  ObservedTaskRun,
  TaskRunAction,
  WatchChange,
} from '../../contract/types/taskrun.ts';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const taskRun = (i: number, extra: Partial<ObservedTaskRun> = {}): ObservedTaskRun => ({
  name: `tr-${String(i).padStart(4, '0')}`,
  uid: `${String(i).padStart(8, '0')}-aaaa-bbbb-cccc-dddddddddddd`,
  generation: 1,
  creationTimestamp: at(i),
  spec: { service: 'checkout', taskId: `task-${i}`, prompt: `task ${i}` },
  ...extra,
});
const jobOf = (t: ObservedTaskRun): ObservedJob => ({
  name: jobNameFor(t.name, t.uid),
  ownerName: t.name,
  ownerUid: t.uid,
  active: 1,
});

test('jobsToCreateAhead: the oldest jobless pending TaskRuns not sent yet, within the budget less the unsent ones with a Job', () => {
  const view = emptyView();
  const sentWaiting = taskRun(0);
  const unsentWithJob = taskRun(1);
  const finished = taskRun(2, { status: { phase: 'Succeeded' } });
  const restoring = taskRun(3, { restorePending: true });
  const handedOver = taskRun(4);
  const newer = [taskRun(9), taskRun(7), taskRun(8), taskRun(6)];
  foldRaw(view, {
    snapshot: { taskRuns: [sentWaiting, unsentWithJob, finished, restoring, handedOver, ...newer], jobs: [] },
    changes: [],
  });
  view.sent.set(sentWaiting.name, { uid: sentWaiting.uid, fp: JSON.stringify(sentWaiting), ref: sentWaiting });
  recordCreatedJob(view, unsentWithJob, jobNameFor(unsentWithJob.name, unsentWithJob.uid));
  handOver(view, handedOver);

  const names = (budget: number, max = 100) => jobsToCreateAhead(view, budget, max).map((t) => t.name);
  assert.deepEqual(names(3), ['tr-0006', 'tr-0007'], 'budget 3 less the one unsent TaskRun with a Job, oldest first');
  assert.deepEqual(names(10), ['tr-0006', 'tr-0007', 'tr-0008', 'tr-0009']);
  assert.deepEqual(names(10, 1), ['tr-0006'], 'at most max per call');
  assert.deepEqual(names(1), [], 'the unsent TaskRun with a Job takes the only slot');
  assert.deepEqual(names(0), []);
  // A recreated TaskRun (new uid) under a handed-over name is the hot path's again.
  foldRaw(view, { changes: [{ kind: 'taskRun', type: 'upsert', taskRun: taskRun(4, { uid: 'ffffffff-new' }) }] });
  assert.deepEqual(names(3), ['tr-0004', 'tr-0006']);
});

test('hotPathBudget: free slots less every TaskRun the workflow will create a Job for; none while suspended', () => {
  const state = restoreState(undefined, 10);
  applyWatchResult(
    state,
    {
      snapshot: { taskRuns: [0, 1, 2, 3, 4].map((i) => taskRun(i)), jobs: [jobOf(taskRun(0)), jobOf(taskRun(1))] },
      changes: [],
      cursor: { taskRuns: '1', jobs: '1', config: '1' },
      config: DEFAULT_CONTROLLER_CONFIG,
    },
    at(10),
  );
  assert.equal(hotPathBudget(state.tracked, { maxConcurrentTasks: 10 }), 10 - 2 - 3);
  assert.equal(hotPathBudget(state.tracked, { maxConcurrentTasks: 4 }), 0, 'never negative');
  // A Job that finished frees its slot at once, before the TaskRun's final status is written (as an informer's would).
  applyWatchResult(
    state,
    {
      changes: [{ kind: 'job', type: 'upsert', job: { ...jobOf(taskRun(0)), active: 0, outcome: 'Succeeded' } }],
      cursor: { taskRuns: '2', jobs: '2', config: '1' },
      config: DEFAULT_CONTROLLER_CONFIG,
    },
    at(11),
  );
  assert.equal(activeCount(state.tracked), 1);
  assert.equal(hotPathBudget(state.tracked, { maxConcurrentTasks: 10 }), 10 - 1 - 3);
  assert.equal(
    planRound(state.tracked, { maxConcurrentTasks: 4 }, at(11)).filter((a) => a.create).length,
    3,
    'the three jobless ones get the three free slots',
  );

  const run: ControllerRun = {
    opts: { namespace: 'ns', configMapName: 'cfg', resyncSeconds: 300 } as ControllerRun['opts'],
    state,
    cursor: { taskRuns: '1', jobs: '1', config: '1' },
    config: { ...DEFAULT_CONTROLLER_CONFIG, maxConcurrentTasks: 10 },
    rounds: 0,
    runs: 1,
    lastSnapshot: Date.now(),
  };
  assert.equal(watchRequest(run).createBudget, 6);
  run.suspended = { by: 'incident', reason: 'test', since: at(0) };
  assert.equal(watchRequest(run).createBudget, undefined, 'suspended: the watch creates no Job');
});

test('a stream of TaskRuns through the hot path and the reconciler: never more than maxConcurrentTasks Jobs running, one Job each, all succeed', () => {
  const config = { ...DEFAULT_CONTROLLER_CONFIG, maxConcurrentTasks: 40 };
  const cursor = { taskRuns: '1', jobs: '1', config: '1' };
  const cluster = { taskRuns: new Map<string, ObservedTaskRun>(), jobs: new Map<string, ObservedJob>() };
  const created = new Map<string, number>();
  const changes: WatchChange[] = [];
  const createJob = (t: ObservedTaskRun) => {
    if (cluster.jobs.has(t.name)) return 'existing' as const;
    created.set(t.name, (created.get(t.name) ?? 0) + 1);
    cluster.jobs.set(t.name, jobOf(t));
    changes.push({ kind: 'job', type: 'upsert', job: jobOf(t) });
    return 'created' as const;
  };
  const running = () => [...cluster.jobs.values()].filter((j) => !j.outcome).length;
  const view = emptyView();
  let state = restoreState(undefined, 50);
  let reset = true;
  let runs = 1;
  let byHotPath = 0;
  let peak = 0;
  // Apply calls answer after the next watch (writes run alongside it): their TaskRuns are busy meanwhile.
  let inFlight: { actions: TaskRunAction[]; results: ActionResult[] } | undefined;
  const N = 1000;
  let next = 0;
  let round = 0;
  for (; round < 2000; round++) {
    const now = at(1000 + round);
    for (let k = 0; k < (round % 20 < 10 ? 40 : 5) && next < N; k++, next++) {
      const t = taskRun(next);
      cluster.taskRuns.set(t.name, t);
      changes.push({ kind: 'taskRun', type: 'upsert', taskRun: t });
    }
    // The watch: the workflow's request (its budget), then new changes, then the hot path.
    const budget = hotPathBudget(state.tracked, config);
    foldRaw(view, { changes: changes.splice(0) });
    if (!reset)
      for (const t of jobsToCreateAhead(view, budget, 100)) {
        if (createJob(t) === 'created') byHotPath++;
        recordCreatedJob(view, t, jobNameFor(t.name, t.uid));
      }
    peak = Math.max(peak, running());
    assert.ok(running() <= config.maxConcurrentTasks, `round ${round}: ${running()} Jobs running after the hot path`);
    const diff = diffView(view, { window: 30, budgetBytes: RESULT_BUDGET_BYTES, reset });
    reset = false;
    applyWatchResult(
      state,
      { ...(diff.snapshot ? { snapshot: diff.snapshot } : {}), changes: diff.changes, cursor, config },
      now,
    );
    if (inFlight) applyResults(state, inFlight.actions, inFlight.results, now);
    // The workflow's own creations and status writes.
    const actions = planRound(state.tracked, config, now);
    const results = actions.map((a): ActionResult => {
      const t = cluster.taskRuns.get(a.name)!;
      const r: ActionResult = { name: a.name };
      if (a.create) r.job = createJob(t);
      if (a.status) {
        const { conditions: _c, ...status } = a.status;
        const written = { ...t, status };
        cluster.taskRuns.set(a.name, written);
        changes.push({ kind: 'taskRun', type: 'upsert', taskRun: written });
        r.status = 'written';
      }
      return r;
    });
    inFlight = { actions, results };
    peak = Math.max(peak, running());
    assert.ok(running() <= config.maxConcurrentTasks, `round ${round}: ${running()} Jobs running after planRound`);
    // Jobs that ran a round (one in three runs a round longer) complete.
    for (const [name, job] of cluster.jobs)
      if (!job.outcome && (round + name.length) % 3 !== 0) {
        const done = { ...job, active: 0, outcome: 'Succeeded' as const, completionTime: now, finishedAt: now };
        cluster.jobs.set(name, done);
        changes.push({ kind: 'job', type: 'upsert', job: done });
      }
    if (round % 10 === 9) {
      const carried = JSON.parse(JSON.stringify(carryState(state, cursor, runs++))) as ControllerCarried;
      state = restoreState(carried, 50);
      reset = true;
      if (inFlight) applyResults(state, inFlight.actions, inFlight.results, now);
      inFlight = undefined;
    }
    const done = next === N && [...cluster.taskRuns.values()].every((t) => t.status?.phase === 'Succeeded');
    if (done && state.tracked.size === 0) break;
  }
  assert.ok(round < 2000, 'drained');
  assert.equal(created.size, N, 'every TaskRun got a Job');
  assert.ok(
    [...created.values()].every((n) => n === 1),
    'never two Jobs for one TaskRun',
  );
  assert.ok(byHotPath >= N / 10, `Jobs by the hot path while slots were free (${byHotPath} of ${N})`);
  assert.ok(byHotPath < N, `some by the workflow, when the slots ran out (${N - byHotPath})`);
  assert.equal(peak, config.maxConcurrentTasks, 'the cap was reached');
  console.log(`hot-path simulation: ${round} rounds, ${runs} runs, ${byHotPath} of ${N} Jobs by the hot path`);
});
