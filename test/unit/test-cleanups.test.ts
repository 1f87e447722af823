// The test helpers' cleanups (test/helpers/cleanups.ts): a failed one does not keep the rest from running.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCleanups } from '../helpers/cleanups.ts';

test('every cleanup runs, last registered first, and each failure is reported', async () => {
  const ran: string[] = [];
  const step =
    (name: string, fails = false) =>
    async () => {
      ran.push(name);
      if (fails) throw new Error(`${name} failed`);
    };
  await assert.rejects(
    runCleanups([step('close server'), step('uncordon', true), step('delete namespace', true)]),
    (error: AggregateError) => {
      assert.deepEqual(
        error.errors.map((e: Error) => e.message),
        ['delete namespace failed', 'uncordon failed'],
      );
      return true;
    },
  );
  assert.deepEqual(ran, ['delete namespace', 'uncordon', 'close server']);
});

test('one failure is thrown as it is; none, nothing is thrown', async () => {
  await assert.rejects(runCleanups([async () => {}, async () => Promise.reject(new Error('only'))]), /^Error: only$/);
  await runCleanups([async () => {}]);
});
