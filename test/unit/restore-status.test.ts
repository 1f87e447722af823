// A restored TaskRun's status write (restoreStatus): a PUT to the status subresource of its identity,
// resourceVersion and status only; on a conflict (someone wrote the TaskRun since) it reads the TaskRun
// again and writes on the new version, so the backed-up status is never skipped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { restoreStatus } from '../../activities/backup/restore.ts';
import type { KubeClients } from '../../activities/kube/client.ts';

const stored = {
  apiVersion: 'orchestrator.io/v1',
  kind: 'TaskRun',
  metadata: { name: 't-1', namespace: 'ns', resourceVersion: '5', uid: 'u', labels: { a: 'b' } },
  spec: { service: 's', taskId: 't', prompt: 'a long prompt' },
};
const status = { phase: 'Succeeded', jobName: 't-1-job' };

function fakeKube(conflicts: number) {
  const calls: { method: string; path: string; body?: unknown }[] = [];
  let version = 5;
  const json = async (method: string, path: string, body?: unknown) => {
    calls.push({ method, path, body });
    if (method === 'GET') return { ...stored, metadata: { ...stored.metadata, resourceVersion: String(version) } };
    if (conflicts-- > 0) {
      version++;
      throw new ApiException(409, 'PUT', { kind: 'Status', code: 409, message: 'the object has been modified' }, {});
    }
    return {};
  };
  return { kube: { json } as unknown as KubeClients, calls };
}

test('the status PUT carries identity, resourceVersion and status only', async () => {
  const { kube, calls } = fakeKube(0);
  await restoreStatus(kube, stored, status);
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.method, 'PUT');
  assert.match(calls[0]!.path, /^\/apis\/orchestrator\.io\/v1\/namespaces\/ns\/taskruns\/t-1\/status\?/);
  assert.deepEqual(calls[0]!.body, {
    apiVersion: 'orchestrator.io/v1',
    kind: 'TaskRun',
    metadata: { name: 't-1', namespace: 'ns', resourceVersion: '5' },
    status,
  });
});

test('a conflict reads the TaskRun again and writes the status on its new version', async () => {
  const { kube, calls } = fakeKube(2);
  await restoreStatus(kube, stored, status);
  assert.deepEqual(
    calls.map(
      (c) => `${c.method} ${(c.body as { metadata?: { resourceVersion?: string } })?.metadata?.resourceVersion ?? ''}`,
    ),
    ['PUT 5', 'GET ', 'PUT 6', 'GET ', 'PUT 7'],
  );
  assert.deepEqual((calls.at(-1)!.body as { status: unknown }).status, status);
});

test('any other error fails the write with its HTTP status', async () => {
  const kube = {
    json: async () => {
      throw new ApiException(422, 'PUT', { kind: 'Status', code: 422, message: 'status.phase: Unsupported value' }, {});
    },
  } as unknown as KubeClients;
  await assert.rejects(restoreStatus(kube, stored, status), /restore status of TaskRun ns\/t-1: HTTP 422/);
});
