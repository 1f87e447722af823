// The worker process's environment: two malloc arenas unless the caller chose a number.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { workerProcessEnv } from '../../worker/process-env.ts';

test('the worker process gets MALLOC_ARENA_MAX=2, or the value its caller set', () => {
  assert.deepEqual(workerProcessEnv({}), { MALLOC_ARENA_MAX: '2' });
  assert.deepEqual(workerProcessEnv({ MALLOC_ARENA_MAX: '8' }), { MALLOC_ARENA_MAX: '8' });
});
