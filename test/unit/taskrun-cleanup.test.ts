// cleanupTaskRuns' activities with 25,000 old TaskRuns (a fake API server): the plan and the
// deletion return counts and bounded samples (never every name: a workflow payload is at most
// 2 MB), delete page by page with bounded concurrency, report progress, and a retried deletion
// counts what an earlier attempt did.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import type { KubeClients } from '../../activities/kube/client.ts';
import { CLEANUP_SAMPLE, deleteOldTaskRuns, planTaskRunCleanup } from '../../activities/taskrun/cleanup.ts';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const DAY = 24 * 3600 * 1000;
const iso = (ms: number) => new Date(ms).toISOString();

interface Fake {
  name: string;
  uid: string;
  phase?: string;
  completionTime?: string;
  keep?: boolean;
}

/** TaskRuns: 25,000 old Succeeded, 2,000 old Failed (500 of them labelled keep), 1,000 recent, 100 running. */
function population(): Fake[] {
  const runs: Fake[] = [];
  for (let i = 0; i < 25_000; i++)
    runs.push({ name: `ok-${i}`, uid: `u-ok-${i}`, phase: 'Succeeded', completionTime: iso(NOW - 10 * DAY) });
  for (let i = 0; i < 2_000; i++)
    runs.push({
      name: `bad-${i}`,
      uid: `u-bad-${i}`,
      phase: 'Failed',
      completionTime: iso(NOW - 5 * DAY),
      keep: i < 500,
    });
  for (let i = 0; i < 1_000; i++)
    runs.push({ name: `recent-${i}`, uid: `u-recent-${i}`, phase: 'Succeeded', completionTime: iso(NOW - DAY) });
  for (let i = 0; i < 100; i++) runs.push({ name: `run-${i}`, uid: `u-run-${i}`, phase: 'Running' });
  return runs;
}

function fakeKube(runs: Fake[], opts: { deleteDelayMs?: number; failAfterDeletes?: number } = {}) {
  const live = new Map(runs.map((r) => [r.name, r]));
  const stats = { inFlight: 0, maxInFlight: 0, deletes: 0, lists: 0 };
  const kube = {
    custom: {
      listNamespacedCustomObject: async (req: { limit?: number; _continue?: string }) => {
        stats.lists++;
        // Like etcd: in key order, the continue token is the last key returned (deletions do not shift pages).
        const all = [...live.values()]
          .sort((a, b) => a.name.localeCompare(b.name))
          .filter((r) => !req._continue || r.name > req._continue);
        const page = all.slice(0, req.limit ?? all.length);
        return {
          items: page.map((r) => ({
            metadata: {
              name: r.name,
              namespace: 'ns',
              uid: r.uid,
              creationTimestamp: iso(NOW - 30 * DAY),
              ...(r.keep ? { labels: { 'taskrun.orchestrator.io/keep': 'true' } } : {}),
            },
            spec: { service: 's', taskId: r.name },
            ...(r.phase
              ? { status: { phase: r.phase, ...(r.completionTime ? { completionTime: r.completionTime } : {}) } }
              : {}),
          })),
          metadata: { resourceVersion: '9', ...(page.length < all.length ? { continue: page.at(-1)!.name } : {}) },
        };
      },
      deleteNamespacedCustomObject: async (req: { name: string; body: { preconditions: { uid: string } } }) => {
        if (opts.failAfterDeletes !== undefined && stats.deletes >= opts.failAfterDeletes)
          throw new ApiException(503, 'unavailable', '{"message":"etcd leader changed"}', {});
        stats.inFlight++;
        stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
        try {
          if (opts.deleteDelayMs) await new Promise((r) => setTimeout(r, opts.deleteDelayMs));
          const r = live.get(req.name);
          if (!r) throw new ApiException(404, 'not found', '{}', {});
          if (r.uid !== req.body.preconditions.uid) throw new ApiException(409, 'conflict', '{}', {});
          live.delete(req.name);
          stats.deletes++;
          return {};
        } finally {
          stats.inFlight--;
        }
      },
    },
  };
  return { kube: kube as unknown as KubeClients, live, stats };
}

