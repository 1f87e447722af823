// The controller's view of a namespace, kept on the worker: every TaskRun and agent Job the watch
// has seen (however many), and what of it the controller workflow has been sent. A watch result
// carries only the view's differences, in batches under a byte budget: TaskRuns with a Job (at most
// about maxConcurrentTasks), the oldest `window` jobless pending ones (the next to get a slot), and
// the sent ones that changed or went. The other pending TaskRuns wait here, counted as `queued`,
// and enter the view as slots free up. Pure (no I/O): unit-tested with 10,000 TaskRuns.
import {
  TERMINAL_PHASES,
  type ObservedJob,
  type ObservedTaskRun,
  type WatchChange,
  type WatchResult,
} from '../../contract/types/taskrun.ts';

/** Jobless pending TaskRuns in the view by default: the next ones to get a slot. */
export const DEFAULT_VIEW_WINDOW = 300;
/** A watch result's budget (JSON bytes): well under Temporal's 2 MB payload limit, and the 512 KB target. */
export const RESULT_BUDGET_BYTES = 256 * 1024;

interface Sent {
  uid: string;
  /** What was sent of it: its fingerprint, and the object itself (the same object has not changed: foldRaw replaces, never edits). */
  fp: string;
  ref: ObservedTaskRun;
  /** Its Job as sent: its name, JSON and object (a Job that goes is reported once). */
  job?: string;
  jobFp?: string;
  jobRef?: ObservedJob;
}

export interface NamespaceView {
  taskRuns: Map<string, ObservedTaskRun>;
  /**
   * The names of the TaskRuns the controller acts on (unfinished, not being restored), split by
   * whether they have a Job: what each pass reads, kept by `reindex` as things change, so that a
   * pass costs the live TaskRuns, not the finished ones that pile up by the thousand.
   */
  jobless: Set<string>;
  withJob: Set<string>;
  /** Agent Jobs by owner `name/uid` (one per TaskRun: the name is derived from it). */
  jobs: Map<string, ObservedJob>;
  sent: Map<string, Sent>;
  /** Finished TaskRuns the workflow was told of, name -> uid: their deletion is reported too (it ends their record). */
  finishedTold: Map<string, string>;
  /** Sequence number of the last result (the workflow acknowledges it in its next request). */
  seq: number;
  /** TaskRuns (name -> uid) whose hot-path creation failed: the workflow creates their Jobs (and reports why not). */
  handedOver: Map<string, string>;
}

export const emptyView = (): NamespaceView => ({
  taskRuns: new Map(),
  jobless: new Set(),
  withJob: new Set(),
  jobs: new Map(),
  sent: new Map(),
  finishedTold: new Map(),
  seq: 0,
  handedOver: new Map(),
});

const ownerKey = (name: string, uid: string) => `${name}/${uid}`;
const terminal = (t: ObservedTaskRun) => t.status?.phase !== undefined && TERMINAL_PHASES.includes(t.status.phase);

/** Folds a raw watch result (a full list, or changes) into the view; a list replaces what is known. */
export function foldRaw(view: NamespaceView, raw: Pick<WatchResult, 'snapshot' | 'changes'>): void {
  if (raw.snapshot) {
    view.taskRuns = new Map(raw.snapshot.taskRuns.map((t) => [t.name, t]));
    // A finished Job the list no longer has (TTL) keeps its outcome for a sent TaskRun not yet told.
    const kept = [...view.jobs].filter(([, j]) => j.outcome && view.sent.has(j.ownerName));
    view.jobs = new Map([...kept, ...raw.snapshot.jobs.map((j) => [ownerKey(j.ownerName, j.ownerUid), j] as const)]);
    for (const [name, uid] of view.handedOver) if (view.taskRuns.get(name)?.uid !== uid) view.handedOver.delete(name);
    view.jobless.clear();
    view.withJob.clear();
    for (const name of view.taskRuns.keys()) reindex(view, name);
  }
  for (const c of raw.changes) {
    if (c.kind === 'taskRun') {
      if (c.type === 'upsert') view.taskRuns.set(c.taskRun.name, c.taskRun);
      else if (view.taskRuns.get(c.name)?.uid === c.uid) view.taskRuns.delete(c.name);
      reindex(view, c.type === 'upsert' ? c.taskRun.name : c.name);
    } else if (c.type === 'upsert') {
      view.jobs.set(ownerKey(c.job.ownerName, c.job.ownerUid), c.job);
      reindex(view, c.job.ownerName);
    } else {
      const key = ownerKey(c.ownerName, c.ownerUid);
      // A watch delivers a Job's outcome before its deletion: a finished one is kept until its TaskRun is told.
      if (view.jobs.get(key)?.name === c.name && !view.jobs.get(key)?.outcome) view.jobs.delete(key);
      reindex(view, c.ownerName);
    }
  }
}

/** Puts a TaskRun name in the index that its TaskRun and Job now say (or in none). */
function reindex(view: NamespaceView, name: string): void {
  const t = view.taskRuns.get(name);
  view.jobless.delete(name);
  view.withJob.delete(name);
  if (t && !terminal(t) && !t.restorePending) (hasJob(view, t) ? view.withJob : view.jobless).add(name);
}

