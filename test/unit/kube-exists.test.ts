// unlessStatus / readIfExists: the statuses that are answers (404 absent, 409 already there) come
// back as undefined; every other error is classified like any Kubernetes failure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { readIfExists, unlessStatus } from '../../activities/kube/exists.ts';
import { KUBE_FORBIDDEN } from '../../contract/failures.ts';

const httpError = (code: number) => new ApiException(code, `HTTP ${code}`, { message: `status ${code}` }, {});

test('a 404 read is undefined; a found object is returned', async () => {
  assert.equal(await readIfExists('namespace x', () => Promise.reject(httpError(404))), undefined);
  assert.deepEqual(await readIfExists('namespace x', async () => ({ name: 'x' })), { name: 'x' });
});

test('a status that is not an answer is a classified failure naming the call', async () => {
  await assert.rejects(
    unlessStatus('create namespace x', [409], () => Promise.reject(httpError(403))),
    (err) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, KUBE_FORBIDDEN);
      assert.match(err.message, /create namespace x/);
      return true;
    },
  );
  assert.equal(await unlessStatus('create namespace x', [409], () => Promise.reject(httpError(409))), undefined);
});
