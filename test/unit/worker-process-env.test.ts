// The worker process's environment: glibc's malloc tuned for a small idle RSS unless the caller chose otherwise.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { workerProcessEnv } from '../../worker/process-env.ts';

test('the worker process gets one malloc arena and a 128 KB trim threshold, or the values its caller set', () => {
  assert.deepEqual(workerProcessEnv({}), { MALLOC_ARENA_MAX: '1', MALLOC_TRIM_THRESHOLD_: '131072' });
  assert.deepEqual(workerProcessEnv({ MALLOC_ARENA_MAX: '8' }), {
    MALLOC_ARENA_MAX: '8',
    MALLOC_TRIM_THRESHOLD_: '131072',
  });
});
