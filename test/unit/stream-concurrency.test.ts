// forEachStreamed: bounded concurrency over an async iterable (a backup file's objects as it is read).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { forEachStreamed } from '../../activities/stream-concurrency.ts';

/** 0..count-1, one per tick; records whether it was closed. */
function numbers(count: number) {
  const state = { closed: false, produced: 0 };
  async function* items() {
    try {
      for (let i = 0; i < count; i++) {
        await new Promise((r) => setImmediate(r));
        state.produced++;
        yield i;
      }
    } finally {
      state.closed = true;
    }
  }
  return { items: items(), state };
}

test('every item once, at most `limit` in flight, never more read ahead than taken', async () => {
  const { items, state } = numbers(200);
  const seen: number[] = [];
  let inFlight = 0;
  let most = 0;
  await forEachStreamed(items, 5, async (i) => {
    most = Math.max(most, ++inFlight);
    assert.ok(state.produced - seen.length <= 5, 'no item is read before a lane takes it');
    await sleep(1);
    seen.push(i);
    inFlight--;
  });
  assert.deepEqual(
    seen.sort((a, b) => a - b),
    [...Array(200).keys()],
  );
  assert.equal(most, 5);
});

test('after a failure no new item starts, the stream is closed, and the failure is thrown', async () => {
  const { items, state } = numbers(1000);
  let started = 0;
  await assert.rejects(
    forEachStreamed(items, 4, async (i) => {
      started++;
      await sleep(2);
      if (i === 10) throw new Error('write failed');
    }),
    /write failed/,
  );
  assert.ok(state.closed);
  assert.ok(started <= 14, `${started} started`);
});
