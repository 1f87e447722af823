// forEachConcurrently: the one bounded pool of the activities (restore, cleanup, drain evictions).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { forEachConcurrently } from '../../activities/concurrency.ts';

test('never more than `limit` calls in flight, every item once, in order of start', async () => {
  let inFlight = 0;
  let peak = 0;
  const started: number[] = [];
  await forEachConcurrently(
    Array.from({ length: 20 }, (_, i) => i),
    3,
    async (item) => {
      started.push(item);
      peak = Math.max(peak, ++inFlight);
      await sleep(item % 4);
      inFlight--;
    },
  );
  assert.equal(peak, 3);
  assert.deepEqual(
    started,
    Array.from({ length: 20 }, (_, i) => i),
  );
});

test('after a failure no new item starts; the first failure is thrown once the calls in flight settle', async () => {
  const started: number[] = [];
  let settledAfterFailure = false;
  await assert.rejects(
    forEachConcurrently([0, 1, 2, 3, 4, 5], 2, async (item) => {
      started.push(item);
      if (item === 1) throw new Error('item 1 failed');
      await sleep(20);
      if (item === 0) settledAfterFailure = true;
    }),
    /item 1 failed/,
  );
  assert.deepEqual(started, [0, 1]);
  assert.ok(settledAfterFailure, 'item 0 finished before the failure was thrown');
});

test('no items: nothing runs', async () => {
  let calls = 0;
  await forEachConcurrently([], 4, async () => void calls++);
  assert.equal(calls, 0);
});
