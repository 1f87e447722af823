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
  /** What was sent of it: its JSON. */
  fp: string;
  /** Its Job as sent: its name and JSON (a Job that goes is reported once). */
  job?: string;
  jobFp?: string;
}

export interface NamespaceView {
  taskRuns: Map<string, ObservedTaskRun>;
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
  }
  for (const c of raw.changes) {
    if (c.kind === 'taskRun') {
      if (c.type === 'upsert') view.taskRuns.set(c.taskRun.name, c.taskRun);
      else if (view.taskRuns.get(c.name)?.uid === c.uid) view.taskRuns.delete(c.name);
    } else if (c.type === 'upsert') {
      view.jobs.set(ownerKey(c.job.ownerName, c.job.ownerUid), c.job);
    } else {
      const key = ownerKey(c.ownerName, c.ownerUid);
      // A watch delivers a Job's outcome before its deletion: a finished one is kept until its TaskRun is told.
      if (view.jobs.get(key)?.name === c.name && !view.jobs.get(key)?.outcome) view.jobs.delete(key);
    }
  }
}

const jobOf = (view: NamespaceView, t: ObservedTaskRun) => view.jobs.get(ownerKey(t.name, t.uid));
/** Has (or had) a Job: counts against maxConcurrentTasks, or must be told that its Job is lost. */
const hasJob = (view: NamespaceView, t: ObservedTaskRun) => Boolean(jobOf(view, t) || t.status?.jobName);
const waiting = (view: NamespaceView, t: ObservedTaskRun) => !terminal(t) && !t.restorePending && !hasJob(view, t);

/**
 * The TaskRuns whose Jobs the watch creates itself (the hot path): the oldest jobless pending ones
 * the workflow has not been sent, within `budget` (hotPathBudget: the workflow's free slots minus
 * the TaskRuns it will create Jobs for) less the unsent ones that have a Job already (created by an
 * earlier call whose result has not gone out, or by a crashed attempt), and at most `max`.
 */
export function jobsToCreateAhead(view: NamespaceView, budget: number, max: number): ObservedTaskRun[] {
  let unsentWithJob = 0;
  const candidates: ObservedTaskRun[] = [];
  for (const t of view.taskRuns.values()) {
    if (view.sent.has(t.name) || terminal(t) || t.restorePending) continue;
    if (hasJob(view, t)) unsentWithJob++;
    else if (view.handedOver.get(t.name) !== t.uid) candidates.push(t);
  }
  const free = Math.min(max, budget - unsentWithJob);
  if (free <= 0) return [];
  return candidates.sort(byAge).slice(0, free);
}

/** Records the Job the hot path created (or found): sent with its TaskRun until the watch reports the Job itself. */
export function recordCreatedJob(view: NamespaceView, t: ObservedTaskRun, jobName: string): void {
  const key = ownerKey(t.name, t.uid);
  if (!view.jobs.has(key)) view.jobs.set(key, { name: jobName, ownerName: t.name, ownerUid: t.uid, active: 0 });
}

/** The hot path could not create this TaskRun's Job: the workflow does, in its turn (with its retries and rejections). */
export function handOver(view: NamespaceView, t: ObservedTaskRun): void {
  view.handedOver.set(t.name, t.uid);
}

const byAge = (a: ObservedTaskRun, b: ObservedTaskRun) =>
  (a.creationTimestamp ?? '').localeCompare(b.creationTimestamp ?? '') || a.name.localeCompare(b.name);

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
    const fp = JSON.stringify(t);
    const jobFp = job ? JSON.stringify(job) : undefined;
    const before = view.sent.get(t.name)?.uid === t.uid ? view.sent.get(t.name) : undefined;
    if (before && before.fp === fp && before.jobFp === jobFp) return true;
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
    } else view.sent.set(t.name, { uid: t.uid, fp, ...(job ? { job: job.name, jobFp } : {}) });
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
    for (const t of view.taskRuns.values()) {
      if (view.sent.has(t.name) || terminal(t) || t.restorePending || !hasJob(view, t)) continue;
      if (!send(t)) break;
    }
  }
  // The head of the queue: the oldest jobless pending ones, up to the window.
  let inWindow = 0;
  for (const name of view.sent.keys()) {
    const t = view.taskRuns.get(name);
    if (t && waiting(view, t)) inWindow++;
  }
  const queue = [...view.taskRuns.values()].filter((t) => waiting(view, t) && !view.sent.has(t.name));
  if (!more && inWindow < opts.window) {
    queue.sort(byAge);
    for (const t of queue.slice(0, opts.window - inWindow)) if (!send(t)) break;
  }
  let queued = 0;
  for (const t of queue) if (!view.sent.has(t.name)) queued++;
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
    if (JSON.stringify(t) !== s.fp || (job ? JSON.stringify(job) : undefined) !== s.jobFp) return true;
    if (waiting(view, t)) inWindow++;
  }
  for (const [name, uid] of view.finishedTold) if (view.taskRuns.get(name)?.uid !== uid) return true;
  for (const t of view.taskRuns.values()) {
    if (view.sent.has(t.name) || terminal(t) || t.restorePending) continue;
    if (hasJob(view, t) || inWindow < window) return true;
  }
  return false;
}
