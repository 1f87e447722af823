// Listing TaskRuns page by page (a fake API server): every page is read, whatever the caller (the
// controller's snapshot, cleanup, backup), and the list's resourceVersion comes back for the watch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import type { KubeClients } from '../../activities/kube/client.ts';
import { watchTaskRunChanges } from '../../activities/taskrun/watch.ts';
import { listTaskRuns } from '../../activities/kube/taskruns.ts';
import { countTaskRuns } from '../../activities/backup/capture.ts';

interface ListCall {
  limit?: number;
  _continue?: string;
  labelSelector?: string;
}

/** A fake of the calls a TaskRun list makes: raw CustomObjectsApi JSON, continue token in metadata.continue. */
function fakeKube(count: number, fail?: (req: ListCall, n: number) => unknown) {
  const calls: ListCall[] = [];
  const items = Array.from({ length: count }, (_, i) => ({
    metadata: {
      name: `tr-${i}`,
      namespace: 'ns',
      uid: `uid-${i}`,
      generation: 1,
      creationTimestamp: '2026-01-01T00:00:00Z',
      resourceVersion: String(100 + i),
    },
    spec: { service: 's', taskId: `t-${i}` },
    status: { phase: 'Succeeded' },
  }));
  const kube = {
    custom: {
      listNamespacedCustomObject: async (req: ListCall) => {
        calls.push(req);
        const err = fail?.(req, calls.length);
        if (err) throw err;
        const start = req._continue ? Number(req._continue) : 0;
        const limit = req.limit ?? items.length;
        const end = Math.min(items.length, start + limit);
        return {
          apiVersion: 'orchestrator.io/v1',
          kind: 'TaskRunList',
          items: items.slice(start, end),
          metadata: {
            resourceVersion: '777',
            ...(end < items.length ? { continue: String(end), remainingItemCount: items.length - end } : {}),
          },
        };
      },
    },
    apiextensions: { readCustomResourceDefinition: async () => ({}) },
    batch: { listNamespacedJob: async () => ({ items: [], metadata: { resourceVersion: '778' } }) },
    core: { listNamespacedConfigMap: async () => ({ items: [], metadata: { resourceVersion: '779' } }) },
  };
  return { kube: kube as unknown as KubeClients, calls };
}

test("the controller's snapshot reads every page of TaskRuns (continue token in metadata.continue) and keeps the list's resourceVersion", async () => {
  const { kube, calls } = fakeKube(8);
  const result = await watchTaskRunChanges(
    kube,
    { namespace: 'ns', configMapName: 'cfg', maxWaitSeconds: 1, activeTasks: 0 },
    { pageSize: 3 },
  );
  assert.equal(result.relisted, 'initial');
  assert.deepEqual(
    result.snapshot?.taskRuns.map((t) => t.name),
    Array.from({ length: 8 }, (_, i) => `tr-${i}`),
  );
  assert.deepEqual(result.cursor, { taskRuns: '777', jobs: '778', config: '779' });
  assert.deepEqual(
    calls.map((c) => c._continue ?? ''),
    ['', '3', '6'],
  );
});

test('listTaskRuns: all pages, the resourceVersion, streaming pages, one page with remainingItemCount, a missing CRD, an expired continue token', async () => {
  const { kube, calls } = fakeKube(8);
  const all = await listTaskRuns(kube, 'ns', { pageSize: 3 });
  assert.equal(all.items.length, 8);
  assert.equal(all.count, 8);
  assert.equal(all.resourceVersion, '777');
  assert.equal(all.complete, true);
  assert.deepEqual(
    calls.map((c) => c.limit),
    [3, 3, 3],
  );

  const seen: number[] = [];
  const streamed = await listTaskRuns(kube, 'ns', {
    pageSize: 5,
    keep: false,
    onPage: (items) => void seen.push(items.length),
  });
  assert.deepEqual([streamed.items.length, streamed.count, seen], [0, 8, [5, 3]]);

  const first = await listTaskRuns(kube, 'ns', { pageSize: 1, maxPages: 1, keep: false });
  assert.deepEqual([first.count, first.complete, first.remainingItemCount], [1, false, 7]);
  assert.equal(await countTaskRuns(kube, { namespace: 'ns', include: {} as never }), 8);

  const missing = fakeKube(8, () => new ApiException(404, 'not found', '{}', {})).kube;
  assert.deepEqual(await listTaskRuns(missing, 'ns', { crdMissing: 'empty' }), {
    items: [],
    resourceVersion: '',
    count: 0,
    complete: true,
    crdInstalled: false,
  });
  await assert.rejects(listTaskRuns(missing, 'ns'), { type: 'KubeNotFound' });

  // The second page's token expired once: the list starts again and returns every item once.
  const expiring = fakeKube(8, (req, n) =>
    req._continue && n === 2 ? new ApiException(410, 'Expired', '{"message":"continue token expired"}', {}) : undefined,
  );
  const again = await listTaskRuns(expiring.kube, 'ns', { pageSize: 3 });
  assert.deepEqual(
    again.items.map((t) => t.metadata.name),
    Array.from({ length: 8 }, (_, i) => `tr-${i}`),
  );
  assert.deepEqual(
    expiring.calls.map((c) => c._continue ?? ''),
    ['', '3', '', '3', '6'],
  );

  // Streamed: the pages given before the expiry are forgotten (onRestart), every item arrives once after it.
  const streaming = fakeKube(8, (req, n) =>
    req._continue && n === 2 ? new ApiException(410, 'Expired', '{"message":"continue token expired"}', {}) : undefined,
  );
  let names: string[] = [];
  await listTaskRuns(streaming.kube, 'ns', {
    pageSize: 3,
    keep: false,
    onPage: (items) => void names.push(...items.map((t) => t.metadata.name)),
    onRestart: () => (names = []),
  });
  assert.deepEqual(
    names,
    Array.from({ length: 8 }, (_, i) => `tr-${i}`),
  );
  // Without onRestart a streamed list cannot take its pages back: the expiry fails it.
  const failing = fakeKube(8, (req, n) =>
    req._continue && n === 2 ? new ApiException(410, 'Expired', '{"message":"continue token expired"}', {}) : undefined,
  );
  await assert.rejects(listTaskRuns(failing.kube, 'ns', { pageSize: 3, keep: false, onPage: () => undefined }));
});