/**
 * What of a TaskRun the workflow must hear again when it changes: all of it but an unfinished status.
 * Those are the workflow's own writes coming back (it reads a followed TaskRun's status only once it
 * is final); sending them cost a change, and often a round, per status write.
 */
const fingerprint = (t: ObservedTaskRun) => JSON.stringify(terminal(t) || !t.status ? t : { ...t, status: undefined });

const jobOf = (view: NamespaceView, t: ObservedTaskRun) => view.jobs.get(ownerKey(t.name, t.uid));
/** Has (or had) a Job: counts against maxConcurrentTasks, or must be told that its Job is lost. */
const hasJob = (view: NamespaceView, t: ObservedTaskRun) => Boolean(jobOf(view, t) || t.status?.jobName);

/**
 * The TaskRuns whose Jobs the watch creates itself (the hot path): the oldest jobless pending ones
 * the workflow has not been sent, within `budget` (hotPathBudget: the workflow's free slots minus
 * the TaskRuns it will create Jobs for) less the unsent ones that have a Job already (created by an
 * earlier call whose result has not gone out, or by a crashed attempt), and at most `max`.
 */
export function jobsToCreateAhead(view: NamespaceView, budget: number, max: number): ObservedTaskRun[] {
  const free = Math.min(max, freeForHotPath(view, budget));
  if (free <= 0) return [];
  const candidates: ObservedTaskRun[] = [];
  for (const name of view.jobless) if (hotPathMayCreate(view, name)) candidates.push(view.taskRuns.get(name)!);
  return oldest(candidates, free);
}

/** jobsToCreateAhead would create at least one Job (checked as each watch batch arrives: stops at the first). */
export function canCreateAhead(view: NamespaceView, budget: number): boolean {
  if (freeForHotPath(view, budget) <= 0) return false;
  for (const name of view.jobless) if (hotPathMayCreate(view, name)) return true;
  return false;
}

function freeForHotPath(view: NamespaceView, budget: number): number {
  let unsentWithJob = 0;
  for (const name of view.withJob) if (!view.sent.has(name)) unsentWithJob++;
  return budget - unsentWithJob;
}

const hotPathMayCreate = (view: NamespaceView, name: string) =>
  !view.sent.has(name) && view.handedOver.get(name) !== view.taskRuns.get(name)!.uid;

/** Records the Job the hot path created (or found): sent with its TaskRun until the watch reports the Job itself. */
export function recordCreatedJob(view: NamespaceView, t: ObservedTaskRun, jobName: string): void {
  const key = ownerKey(t.name, t.uid);
  if (!view.jobs.has(key)) view.jobs.set(key, { name: jobName, ownerName: t.name, ownerUid: t.uid, active: 0 });
  reindex(view, t.name);
}

/** The hot path could not create this TaskRun's Job: the workflow does, in its turn (with its retries and rejections). */
export function handOver(view: NamespaceView, t: ObservedTaskRun): void {
  view.handedOver.set(t.name, t.uid);
}

// Plain code-unit order: timestamps are ISO strings, names DNS labels (localeCompare cost ~1 µs a call).
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byAge = (a: ObservedTaskRun, b: ObservedTaskRun) =>
  compare(a.creationTimestamp ?? '', b.creationTimestamp ?? '') || compare(a.name, b.name);

/** The k oldest, oldest first, without sorting them all (thousands wait; a few hundred are taken). */
export function oldest(items: ObservedTaskRun[], k: number): ObservedTaskRun[] {
  if (items.length <= k) return items.sort(byAge);
  const top: ObservedTaskRun[] = [];
  for (const t of items) {
    if (top.length === k && byAge(t, top[k - 1]!) >= 0) continue;
    let lo = 0;
    let hi = top.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (byAge(top[mid]!, t) <= 0) lo = mid + 1;
      else hi = mid;
    }
    top.splice(lo, 0, t);
    if (top.length > k) top.pop();
  }
  return top;
}

export interface ViewOptions {
  /** Jobless pending TaskRuns in the view at most. */
  window: number;
  budgetBytes: number;
  /** Forget what was sent: the result is a snapshot of the view (a new workflow run, a lost result, a relist). */
  reset?: boolean;
}

export interface ViewDiff {
  snapshot?: { taskRuns: ObservedTaskRun[]; jobs: ObservedJob[]; view: true };
  changes: WatchChange[];
  /** Jobless pending TaskRuns not in the view. */
  queued: number;
  /** More differences than the budget allowed: the next call returns them at once. */
  more?: true;
  seq: number;
}

