// The view's index of live TaskRuns (activities/taskrun/view.ts: `jobless`, `withJob`), kept as
// watch changes arrive so that a pass over the view costs the live TaskRuns, not the finished ones.
// After every change of a random sequence (TaskRuns created, finished, restored, recreated under
// the same name, deleted; Jobs created, finished, deleted; relists), the index must equal what the
// view's maps say, and the hot path's quick check must agree with its full answer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  canCreateAhead,
  emptyView,
  foldRaw,
  handOver,
  jobsToCreateAhead,
  oldest,
  recordCreatedJob,
  type NamespaceView,
} from '../../activities/taskrun/view.ts';
import { jobNameFor } from '../../contract/taskrun-job-name.ts';
import type { ObservedJob, ObservedTaskRun, WatchChange } from '../../contract/types/taskrun.ts';

/** A small deterministic generator (the sequence is the same on every run). */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

const taskRun = (i: number, uid: string, phase?: 'Running' | 'Succeeded', restorePending = false): ObservedTaskRun => ({
  name: `tr-${i}`,
  uid,
  generation: 1,
  creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i % 7)).toISOString(),
  spec: { service: 'checkout', taskId: `task-${i}` },
  ...(phase ? { status: { phase } } : {}),
  ...(restorePending ? { restorePending: true as const } : {}),
});
const jobFor = (t: ObservedTaskRun, outcome?: 'Succeeded'): ObservedJob => ({
  name: jobNameFor(t.name, t.uid),
  ownerName: t.name,
  ownerUid: t.uid,
  active: outcome ? 0 : 1,
  ...(outcome ? { outcome } : {}),
});

/** The index as the view's maps define it. */
function expectedIndex(view: NamespaceView): { jobless: string[]; withJob: string[] } {
  const jobless: string[] = [];
  const withJob: string[] = [];
  for (const t of view.taskRuns.values()) {
    const finished = t.status?.phase === 'Succeeded' || t.status?.phase === 'Failed';
    if (finished || t.restorePending) continue;
    const hasJob = view.jobs.has(`${t.name}/${t.uid}`) || Boolean(t.status?.jobName);
    (hasJob ? withJob : jobless).push(t.name);
  }
  return { jobless: jobless.sort(), withJob: withJob.sort() };
}

test('the live index equals what the view says after every change; canCreateAhead agrees with jobsToCreateAhead', () => {
  const next = random(16);
  const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)]!;
  const view = emptyView();
  let uids = 0;
  for (let step = 0; step < 3000; step++) {
    const i = Math.floor(next() * 40);
    const current = view.taskRuns.get(`tr-${i}`);
    const roll = next();
    let change: WatchChange | undefined;
    if (!current || roll < 0.1) {
      change = { kind: 'taskRun', type: 'upsert', taskRun: taskRun(i, `uid-${uids++}`, undefined, next() < 0.1) };
    } else if (roll < 0.3) {
      change = { kind: 'taskRun', type: 'upsert', taskRun: taskRun(i, current.uid, pick(['Running', 'Succeeded'])) };
    } else if (roll < 0.4) {
      change = { kind: 'taskRun', type: 'delete', name: current.name, uid: current.uid };
    } else if (roll < 0.6) {
      change = { kind: 'job', type: 'upsert', job: jobFor(current, next() < 0.5 ? 'Succeeded' : undefined) };
    } else if (roll < 0.7) {
      const job = jobFor(current);
      change = { kind: 'job', type: 'delete', name: job.name, ownerName: job.ownerName, ownerUid: job.ownerUid };
    } else if (roll < 0.8) {
      recordCreatedJob(view, current, jobNameFor(current.name, current.uid));
    } else if (roll < 0.85) {
      handOver(view, current);
    } else if (roll < 0.88) {
      foldRaw(view, {
        snapshot: { taskRuns: [...view.taskRuns.values()], jobs: [...view.jobs.values()] },
        changes: [],
      });
    } else if (roll < 0.95) {
      view.sent.set(current.name, { uid: current.uid, fp: JSON.stringify(current), ref: current });
    } else {
      view.sent.delete(current.name);
    }
    if (change) foldRaw(view, { changes: [change] });

    const expected = expectedIndex(view);
    assert.deepEqual([...view.jobless].sort(), expected.jobless, `jobless after step ${step}`);
    assert.deepEqual([...view.withJob].sort(), expected.withJob, `withJob after step ${step}`);
    const budget = Math.floor(next() * 6);
    assert.equal(
      canCreateAhead(view, budget),
      jobsToCreateAhead(view, budget, 100).length > 0,
      `canCreateAhead at step ${step}`,
    );
  }
});

test('oldest: the k oldest by creation time then name, the same as sorting them all', () => {
  const next = random(7);
  const items = Array.from({ length: 500 }, (_, i) => taskRun(Math.floor(next() * 1000), `u-${i}`));
  const sorted = [...items].sort(
    (a, b) =>
      (a.creationTimestamp! < b.creationTimestamp! ? -1 : a.creationTimestamp! > b.creationTimestamp! ? 1 : 0) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  for (const k of [1, 5, 100, 499, 500, 600])
    assert.deepEqual(
      oldest([...items], k).map((t) => `${t.creationTimestamp} ${t.name}`),
      sorted.slice(0, k).map((t) => `${t.creationTimestamp} ${t.name}`),
      `k = ${k}`,
    );
});
