// The controller's bounded state at scale, without Temporal or a cluster: 10,000 TaskRuns created at
// once go through the worker's view (activities/taskrun/view.ts) and the reconciler's functions
// (workflows/taskrun-controller/reconcile.ts) with maxConcurrentTasks 200 and a simulated cluster,
// with continue-as-new on the way. Every watch result and every carried state stays under 512 KB,
// every TaskRun gets exactly one Job and ends Succeeded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffView, emptyView, foldRaw, RESULT_BUDGET_BYTES, viewPending } from '../../activities/taskrun/view.ts';
import {
  applyResults,
  applyWatchResult,
  carryState,
  CARRY_BUDGET_BYTES,
  jobNameFor,
  planRound,
  restoreState,
} from '../../workflows/taskrun-controller/reconcile.ts';
import { VIEW_WINDOW } from '../../workflows/taskrun-controller/pipeline.ts';
import { DEFAULT_CONTROLLER_CONFIG } from '../../activities/taskrun/config.ts';
import type {
  ActionResult,
  ControllerCarried,
  ObservedJob,
  ObservedTaskRun,
  WatchChange,
  WatchResult,
} from '../../contract/types/taskrun.ts';

const LIMIT = 512 * 1024;
const N = 10_000;
const config = { ...DEFAULT_CONTROLLER_CONFIG, maxConcurrentTasks: 200 };
const cursor = { taskRuns: '1', jobs: '1', config: '1' };
const bytes = (x: unknown) => JSON.stringify(x).length;

/** A cluster: TaskRuns and Jobs, and the changes since the view last looked. */
class Cluster {
  taskRuns = new Map<string, ObservedTaskRun>();
  jobs = new Map<string, ObservedJob>();
  created = new Map<string, number>();
  changes: WatchChange[] = [];

  add(i: number): void {
    const name = `tr-${String(i).padStart(5, '0')}`;
    const t: ObservedTaskRun = {
      name,
      uid: `0000${i}-aaaa-bbbb-cccc-dddddddddddd`,
      generation: 1,
      creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, Math.floor(i / 100))).toISOString(),
      spec: {
        service: 'checkout',
        taskId: `task-${i}`,
        prompt: `fix the flaky test number ${i} in the checkout service, then open a pull request`,
      },
    };
    this.taskRuns.set(name, t);
    this.changes.push({ kind: 'taskRun', type: 'upsert', taskRun: t });
  }

  setJob(job: ObservedJob): void {
    this.jobs.set(job.ownerName, job);
    this.changes.push({ kind: 'job', type: 'upsert', job });
  }

  take(): WatchChange[] {
    return this.changes.splice(0);
  }
}

