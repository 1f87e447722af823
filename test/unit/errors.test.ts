import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { classifyStatus, kubeCall, statusMessage, toKubeFailure } from '../../activities/errors.ts';
import {
  KUBE_CONFLICT,
  KUBE_FORBIDDEN,
  KUBE_INVALID,
  KUBE_NOT_FOUND,
  KUBE_UNAVAILABLE,
} from '../../contract/failures.ts';

test('HTTP statuses map to failure types and retryability', () => {
  const cases: [number, string, boolean][] = [
    [403, KUBE_FORBIDDEN, false],
    [401, KUBE_FORBIDDEN, false],
    [404, KUBE_NOT_FOUND, false],
    [422, KUBE_INVALID, false],
    [400, KUBE_INVALID, false],
    [409, KUBE_CONFLICT, true],
    [429, KUBE_UNAVAILABLE, true],
    [500, KUBE_UNAVAILABLE, true],
    [503, KUBE_UNAVAILABLE, true],
    [504, KUBE_UNAVAILABLE, true],
  ];
  for (const [code, type, retryable] of cases) {
    assert.deepEqual(classifyStatus(code), { type, retryable }, `HTTP ${code}`);
  }
});

test('an ApiException becomes an ApplicationFailure carrying the V1Status message', () => {
  const body = JSON.stringify({ kind: 'Status', message: 'pods "x" is forbidden: User "bob" cannot get', code: 403 });
  const failure = toKubeFailure(new ApiException(403, 'Forbidden', body, {}), 'read pod x');
  assert.ok(failure instanceof ApplicationFailure);
  assert.equal(failure.type, KUBE_FORBIDDEN);
  assert.equal(failure.nonRetryable, true);
  assert.match(failure.message, /read pod x: HTTP 403 pods "x" is forbidden/);
});

test('connection errors, even nested as causes, are retryable KubeUnavailable', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
  const failure = toKubeFailure(new TypeError('fetch failed', { cause: refused }), 'list nodes');
  assert.equal(failure.type, KUBE_UNAVAILABLE);
  assert.equal(failure.nonRetryable, false);
  assert.match(failure.message, /ECONNREFUSED/);
});

test('kubeCall passes results through and classifies throws', async () => {
  assert.equal(await kubeCall('x', async () => 42), 42);
  await assert.rejects(
    kubeCall('delete thing', async () => {
      throw new ApiException(422, 'Unprocessable', '{"message":"spec.replicas: Invalid value"}', {});
    }),
    (err: unknown) =>
      err instanceof ApplicationFailure && err.type === KUBE_INVALID && /spec.replicas/.test(err.message),
  );
});

test('statusMessage reads JSON and plain bodies', () => {
  assert.equal(statusMessage({ message: 'm' }), 'm');
  assert.equal(statusMessage('{"message":"n"}'), 'n');
  assert.equal(statusMessage('plain text'), 'plain text');
  assert.equal(statusMessage(undefined), undefined);
});