/** The view's differences since the last result (all of it on reset), at most budgetBytes of them; records them as sent. */
export function diffView(view: NamespaceView, opts: ViewOptions): ViewDiff {
  if (opts.reset) {
    view.sent.clear();
    view.finishedTold.clear();
  }
  const changes: WatchChange[] = [];
  const snapTaskRuns: ObservedTaskRun[] = [];
  const snapJobs: ObservedJob[] = [];
  let bytes = 0;
  let more = false;
  const fits = (items: unknown[]) => {
    const size = items.reduce<number>((n, i) => n + JSON.stringify(i).length + 1, 0);
    if (bytes > 0 && bytes + size > opts.budgetBytes) {
      more = true;
      return false;
    }
    bytes += size;
    return true;
  };
  /** Sends a TaskRun (and its Job): false when the budget is spent. */
  const send = (t: ObservedTaskRun): boolean => {
    const job = jobOf(view, t);
    const before = view.sent.get(t.name)?.uid === t.uid ? view.sent.get(t.name) : undefined;
    if (before && before.ref === t && before.jobRef === job) return true;
    const fp = fingerprint(t);
    const jobFp = job ? JSON.stringify(job) : undefined;
    if (before && before.fp === fp && before.jobFp === jobFp) {
      view.sent.set(t.name, { ...before, ref: t, ...(job ? { jobRef: job } : {}) });
      return true;
    }
    // Only what changed: a TaskRun re-sent with a stale status would be followed again after it finished.
    const items: unknown[] = opts.reset
      ? [t, ...(job ? [job] : [])]
      : [
          ...(before?.fp !== fp ? [{ kind: 'taskRun', type: 'upsert', taskRun: t }] : []),
          ...(job
            ? before?.jobFp !== jobFp
              ? [{ kind: 'job', type: 'upsert', job }]
              : []
            : before?.job
              ? [{ kind: 'job', type: 'delete', name: before.job, ownerName: t.name, ownerUid: t.uid }]
              : []),
        ];
    if (!fits(items)) return false;
    if (opts.reset) {
      snapTaskRuns.push(t);
      if (job) snapJobs.push(job);
    } else {
      changes.push(...(items as WatchChange[]));
    }
    if (terminal(t)) {
      view.sent.delete(t.name); // told: it leaves the view
      view.finishedTold.set(t.name, t.uid);
    } else view.sent.set(t.name, { uid: t.uid, fp, ref: t, ...(job ? { job: job.name, jobFp, jobRef: job } : {}) });
    return true;
  };

  // The sent ones: gone, recreated, or changed.
  for (const [name, s] of [...view.sent]) {
    if (more) break;
    const t = view.taskRuns.get(name);
    if (!t || t.uid !== s.uid) {
      if (!fits([{ kind: 'taskRun', type: 'delete', name, uid: s.uid }])) break;
      changes.push({ kind: 'taskRun', type: 'delete', name, uid: s.uid });
      view.sent.delete(name);
      continue;
    }
    send(t);
  }
  // Finished ones the workflow knows of that were deleted (or recreated): their record ends.
  for (const [name, uid] of [...view.finishedTold]) {
    if (more) break;
    if (view.taskRuns.get(name)?.uid === uid) continue;
    if (!fits([{ kind: 'taskRun', type: 'delete', name, uid }])) break;
    changes.push({ kind: 'taskRun', type: 'delete', name, uid });
    view.finishedTold.delete(name);
  }
  // TaskRuns with a Job (or one named in their status) that are not in the view yet.
  if (!more) {
    for (const name of view.withJob) {
      if (view.sent.has(name)) continue;
      if (!send(view.taskRuns.get(name)!)) break;
    }
  }
  // The head of the queue: the oldest jobless pending ones, up to the window.
  let inWindow = 0;
  for (const name of view.sent.keys()) if (view.jobless.has(name)) inWindow++;
  let queued = 0;
  for (const name of view.jobless) if (!view.sent.has(name)) queued++;
  if (!more && inWindow < opts.window && queued > 0) {
    const queue: ObservedTaskRun[] = [];
    for (const name of view.jobless) if (!view.sent.has(name)) queue.push(view.taskRuns.get(name)!);
    for (const t of oldest(queue, opts.window - inWindow)) {
      if (!send(t)) break;
      queued--;
    }
  }
  view.seq++;
  return {
    ...(opts.reset ? { snapshot: { taskRuns: snapTaskRuns, jobs: snapJobs, view: true as const } } : {}),
    changes,
    queued,
    seq: view.seq,
    ...(more ? { more: true as const } : {}),
  };
}

/** The view has differences to send now (so the watch need not wait for a change). */
export function viewPending(view: NamespaceView, window: number): boolean {
  let inWindow = 0;
  for (const [name, s] of view.sent) {
    const t = view.taskRuns.get(name);
    if (!t || t.uid !== s.uid) return true;
    const job = jobOf(view, t);
    if (t !== s.ref && fingerprint(t) !== s.fp) return true;
    if (job !== s.jobRef && (job ? JSON.stringify(job) : undefined) !== s.jobFp) return true;
    if (view.jobless.has(name)) inWindow++;
  }
  for (const [name, uid] of view.finishedTold) if (view.taskRuns.get(name)?.uid !== uid) return true;
  for (const name of view.withJob) if (!view.sent.has(name)) return true;
  if (inWindow < window) for (const name of view.jobless) if (!view.sent.has(name)) return true;
  return false;
}