test('10,000 pending TaskRuns, maxConcurrentTasks 200: watch results and the carried state stay under 512 KB; one Job each; all succeed', () => {
  const cluster = new Cluster();
  for (let i = 0; i < N; i++) cluster.add(i);
  const view = emptyView();
  // The first watch lists everything into the worker's view.
  foldRaw(view, { snapshot: { taskRuns: [...cluster.taskRuns.values()], jobs: [] }, changes: [] });
  cluster.take();
  let state = restoreState(undefined, 500);
  let reset = true;
  let maxResult = 0;
  let maxCarried = 0;
  let runs = 1;
  let clock = Date.UTC(2026, 0, 1, 1);
  let rounds = 0;

  for (; rounds < 5000; rounds++) {
    const now = new Date((clock += 1000)).toISOString();
    const diff = diffView(view, { window: VIEW_WINDOW, budgetBytes: RESULT_BUDGET_BYTES, reset });
    reset = false;
    const result: WatchResult = {
      ...(diff.snapshot ? { snapshot: diff.snapshot } : {}),
      changes: diff.changes,
      cursor,
      config,
      seq: diff.seq,
      queued: diff.queued,
      ...(diff.more ? { more: true as const } : {}),
    };
    maxResult = Math.max(maxResult, bytes(result));
    assert.ok(bytes(result) <= LIMIT, `round ${rounds}: a watch result of ${bytes(result)} bytes`);
    applyWatchResult(state, result, now);
    assert.ok(
      state.tracked.size <= config.maxConcurrentTasks + VIEW_WINDOW + 50,
      `round ${rounds}: ${state.tracked.size} tracked`,
    );

    // The apply activities: Jobs (create-or-get by the derived name) and status writes.
    const actions = planRound(state.tracked, config, now);
    const results: ActionResult[] = actions.map((a) => {
      const r: ActionResult = { name: a.name };
      const t = cluster.taskRuns.get(a.name)!;
      if (a.create) {
        assert.equal(a.jobName, jobNameFor(t.name, t.uid));
        if (cluster.jobs.has(a.name)) r.job = 'existing';
        else {
          r.job = 'created';
          cluster.created.set(a.name, (cluster.created.get(a.name) ?? 0) + 1);
          cluster.setJob({ name: a.jobName, ownerName: t.name, ownerUid: t.uid, active: 1, startTime: now });
        }
      }
      if (a.status) {
        const { conditions: _c, ...status } = a.status;
        const written = { ...t, status };
        cluster.taskRuns.set(a.name, written);
        cluster.changes.push({ kind: 'taskRun', type: 'upsert', taskRun: written });
        r.status = 'written';
      }
      return r;
    });
    // The apply results travel in chunks of 50 (chunkSize): each under the budget too.
    for (let i = 0; i < actions.length; i += 50)
      maxResult = Math.max(maxResult, bytes(results.slice(i, i + 50)), bytes(actions.slice(i, i + 50)));
    applyResults(state, actions, results, now);
    // Jobs that ran a round complete.
    for (const job of [...cluster.jobs.values()]) {
      if (!job.outcome && job.startTime !== now)
        cluster.setJob({ ...job, active: 0, outcome: 'Succeeded', completionTime: now, finishedAt: now });
    }
    foldRaw(view, { changes: cluster.take() });

    // Continue-as-new every 10 rounds: the carried state is bounded; the new run's first watch sends the view afresh.
    if (rounds % 10 === 9) {
      const carried = JSON.parse(JSON.stringify(carryState(state, cursor, runs++))) as ControllerCarried;
      maxCarried = Math.max(maxCarried, bytes(carried));
      assert.ok(bytes(carried) <= CARRY_BUDGET_BYTES, `round ${rounds}: carried ${bytes(carried)} bytes`);
      state = restoreState(carried, 500);
      reset = true;
    }
    const done = [...cluster.taskRuns.values()].every((t) => t.status?.phase === 'Succeeded');
    if (done && state.tracked.size === 0) break;
  }
  assert.ok(rounds < 5000, 'drained');
  assert.equal(cluster.created.size, N, 'every TaskRun got a Job');
  assert.ok(
    [...cluster.created.values()].every((n) => n === 1),
    'never two Jobs for one TaskRun',
  );
  assert.ok(
    [...cluster.taskRuns.values()].every(
      (t) => t.status?.phase === 'Succeeded' && t.status.jobName === jobNameFor(t.name, t.uid),
    ),
  );
  assert.ok(runs > 10, `${runs} runs`);
  console.log(
    `taskrun-scale: ${rounds} rounds, ${runs} runs, largest result ${maxResult} B, largest carried ${maxCarried} B`,
  );
});

test('the carried state keeps under its budget with 10,000 followed TaskRuns: the pending ones are left to the view', () => {
  const state = restoreState(undefined, 500);
  const cluster = new Cluster();
  for (let i = 0; i < N; i++) cluster.add(i);
  applyWatchResult(
    state,
    { snapshot: { taskRuns: [...cluster.taskRuns.values()], jobs: [] }, changes: [], cursor, config },
    '2026-01-01T01:00:00.000Z',
  );
  assert.equal(state.tracked.size, N);
  const carried = carryState(state, cursor, 1);
  assert.ok(bytes(carried) <= CARRY_BUDGET_BYTES, `${bytes(carried)} bytes`);
  assert.ok(carried.taskRuns.length > 0 && carried.taskRuns.length < N);
  assert.equal(carried.taskRuns[0]!.name, 'tr-00000', 'the oldest first');
});

test('the view: a watch result holds at most the window of pending TaskRuns and counts the rest as queued; a Job that finished and went is still reported', () => {
  const cluster = new Cluster();
  for (let i = 0; i < N; i++) cluster.add(i);
  const view = emptyView();
  foldRaw(view, { snapshot: { taskRuns: [...cluster.taskRuns.values()], jobs: [] }, changes: [] });
  const first = diffView(view, { window: 300, budgetBytes: RESULT_BUDGET_BYTES, reset: true });
  assert.equal(first.snapshot?.taskRuns.length, 300);
  assert.equal(first.queued, N - 300);
  assert.equal(first.snapshot?.taskRuns[0]!.name, 'tr-00000');
  assert.deepEqual(diffView(view, { window: 300, budgetBytes: RESULT_BUDGET_BYTES }).changes, [], 'nothing changed');

  // tr-00000's Job completes and is removed (TTL) before the next result: its outcome still arrives.
  const t = cluster.taskRuns.get('tr-00000')!;
  const job: ObservedJob = {
    name: jobNameFor(t.name, t.uid),
    ownerName: t.name,
    ownerUid: t.uid,
    active: 0,
    outcome: 'Succeeded',
  };
  foldRaw(view, {
    changes: [
      { kind: 'job', type: 'upsert', job },
      { kind: 'job', type: 'delete', name: job.name, ownerName: t.name, ownerUid: t.uid },
    ],
  });
  const next = diffView(view, { window: 300, budgetBytes: RESULT_BUDGET_BYTES });
  assert.deepEqual(
    next.changes.filter((c) => c.kind === 'job'),
    [{ kind: 'job', type: 'upsert', job }],
  );
  // It has a Job now: one more pending TaskRun enters the window.
  assert.ok(next.changes.some((c) => c.kind === 'taskRun' && c.type === 'upsert' && c.taskRun.name === 'tr-00300'));
  assert.equal(next.queued, N - 301);

  // A tiny budget: the result is cut short (more), the rest follows.
  const small = diffView(view, { window: 300, budgetBytes: 2000, reset: true });
  assert.equal(small.more, true);
  assert.ok(bytes(small) < 4000);
});