const criteria = {
  namespace: 'ns',
  succeededMaxAgeSeconds: 7 * 24 * 3600,
  failedMaxAgeSeconds: 3 * 24 * 3600,
  keepLabel: 'taskrun.orchestrator.io/keep',
  asOf: iso(NOW),
};

test('the plan for 25,000 old TaskRuns: counts by phase and bounded samples, a small result', async () => {
  const { kube, stats } = fakeKube(population());
  const plan = await planTaskRunCleanup(kube, criteria);
  assert.equal(plan.scanned, 28_100);
  assert.deepEqual(plan.toDelete, { Succeeded: 25_000, Failed: 1_500 });
  assert.equal(plan.kept, 500);
  assert.ok(plan.samples.delete.length <= CLEANUP_SAMPLE && plan.samples.delete.length > 0);
  assert.ok(plan.samples.kept.length <= CLEANUP_SAMPLE);
  const size = JSON.stringify(plan).length;
  assert.ok(size < 10_000, `the plan is ${size} bytes`);
  assert.ok(stats.lists >= 57, 'read page by page');
});

test('deleting 25,000 old TaskRuns: page by page, at most `concurrency` deletes in flight, progress reported, counts and samples returned', async () => {
  const { kube, live, stats } = fakeKube(population(), { deleteDelayMs: 1 });
  const progress: unknown[] = [];
  const started = Date.now();
  const result = await deleteOldTaskRuns(kube, criteria, { concurrency: 16, onProgress: (p) => void progress.push(p) });
  assert.deepEqual(result.deleted, { Succeeded: 25_000, Failed: 1_500 });
  assert.equal(result.alreadyGone, 0);
  assert.equal(result.kept, 500);
  assert.equal(live.size, 28_100 - 26_500);
  assert.ok(stats.maxInFlight <= 16 && stats.maxInFlight > 1, `max ${stats.maxInFlight} deletes in flight`);
  assert.ok(progress.length >= 50, `${progress.length} progress reports`);
  assert.ok(result.samples.deleted.length <= CLEANUP_SAMPLE);
  const size = JSON.stringify(result).length;
  assert.ok(size < 10_000, `the result is ${size} bytes`);
  assert.ok(Date.now() - started < 30_000);
  // Nothing left to do: a second run deletes nothing.
  assert.deepEqual((await deleteOldTaskRuns(kube, criteria)).deleted, { Succeeded: 0, Failed: 0 });
});

test('a deletion that fails midway throws; the retried attempt resumes from the reported progress and counts it', async () => {
  const runs = population().slice(0, 3_000);
  const fake = fakeKube(runs, { failAfterDeletes: 1_000 });
  let last: unknown;
  await assert.rejects(deleteOldTaskRuns(fake.kube, criteria, { onProgress: (p) => void (last = p) }), {
    type: 'KubeUnavailable',
  });
  const resumed = fakeKube([...fake.live.values()]);
  const result = await deleteOldTaskRuns(resumed.kube, criteria, { resumeFrom: last as never });
  assert.equal(result.deleted.Succeeded, 3_000);
  assert.equal(resumed.live.size, 0);
});

test('a TaskRun recreated under the same name (409) or already deleted (404) is counted as already gone', async () => {
  const fake = fakeKube(population().slice(0, 10));
  const kube = fake.kube as unknown as {
    custom: { deleteNamespacedCustomObject: (r: { name: string }) => Promise<unknown> };
  };
  const original = kube.custom.deleteNamespacedCustomObject;
  kube.custom.deleteNamespacedCustomObject = async (r) => {
    if (r.name === 'ok-3') throw new ApiException(409, 'precondition', '{}', {});
    if (r.name === 'ok-4') throw new ApiException(404, 'gone', '{}', {});
    return original(r as never);
  };
  const result = await deleteOldTaskRuns(fake.kube, criteria);
  assert.deepEqual([result.deleted.Succeeded, result.alreadyGone], [8, 2]);
  assert.deepEqual(result.samples.alreadyGone.sort(), ['ok-3', 'ok-4']);
});
