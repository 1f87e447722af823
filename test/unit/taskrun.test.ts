// Pure pieces of the TaskRun controller: Job names, the controller config, the Job manifest,
// the compact Job view, the round planner, lost Jobs and the bounded state of finished TaskRuns.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CARRY_BUDGET_BYTES,
  jobNameFor,
  planRound,
  applyWatchResult,
  applyResults,
  carryState,
  lookup,
  restoreState,
  type ReconcilerState,
} from '../../workflows/taskrun-controller/reconcile.ts';
import type {
  ObservedJob,
  ObservedTaskRun,
  TaskRunAction,
  WatchChange,
  WatchResult,
} from '../../contract/types/taskrun.ts';
import { DEFAULT_CONTROLLER_CONFIG } from '../../activities/taskrun/config.ts';
import { agentJob, observeJob } from '../../activities/kube/jobs.ts';
import { observeTaskRun } from '../../activities/taskrun/observe.ts';
import { RESTORE_PENDING_ANNOTATION, RESTORED_FROM_ANNOTATION } from '../../contract/types/taskrun.ts';

test('jobNameFor: deterministic, at most 62 characters, a valid name, different for a recreated TaskRun', () => {
  const uid = '0f8e4c2a-1111-2222-3333-444455556666';
  assert.equal(jobNameFor('fix-login', uid), 'fix-login-0f8e4c2a');
  assert.equal(jobNameFor('fix-login', uid), jobNameFor('fix-login', uid));
  assert.notEqual(jobNameFor('fix-login', uid), jobNameFor('fix-login', 'aaaaaaaa-1111'));
  const long = jobNameFor(`${'a'.repeat(52)}-.b.c${'d'.repeat(200)}`, uid);
  assert.ok(long.length <= 62, long);
  assert.match(long, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  assert.match(jobNameFor('v1.2.task', uid), /^v1-2-task-0f8e4c2a$/);
});

test('agentJob: owned by the TaskRun, labelled, keys by secretKeyRef only, prompt reference, workspace claim', () => {
  const ref = { name: 'tr', uid: 'u-1', namespace: 'ns' };
  const job = agentJob(
    ref,
    'tr-u1',
    { service: 'svc', taskId: 'T-1', promptRef: { name: 'prompts', key: 'p1' }, workspaceClaim: 'ws' },
    DEFAULT_CONTROLLER_CONFIG,
  );
  assert.deepEqual(job.metadata?.ownerReferences, [
    {
      apiVersion: 'orchestrator.io/v1',
      kind: 'TaskRun',
      name: 'tr',
      uid: 'u-1',
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  assert.equal(job.metadata?.labels?.app, 'claude-agent');
  assert.equal(job.metadata?.labels?.['task-id'], 'T-1');
  const c = job.spec!.template.spec!.containers[0]!;
  for (const e of c.env!.filter((x) => ['ANTHROPIC_API_KEY', 'GITHUB_TOKEN'].includes(x.name))) {
    assert.equal(e.value, undefined);
    assert.equal(e.valueFrom?.secretKeyRef?.name, 'orchestrator-secrets');
  }
  assert.deepEqual(c.env!.find((e) => e.name === 'TASK_PROMPT')?.valueFrom?.configMapKeyRef, {
    name: 'prompts',
    key: 'p1',
  });
  assert.deepEqual(
    c.volumeMounts!.find((m) => m.name === 'workspace'),
    { name: 'workspace', mountPath: '/workspace' },
  );
  assert.deepEqual(c.resources, DEFAULT_CONTROLLER_CONFIG.agent.resources);
  assert.equal(job.spec!.backoffLimit, 0);
  assert.equal(job.spec!.template.spec!.restartPolicy, 'Never');
});

test('observeJob: outcome, times and failure reason; Jobs not owned by a TaskRun are ignored', () => {
  const owner = [{ apiVersion: 'orchestrator.io/v1', kind: 'TaskRun', name: 'tr', uid: 'u' }];
  const failed = observeJob({
    metadata: { name: 'j', ownerReferences: owner },
    status: {
      startTime: '2026-01-01T00:00:00Z' as never,
      conditions: [
        {
          type: 'Failed',
          status: 'True',
          reason: 'BackoffLimitExceeded',
          message: 'Job has reached the specified backoff limit',
          lastTransitionTime: '2026-01-01T00:00:05Z' as never,
        },
      ],
    },
  });
  assert.deepEqual(failed, {
    name: 'j',
    ownerName: 'tr',
    ownerUid: 'u',
    active: 0,
    startTime: '2026-01-01T00:00:00.000Z',
    outcome: 'Failed',
    message: 'BackoffLimitExceeded: Job has reached the specified backoff limit',
    finishedAt: '2026-01-01T00:00:05.000Z',
  });
  assert.equal(
    observeJob({
      metadata: { name: 'other', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'c', uid: 'x' }] },
    }),
    undefined,
  );
});

test('planRound: a TaskRun whose Job vanished before finishing fails; it never gets a second Job', () => {
  const state = restoreState(undefined, 500);
  const now = '2026-01-01T00:00:00.000Z';
  applyWatchResult(
    state,
    {
      snapshot: {
        taskRuns: [
          {
            name: 'a',
            uid: 'u',
            generation: 1,
            spec: { service: 's', taskId: 't' },
            status: { phase: 'Running', jobName: 'a-u' },
          },
        ],
        jobs: [{ name: 'a-u', ownerName: 'a', ownerUid: 'u', active: 1, startTime: now }],
      },
      changes: [],
      cursor: { taskRuns: '1', jobs: '1', config: '1' },
      config: DEFAULT_CONTROLLER_CONFIG,
    },
    now,
  );
  applyWatchResult(
    state,
    {
      changes: [{ kind: 'job', type: 'delete', name: 'a-u', ownerName: 'a', ownerUid: 'u' }],
      cursor: { taskRuns: '1', jobs: '2', config: '1' },
      config: DEFAULT_CONTROLLER_CONFIG,
    },
    now,
  );
  const actions = planRound(state.tracked, DEFAULT_CONTROLLER_CONFIG, now);
  assert.equal(actions.length, 1);
  assert.equal(actions[0]!.create, undefined);
  assert.equal(actions[0]!.status?.phase, 'Failed');
  assert.match(actions[0]!.status!.message, /deleted before it finished/);
});

const now = '2026-01-01T00:10:00.000Z';
const cursor = { taskRuns: '1', jobs: '1', config: '1' };
const obs = (name: string, status?: ObservedTaskRun['status']): ObservedTaskRun => ({
  name,
  uid: `uid-${name}`,
  generation: 1,
  creationTimestamp: '2026-01-01T00:00:00.000Z',
  spec: { service: 's', taskId: `t-${name}`, prompt: 'p' },
  ...(status ? { status } : {}),
});
const jobOf = (name: string, extra: Partial<ObservedJob> = {}): ObservedJob => ({
  name: jobNameFor(name, `uid-${name}`),
  ownerName: name,
  ownerUid: `uid-${name}`,
  active: 1,
  startTime: '2026-01-01T00:01:00.000Z',
  ...extra,
});
const snapshot = (taskRuns: ObservedTaskRun[], jobs: ObservedJob[] = []): WatchResult => ({
  snapshot: { taskRuns, jobs },
  changes: [],
  cursor,
  config: DEFAULT_CONTROLLER_CONFIG,
});
const changes = (...c: WatchChange[]): WatchResult => ({ changes: c, cursor, config: DEFAULT_CONTROLLER_CONFIG });
/** New TaskRuns `names` (no status yet). */
const newTaskRuns = (names: string[]): WatchResult =>
  changes(...names.map((n) => ({ kind: 'taskRun' as const, type: 'upsert' as const, taskRun: obs(n) })));
/** The Jobs of `names`, no longer active; `finish` gives each one's outcome and details. */
const finishedJobs = (names: string[], finish: (name: string) => Partial<ObservedJob>): WatchResult =>
  changes(
    ...names.map((n) => ({
      kind: 'job' as const,
      type: 'upsert' as const,
      job: jobOf(n, { active: 0, ...finish(n) }),
    })),
  );
/** New TaskRuns `names`, created a second apart in this order (the oldest first in line for a slot). */
const createdInOrder = (names: string[]): WatchResult =>
  changes(
    ...names.map((n, i) => ({
      kind: 'taskRun' as const,
      type: 'upsert' as const,
      taskRun: { ...obs(n), creationTimestamp: `2026-01-01T00:00:0${i}.000Z` },
    })),
  );
/** One round as the controller runs it, every action succeeding. */
function round(state: ReconcilerState, result: WatchResult): TaskRunAction[] {
  applyWatchResult(state, result, now);
  const actions = planRound(state.tracked, { maxConcurrentTasks: 100_000 }, now);
  applyResults(
    state,
    actions,
    actions.map((a) => ({
      name: a.name,
      ...(a.create ? { job: 'created' as const } : {}),
      ...(a.status ? { status: 'written' as const } : {}),
    })),
    now,
  );
  return actions;
}

test('a fresh controller fails an unfinished TaskRun whose Job is gone (deleted while it was down); no second Job', () => {
  const state = restoreState(undefined, 500);
  const running = obs('running', {
    phase: 'Running',
    jobName: jobNameFor('running', 'uid-running'),
    startTime: '2026-01-01T00:01:00.000Z',
  });
  const pending = obs('pending', { phase: 'Pending', jobName: jobNameFor('pending', 'uid-pending') });
  const fresh = obs('fresh', { phase: 'Pending', jobName: '' }); // no Job yet: created now
  const alive = obs('alive', { phase: 'Running', jobName: jobNameFor('alive', 'uid-alive') });
  const actions = round(state, snapshot([running, pending, fresh, alive], [jobOf('alive')]));
  const byName = new Map(actions.map((a) => [a.name, a]));
  assert.deepEqual(
    actions.filter((a) => a.create).map((a) => a.name),
    ['fresh'],
  );
  for (const name of ['running', 'pending']) {
    const status = byName.get(name)!.status!;
    assert.equal(status.phase, 'Failed', name);
    assert.equal(status.jobName, jobNameFor(name, `uid-${name}`));
    assert.match(status.message, /no longer exists and its outcome was not seen/);
    assert.match(status.message, /ttlSecondsAfterFinished/);
    assert.deepEqual(
      status.conditions.find((c) => c.type === 'Complete'),
      {
        type: 'Complete',
        status: 'False',
        reason: 'JobLost',
        message: status.message,
        observedGeneration: 1,
        lastTransitionTime: now,
      },
    );
    assert.ok(status.completionTime);
  }
  assert.equal(byName.get('running')!.status!.startTime, '2026-01-01T00:01:00.000Z');
  assert.equal(
    byName.get('alive')?.status?.phase ?? 'Running',
    'Running',
    'a Job that exists keeps its TaskRun running',
  );
  assert.deepEqual(state.finishedCounts, { Succeeded: 0, Failed: 2 });
  // The next resync changes nothing and creates nothing.
  const failed = (n: string): ObservedTaskRun => obs(n, { phase: 'Failed', jobName: jobNameFor(n, `uid-${n}`) });
  assert.deepEqual(
    round(
      state,
      snapshot(
        [
          failed('running'),
          failed('pending'),
          obs('fresh', { phase: 'Pending', jobName: jobNameFor('fresh', 'uid-fresh') }),
          alive,
        ],
        [jobOf('fresh'), jobOf('alive')],
      ),
    ).filter((a) => a.create || a.status?.phase === 'Failed'),
    [],
  );
});

test('a Job seen running, then absent from a snapshot: failed as "outcome not seen"; a finished one keeps its outcome', () => {
  const state = restoreState(undefined, 500);
  round(
    state,
    snapshot(
      [
        obs('a', { phase: 'Running', jobName: jobNameFor('a', 'uid-a') }),
        obs('b', { phase: 'Running', jobName: jobNameFor('b', 'uid-b') }),
      ],
      [jobOf('a'), jobOf('b')],
    ),
  );
  // b's Job completes, but its status write did not happen yet (e.g. a crash); both Jobs are then removed by TTL.
  applyWatchResult(
    state,
    changes({
      kind: 'job',
      type: 'upsert',
      job: jobOf('b', { active: 0, outcome: 'Succeeded', completionTime: '2026-01-01T00:05:00.000Z' }),
    }),
    now,
  );
  const actions = round(
    state,
    snapshot([
      obs('a', { phase: 'Running', jobName: jobNameFor('a', 'uid-a') }),
      obs('b', { phase: 'Running', jobName: jobNameFor('b', 'uid-b') }),
    ]),
  );
  const status = (n: string) => actions.find((a) => a.name === n)!.status!;
  assert.equal(status('a').phase, 'Failed');
  assert.match(status('a').message, /outcome was not seen/);
  assert.equal(status('b').phase, 'Succeeded');
  assert.equal(status('b').completionTime, '2026-01-01T00:05:00.000Z');
  assert.equal(
    actions.some((a) => a.create),
    false,
  );
});

test('finished TaskRuns leave the tracked state for a bounded recent list; already-finished ones are never tracked again', () => {
  const state = restoreState(undefined, 2);
  const names = ['a', 'b', 'c'];
  round(state, newTaskRuns(names));
  assert.equal(state.tracked.size, 3);
  round(
    state,
    finishedJobs(names, (n) => ({ outcome: n === 'b' ? 'Failed' : 'Succeeded', message: 'boom' })),
  );
  assert.equal(state.tracked.size, 0);
  assert.deepEqual([...state.finished.keys()], ['b', 'c'], 'the newest 2');
  assert.deepEqual(state.finishedCounts, { Succeeded: 2, Failed: 1 });
  assert.equal(lookup(state, 'a'), null, 'finished longer ago than the recent list: not tracked any more');
  const c = lookup(state, 'c')!;
  assert.equal(c.phase, 'Succeeded');
  assert.deepEqual(
    c.transitions.map((t) => t.phase),
    ['Pending', 'Running', 'Succeeded'],
  );
  assert.equal(c.job, undefined, 'compacted');
  assert.equal(c.finishedAt, now);
  // Our own final status writes come back through the watch, and in every resync: nothing to do.
  const final = (n: string, phase: 'Succeeded' | 'Failed'): ObservedTaskRun =>
    obs(n, { phase, jobName: jobNameFor(n, `uid-${n}`), completionTime: now });
  assert.deepEqual(round(state, changes({ kind: 'taskRun', type: 'upsert', taskRun: final('a', 'Succeeded') })), []);
  assert.deepEqual(
    round(
      state,
      snapshot(
        [final('a', 'Succeeded'), final('b', 'Failed'), final('c', 'Succeeded')],
        names.map((n) => jobOf(n, { active: 0, outcome: 'Succeeded' })),
      ),
    ),
    [],
  );
  assert.equal(state.tracked.size, 0);
  assert.deepEqual([...state.finished.keys()], ['b', 'c']);
  assert.deepEqual(state.finishedCounts, { Succeeded: 2, Failed: 1 }, 'counted once');
  // A deleted TaskRun leaves the recent list too (by a watch event, or by its absence from a snapshot).
  round(state, changes({ kind: 'taskRun', type: 'delete', name: 'b', uid: 'uid-b' }));
  assert.equal(lookup(state, 'b'), null);
  round(state, snapshot([final('a', 'Succeeded')]));
  assert.equal(state.finished.size, 0);
});

test('a followed TaskRun seen with a final status (a write whose answer was lost) finishes without another write', () => {
  const state = restoreState(undefined, 10);
  round(state, changes({ kind: 'taskRun', type: 'upsert', taskRun: obs('x') }));
  const actions = round(
    state,
    changes({
      kind: 'taskRun',
      type: 'upsert',
      taskRun: obs('x', { phase: 'Succeeded', jobName: jobNameFor('x', 'uid-x'), message: 'done elsewhere' }),
    }),
  );
  assert.deepEqual(actions, []);
  assert.equal(state.tracked.size, 0);
  assert.equal(lookup(state, 'x')?.phase, 'Succeeded');
  assert.equal(lookup(state, 'x')?.written?.message, 'done elsewhere');
  assert.deepEqual(state.finishedCounts, { Succeeded: 1, Failed: 0 });
});

test('the carried state stays bounded: 5,000 finished TaskRuns carry only the newest finishedHistory', () => {
  let state = restoreState(undefined, 500);
  const names = Array.from({ length: 5000 }, (_, i) => `task-${String(i).padStart(4, '0')}`);
  round(state, newTaskRuns(names));
  assert.equal(state.tracked.size, 5000);
  // 5,000 unfinished ones fill the carry budget (the rest is re-derived from the watch's view after continue-as-new).
  const unfinished = JSON.stringify(carryState(state, cursor, 1)).length;
  assert.ok(unfinished <= CARRY_BUDGET_BYTES, `5,000 unfinished ones carried ${unfinished} bytes`);
  round(
    state,
    finishedJobs(names, () => ({ outcome: 'Succeeded', completionTime: now })),
  );
  const carried = carryState(state, cursor, 1);
  const size = JSON.stringify(carried).length;
  assert.equal(carried.taskRuns.length, 0);
  assert.equal(carried.finished?.length, 500);
  assert.deepEqual(carried.finishedCounts, { Succeeded: 5000, Failed: 0 });
  assert.ok(size < 400_000, `carried ${size} bytes`);
  assert.ok(size < unfinished, `carried ${size} bytes, 5,000 unfinished ones ${unfinished}`);
  // Across continue-as-new, and a resync listing all 5,000 (finished) TaskRuns: still bounded, nothing to do.
  state = restoreState(JSON.parse(JSON.stringify(carried)) as typeof carried, 500);
  const finals = names.map((n) =>
    obs(n, { phase: 'Succeeded', jobName: jobNameFor(n, `uid-${n}`), completionTime: now }),
  );
  assert.deepEqual(round(state, snapshot(finals)), []);
  assert.equal(state.tracked.size, 0);
  assert.equal(state.finished.size, 500);
  assert.equal(lookup(state, names[0]!), null);
  assert.equal(lookup(state, names.at(-1)!)?.phase, 'Succeeded');
  assert.ok(JSON.stringify(carryState(state, cursor, 2)).length <= size);
});

test('observeTaskRun: the fields the controller reads, times as ISO strings; absent, empty or mistyped fields are left out', () => {
  // The spec fields the controller reads; the raw spec adds an empty agentImage and a field it does not know.
  const readSpec = {
    service: 's',
    taskId: 't',
    prompt: '',
    promptRef: { name: 'p', key: 'k' },
    resources: { requests: { cpu: '1' } },
    workspaceClaim: 'ws',
  };
  const raw = {
    metadata: {
      name: 'r',
      uid: 'u',
      generation: 3,
      creationTimestamp: '2026-01-01T00:00:00Z',
      resourceVersion: '9',
      labels: { a: 'b' },
    },
    spec: { ...readSpec, agentImage: '', extra: 1 },
    status: {
      phase: 'Running',
      jobName: 'r-u',
      startTime: '2026-01-01T00:01:00Z',
      message: '',
      observedGeneration: 0,
      conditions: [{ type: 'Started' }],
    },
  };
  assert.deepEqual(observeTaskRun(raw), {
    name: 'r',
    uid: 'u',
    generation: 3,
    creationTimestamp: '2026-01-01T00:00:00.000Z',
    spec: readSpec,
    status: { phase: 'Running', jobName: 'r-u', startTime: '2026-01-01T00:01:00.000Z', observedGeneration: 0 },
  });
  const odd = observeTaskRun({
    metadata: { name: 'r', uid: 'u', generation: 'x' },
    spec: { service: 5, taskId: 't', agentImage: 7 },
    status: { phase: 'Exploded', jobName: 3 },
  });
  assert.deepEqual(odd, { name: 'r', uid: 'u', generation: 1, spec: { service: '', taskId: 't' } });
  assert.deepEqual(observeTaskRun({ metadata: { name: 'r', uid: 'u' }, status: null }), {
    name: 'r',
    uid: 'u',
    generation: 1,
    spec: { service: '', taskId: '' },
  });
  assert.throws(() => observeTaskRun({ metadata: { name: 'r' } }), /uid/);
});

test('observeTaskRun carries the restore-pending annotation', () => {
  const raw = {
    metadata: { name: 'r', uid: 'u', annotations: { [RESTORE_PENDING_ANNOTATION]: 'true', other: 'x' } },
    spec: { service: 's', taskId: 't' },
  };
  assert.equal(observeTaskRun(raw).restorePending, true);
  assert.equal(
    observeTaskRun({ ...raw, metadata: { name: 'r', uid: 'u', annotations: { other: 'x' } } }).restorePending,
    undefined,
  );
  assert.equal(observeTaskRun({ metadata: { name: 'r', uid: 'u' } }).restorePending, undefined);
});

test('observeTaskRun: a TaskRun restored-from a backup is being restored until its status has a phase', () => {
  const raw = (status?: object) => ({
    metadata: { name: 'r', uid: 'u', annotations: { [RESTORED_FROM_ANNOTATION]: 'b-1' } },
    spec: { service: 's', taskId: 't' },
    ...(status ? { status } : {}),
  });
  assert.equal(observeTaskRun(raw()).restorePending, true);
  assert.equal(observeTaskRun(raw({ message: 'x' })).restorePending, true);
  for (const phase of ['Pending', 'Running', 'Succeeded', 'Failed'])
    assert.equal(observeTaskRun(raw({ phase })).restorePending, undefined, phase);
});

test('a restored TaskRun gets nothing (no Job, no ConfigMap, no status) while it carries restore-pending; then the status the restore wrote decides', () => {
  const state = restoreState(undefined, 500);
  const pending = (n: string, status?: ObservedTaskRun['status']): ObservedTaskRun => ({
    ...obs(n, status),
    restorePending: true,
  });
  const upsert = (t: ObservedTaskRun): WatchChange => ({ kind: 'taskRun', type: 'upsert', taskRun: t });
  // Created by the restore (no status yet): in a snapshot and as a watch event.
  assert.deepEqual(round(state, snapshot([pending('a'), pending('b'), pending('c'), pending('d')])), []);
  assert.deepEqual(round(state, changes(upsert(pending('e')))), []);
  assert.deepEqual(planRound(state.tracked, { maxConcurrentTasks: 100 }, now), [], 'not even a Pending status');
  // The restore writes the backed-up statuses (annotation still on): still nothing.
  const oldJob = (n: string) => jobNameFor(n, `old-uid-${n}`);
  const written = {
    a: { phase: 'Succeeded' as const, jobName: oldJob('a'), completionTime: now },
    b: { phase: 'Running' as const, jobName: oldJob('b'), startTime: now },
    c: { phase: 'Pending' as const, jobName: '' },
    d: { phase: 'Failed' as const, jobName: oldJob('d'), completionTime: now, message: 'boom' },
  };
  assert.deepEqual(round(state, changes(...Object.entries(written).map(([n, s]) => upsert(pending(n, s))))), []);
  // A resync meanwhile (Jobs listed: none of theirs) changes nothing either.
  assert.deepEqual(round(state, snapshot([pending('b', written.b), pending('c', written.c), pending('e')])), []);
  assert.equal(lookup(state, 'a'), null, 'a final status is never followed');
  assert.equal(state.tracked.has('d'), false);
  assert.deepEqual(state.finishedCounts, { Succeeded: 0, Failed: 0 }, "restored outcomes are not this controller's");

  // The annotation goes: a final status stays as it is, Running with a Job that does not exist is JobLost,
  // Pending without a Job gets its Job now.
  const actions = round(
    state,
    changes(
      upsert(obs('a', written.a)),
      upsert(obs('b', written.b)),
      upsert(obs('c', written.c)),
      upsert(obs('d', written.d)),
    ),
  );
  assert.deepEqual(
    actions.filter((x) => x.create).map((x) => x.name),
    ['c'],
  );
  const b = actions.find((x) => x.name === 'b')!;
  assert.equal(b.create, undefined);
  assert.equal(b.status?.phase, 'Failed');
  assert.equal(b.status?.conditions.find((x) => x.type === 'Complete')?.reason, 'JobLost');
  assert.match(b.status!.message, new RegExp(`${oldJob('b')} no longer exists`));
  assert.deepEqual(
    actions.filter((x) => x.name === 'a' || x.name === 'd'),
    [],
  );
  // e is still pending restore: nothing for it, also in the next rounds.
  assert.deepEqual(round(state, changes()), []);
  assert.equal(lookup(state, 'e')?.restorePending, true);
});

test('restore-pending TaskRuns take no slot; one restored over a followed TaskRun (same uid) stops its writes until the annotation goes', () => {
  const state = restoreState(undefined, 500);
  round(state, changes({ kind: 'taskRun', type: 'upsert', taskRun: obs('live') }));
  assert.equal(lookup(state, 'live')?.jobCreated, true);
  const restored: ObservedTaskRun = {
    ...obs('live', { phase: 'Running', jobName: jobNameFor('live', 'uid-live') }),
    restorePending: true,
  };
  applyWatchResult(state, changes({ kind: 'taskRun', type: 'upsert', taskRun: restored }), now);
  // Its Job runs and completes meanwhile: remembered, but no status write while annotated.
  assert.deepEqual(
    round(
      state,
      changes({
        kind: 'job',
        type: 'upsert',
        job: jobOf('live', { active: 0, outcome: 'Succeeded', completionTime: now }),
      }),
    ),
    [],
  );
  // Pending restores do not count against maxConcurrentTasks.
  applyWatchResult(
    state,
    changes(
      {
        kind: 'taskRun',
        type: 'upsert',
        taskRun: { ...obs('other', { phase: 'Running', jobName: 'x-1' }), restorePending: true },
      },
      { kind: 'taskRun', type: 'upsert', taskRun: obs('new') },
    ),
    now,
  );
  assert.deepEqual(
    planRound(state.tracked, { maxConcurrentTasks: 1 }, now).map((a) => [a.name, Boolean(a.create)]),
    [['new', true]],
  );
  // Annotation gone: the Job it has is followed (Succeeded), no JobLost.
  const actions = round(
    state,
    changes({
      kind: 'taskRun',
      type: 'upsert',
      taskRun: obs('live', { phase: 'Running', jobName: jobNameFor('live', 'uid-live') }),
    }),
  );
  assert.deepEqual(
    actions.filter((a) => a.name === 'live').map((a) => a.status?.phase),
    ['Succeeded'],
  );
});

test('a Job the API server rejects for good fails its TaskRun with the reason; a TaskRun in back-off holds no slot', () => {
  const state = restoreState(undefined, 500);
  const cap = { maxConcurrentTasks: 1 };
  applyWatchResult(state, createdInOrder(['bad', 'good']), now);
  const first = planRound(state.tracked, cap, now);
  assert.deepEqual(
    first.filter((a) => a.create).map((a) => a.name),
    ['bad'],
    'the oldest first',
  );
  const reason =
    'create Job: HTTP 422 Job.batch "bad-uidbad" is invalid: spec.template.spec.containers[0].resources.requests[cpu]: Invalid value: "-1": must be greater than or equal to 0';
  applyResults(
    state,
    first,
    [
      { name: 'bad', rejected: reason },
      { name: 'good', status: 'written' },
    ],
    now,
  );
  // Its failure is written next; the slot goes to the next TaskRun at once.
  const next = planRound(state.tracked, cap, now);
  const bad = next.find((a) => a.name === 'bad')!;
  assert.equal(bad.create, undefined, 'never tried again');
  assert.equal(bad.status?.phase, 'Failed');
  assert.equal(bad.status?.jobName, '');
  assert.match(bad.status!.message, /rejected/);
  assert.ok(bad.status!.message.includes(reason));
  assert.ok(bad.status!.completionTime);
  assert.deepEqual(
    bad.status!.conditions.map((c) => [c.type, c.status, c.reason]),
    [
      ['JobCreated', 'False', 'Rejected'],
      ['Complete', 'False', 'JobRejected'],
    ],
  );
  assert.deepEqual(
    next.filter((a) => a.create).map((a) => a.name),
    ['good'],
  );
  applyResults(
    state,
    next,
    next.map((a) => ({ name: a.name, ...(a.create ? { job: 'created' as const } : {}), status: 'written' as const })),
    now,
  );
  assert.equal(lookup(state, 'bad')?.phase, 'Failed');
  assert.deepEqual(state.finishedCounts, { Succeeded: 0, Failed: 1 });

  // A transient error: the TaskRun waits for its retry without holding the slot.
  const s2 = restoreState(undefined, 500);
  applyWatchResult(s2, createdInOrder(['flaky', 'other']), now);
  const r1 = planRound(s2.tracked, cap, now);
  applyResults(
    s2,
    r1,
    [
      { name: 'flaky', error: 'create Job: HTTP 500' },
      { name: 'other', status: 'written' },
    ],
    now,
  );
  const r2 = planRound(s2.tracked, cap, now, new Set(), new Set(['flaky']));
  assert.deepEqual(
    r2.map((a) => [a.name, Boolean(a.create)]),
    [['other', true]],
  );
});

test('a Job seen for a TaskRun whose creation was rejected (its ConfigMap was, the Job is deleted) changes nothing', () => {
  const state = restoreState(undefined, 500);
  applyWatchResult(state, changes({ kind: 'taskRun', type: 'upsert', taskRun: obs('big') }), now);
  const first = planRound(state.tracked, { maxConcurrentTasks: 5 }, now);
  applyWatchResult(state, changes({ kind: 'job', type: 'upsert', job: jobOf('big', { active: 0 }) }), now); // seen before the result
  applyResults(
    state,
    first,
    [{ name: 'big', rejected: 'create ConfigMap: HTTP 413 Request entity too large: limit is 3145728' }],
    now,
  );
  applyWatchResult(
    state,
    changes({ kind: 'job', type: 'delete', name: jobNameFor('big', 'uid-big'), ownerName: 'big', ownerUid: 'uid-big' }),
    now,
  );
  const [action] = planRound(state.tracked, { maxConcurrentTasks: 5 }, now);
  assert.equal(action?.status?.phase, 'Failed');
  assert.match(action!.status!.message, /Request entity too large/);
  assert.equal(action!.status!.conditions.find((c) => c.type === 'Complete')?.reason, 'JobRejected');
});

test('a Job this controller just created is not lost when a snapshot is listed before the watch saw it; once the grace is over it is', () => {
  const at = (seconds: number) => new Date(Date.parse(now) + seconds * 1000).toISOString();
  const state = restoreState(undefined, 500);
  applyWatchResult(state, snapshot([obs('x')]), at(0));
  const create = planRound(state.tracked, { maxConcurrentTasks: 10 }, at(0));
  assert.deepEqual(
    create.filter((a) => a.create).map((a) => a.name),
    ['x'],
  );
  applyResults(state, create, [{ name: 'x', job: 'created', status: 'written' }], at(0));
  // A snapshot from the worker's view 250 ms later (a new run): the TaskRun names its Job, the Job's event is not in yet.
  const named = obs('x', { phase: 'Pending', jobName: jobNameFor('x', 'uid-x') });
  applyWatchResult(state, snapshot([named]), at(0.25));
  const early = planRound(state.tracked, { maxConcurrentTasks: 10 }, at(0.25));
  assert.ok(!early.some((a) => a.status?.phase === 'Failed' || a.create), 'neither failed nor created again');
  // Still absent from a snapshot well after its creation: it was deleted before the watch ever saw it.
  applyWatchResult(state, snapshot([named]), at(120));
  const late = planRound(state.tracked, { maxConcurrentTasks: 10 }, at(120));
  assert.equal(late.find((a) => a.name === 'x')?.status?.phase, 'Failed');
  assert.ok(!late.some((a) => a.create), 'never a second Job');
});