/** A view that has sent one TaskRun (with `status`) and its running Job to the workflow. */
function viewWithSent(name: string, status?: ObservedTaskRun['status']) {
  const view = emptyView();
  const uid = `uid-${name}`;
  const jobName = jobNameFor(name, uid);
  const taskRun: ObservedTaskRun = {
    name,
    uid,
    generation: 1,
    creationTimestamp: '2026-01-01T00:00:00.000Z',
    spec: { service: 'checkout', taskId: 't', prompt: 'p' },
    ...(status ? { status: { ...status, jobName } } : {}),
  };
  const job: ObservedJob = { name: jobName, ownerName: name, ownerUid: uid, active: 1 };
  foldRaw(view, { snapshot: { taskRuns: [taskRun], jobs: [job] }, changes: [] });
  diffView(view, { window: 300, budgetBytes: RESULT_BUDGET_BYTES, reset: true });
  return { view, taskRun, job, jobName };
}

test('the view: a finished TaskRun the workflow was told of and that is then deleted is reported deleted (its record ends)', () => {
  const { view, taskRun: running, job, jobName } = viewWithSent('done-1', { phase: 'Running' });
  const done = { ...running, status: { phase: 'Succeeded' as const, jobName } };
  foldRaw(view, {
    changes: [
      { kind: 'taskRun', type: 'upsert', taskRun: done },
      { kind: 'job', type: 'upsert', job: { ...job, active: 0, outcome: 'Succeeded' } },
    ],
  });
  assert.ok(
    diffView(view, { window: 300, budgetBytes: RESULT_BUDGET_BYTES }).changes.length > 0,
    'the workflow is told it finished',
  );
  assert.equal(viewPending(view, 300), false, 'nothing to say while it exists');
  foldRaw(view, { changes: [{ kind: 'taskRun', type: 'delete', name: 'done-1', uid: 'uid-done-1' }] });
  assert.equal(viewPending(view, 300), true, 'its deletion is news');
  assert.deepEqual(diffView(view, { window: 300, budgetBytes: RESULT_BUDGET_BYTES }).changes, [
    { kind: 'taskRun', type: 'delete', name: 'done-1', uid: 'uid-done-1' },
  ]);
  assert.deepEqual(diffView(view, { window: 300, budgetBytes: RESULT_BUDGET_BYTES }).changes, [], 'said once');
});

test("the view: a sent TaskRun's unfinished status changing (the workflow's own writes coming back) is not sent again; a final status, a new generation or spec is", () => {
  const { view, taskRun: pending, jobName } = viewWithSent('echo-1');
  const opts = { window: 300, budgetBytes: RESULT_BUDGET_BYTES };
  const upsert = (taskRun: ObservedTaskRun) =>
    foldRaw(view, { changes: [{ kind: 'taskRun', type: 'upsert', taskRun }] });

  for (const phase of ['Pending', 'Running'] as const) {
    upsert({ ...pending, status: { phase, jobName, message: `${phase} now` } });
    assert.equal(viewPending(view, 300), false, `${phase}: nothing to send`);
    assert.deepEqual(diffView(view, opts).changes, [], `${phase}: not sent`);
  }
  const edited = {
    ...pending,
    generation: 2,
    spec: { ...pending.spec, prompt: 'p2' },
    status: { phase: 'Running' as const, jobName },
  };
  upsert(edited);
  assert.equal(viewPending(view, 300), true, 'a new generation is news');
  assert.deepEqual(diffView(view, opts).changes, [{ kind: 'taskRun', type: 'upsert', taskRun: edited }]);
  const done = { ...edited, status: { phase: 'Succeeded' as const, jobName } };
  upsert(done);
  assert.equal(viewPending(view, 300), true, 'a final status is news (written by another, or an answer lost)');
  assert.deepEqual(diffView(view, opts).changes, [{ kind: 'taskRun', type: 'upsert', taskRun: done }]);
});
