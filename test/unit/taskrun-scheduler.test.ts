// The controller pipeline's scheduling state (workflows/taskrun-controller/scheduler.ts), without
// Temporal: what is sent when, what is in flight, back-off after a failed write, the retry timer,
// the wake-ups of the loop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PipelineScheduler } from '../../workflows/taskrun-controller/scheduler.ts';
import {
  applyResults,
  applyWatchResult,
  restoreState,
  type ReconcilerState,
} from '../../workflows/taskrun-controller/reconcile.ts';
import type { ActionResult, ObservedTaskRun, TaskRunAction, WatchResult } from '../../contract/types/taskrun.ts';
import { DEFAULT_CONTROLLER_CONFIG } from '../../activities/taskrun/config.ts';

const config = { ...DEFAULT_CONTROLLER_CONFIG, maxConcurrentTasks: 1000 };
const cursor = { taskRuns: '1', jobs: '1', config: '1' };
const obs = (name: string): ObservedTaskRun => ({
  name,
  uid: `uid-${name}`,
  generation: 1,
  creationTimestamp: '2026-01-01T00:00:00.000Z',
  spec: { service: 's', taskId: `t-${name}`, prompt: 'p' },
});
const snapshot = (...names: string[]): WatchResult => ({
  snapshot: { taskRuns: names.map(obs), jobs: [] },
  changes: [],
  cursor,
  config,
});
const names = (chunks: TaskRunAction[][]) => chunks.map((c) => c.map((a) => a.name));
const ok = (actions: TaskRunAction[]): ActionResult[] =>
  actions.map((a) => ({
    name: a.name,
    ...(a.create ? { job: 'created' as const } : {}),
    ...(a.status ? { status: 'written' as const } : {}),
  }));

function stateWith(...taskRuns: string[]): ReconcilerState {
  const state = restoreState(undefined, 10);
  applyWatchResult(state, snapshot(...taskRuns), '2026-01-01T00:00:00.000Z');
  return state;
}

test('dispatch: chunks of chunkSize, at most maxInFlight TaskRuns in flight; TaskRuns in flight get no other action', () => {
  const s = new PipelineScheduler({ maxInFlight: 5, retryAfterMs: 5000, chunkSize: 2 });
  const state = stateWith('a', 'b', 'c', 'd', 'e', 'f', 'g');
  const first = s.dispatch(state.tracked, config, 0);
  assert.deepEqual(names(first), [['a', 'b'], ['c', 'd'], ['e']]);
  assert.equal(s.idle, false);
  assert.deepEqual(s.dispatch(state.tracked, config, 1), [], 'no room, and the busy ones get nothing');
  s.applyDone(first[0]!, [], 2);
  // a and b are free again (their results were not applied: they are planned again), f and g wait for room.
  assert.deepEqual(names(s.dispatch(state.tracked, config, 3)), [['a', 'b']]);
  for (const c of first.slice(1)) s.applyDone(c, ok(c), 4);
  assert.equal(s.idle, false, 'the second a, b call is in flight');
});

test('a failed write is retried after retryAfterMs, holding no slot meanwhile; the timer wakes the loop once for the earliest', () => {
  const s = new PipelineScheduler({ maxInFlight: 100, retryAfterMs: 5000, chunkSize: 50 });
  const state = stateWith('a', 'b');
  const [sent] = s.dispatch(state.tracked, { ...config, maxConcurrentTasks: 1 }, 0);
  assert.deepEqual(
    sent!.map((a) => [a.name, Boolean(a.create)]),
    [
      ['a', true],
      ['b', false],
    ],
    'a gets the one slot, b a Pending status',
  );
  s.applyDone(
    sent!,
    [
      { name: 'a', error: 'HTTP 500' },
      { name: 'b', status: 'written' },
    ],
    1000,
  );
  assert.equal(s.ready, true, 'a write came back');
  assert.deepEqual(s.take(), []);
  assert.equal(s.ready, false);
  // a is in back-off: b takes the slot.
  const [next] = s.dispatch(state.tracked, { ...config, maxConcurrentTasks: 1 }, 2000);
  assert.deepEqual(
    next!.filter((x) => x.create).map((x) => x.name),
    ['b'],
  );
  assert.equal(s.retryTimer(2000), 4000, 'the timer fires when a is due');
  assert.equal(s.retryTimer(2000), undefined, 'armed once');
  s.retryTimerFired();
  assert.equal(s.ready, true);
  s.take();
  applyResults(state, next!, ok(next!), '2026-01-01T00:00:06.000Z');
  s.applyDone(next!, ok(next!), 6000);
  // Due again: a is sent (b's Job holds the only slot: a status write), and leaves the back-off.
  const [again] = s.dispatch(state.tracked, { ...config, maxConcurrentTasks: 1 }, 6000);
  assert.deepEqual(
    again!.map((x) => [x.name, Boolean(x.create)]),
    [['a', false]],
  );
  assert.equal(s.retryTimer(6000), undefined, 'nothing left to retry');
});

test('an apply call whose every attempt failed: its TaskRuns are retried later; a TaskRun gone meanwhile leaves the back-off', () => {
  const s = new PipelineScheduler({ maxInFlight: 100, retryAfterMs: 5000, chunkSize: 50 });
  const state = stateWith('a', 'b');
  const [sent] = s.dispatch(state.tracked, config, 0);
  s.applyFailed(sent!, 100);
  assert.equal(s.idle, true);
  assert.deepEqual(s.dispatch(state.tracked, config, 200), [], 'both wait');
  state.tracked.delete('b');
  assert.deepEqual(names(s.dispatch(state.tracked, config, 5100)), [['a']]);
  assert.equal(s.retryTimer(5100), undefined, 'b is forgotten');
});

test('Jobs created while a watch runs are reported for its snapshot; a new watch starts a new set', () => {
  const s = new PipelineScheduler({ maxInFlight: 100, retryAfterMs: 5000, chunkSize: 50 });
  const state = stateWith('a', 'b');
  s.watchStarted();
  assert.equal(s.watching, true);
  const [sent] = s.dispatch(state.tracked, config, 0);
  s.applyDone(
    sent!,
    [
      { name: 'a', job: 'created' },
      { name: 'b', job: 'existing' },
    ],
    1,
  );
  assert.deepEqual([...s.createdMeanwhile], ['a', 'b']);
  s.watchReturned(snapshot('a', 'b'));
  assert.equal(s.watching, false);
  assert.equal(s.take().length, 1);
  s.watchStarted();
  assert.deepEqual([...s.createdMeanwhile], []);
});

test('a failed watch is thrown by take; a cancelled one is not', () => {
  const s = new PipelineScheduler({ maxInFlight: 100, retryAfterMs: 5000, chunkSize: 50 });
  s.watchStarted(true);
  assert.equal(s.watchCreatesJobs, true);
  s.watchCancelled();
  assert.equal(s.watching, false);
  assert.equal(s.watchCreatesJobs, false);
  assert.equal(s.ready, false);
  s.watchStarted();
  s.watchFailed(new Error('CRD missing'));
  assert.equal(s.ready, true);
  assert.throws(() => s.take(), /CRD missing/);
});
