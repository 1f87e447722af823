// The controller pipeline's scheduling state, without Temporal: the watch in flight and what it
// returned, the writes in flight (their TaskRuns get no other action), the TaskRuns waiting to retry
// a failed write, and when the loop must wake up. The workflow (index.ts) starts the activities and
// timers this asks for and reports back; the decisions are unit-tested (test/unit/taskrun-scheduler.test.ts).
import { chunk, planRound, type TaskRunState } from './reconcile.ts';
import type { ActionResult, ControllerConfig, TaskRunAction, WatchResult } from '../../contract/types/taskrun.ts';

export interface SchedulerLimits {
  /** TaskRuns in apply calls at once. */
  maxInFlight: number;
  /** A TaskRun whose write failed transiently is tried again after this long. */
  retryAfterMs: number;
  /** TaskRuns per apply call. */
  chunkSize: number;
}

export class PipelineScheduler {
  /** A watch activity is running. */
  watching = false;
  /** The running watch may create Jobs (it was given a hot-path budget): a suspension must stop it first. */
  watchCreatesJobs = false;
  private readonly watched: WatchResult[] = [];
  private failure: { err: unknown } | undefined;
  /** Jobs created while the current watch ran: a snapshot it returns may have been listed before them. */
  private created = new Set<string>();

  /** TaskRuns with writes in flight, and the apply calls carrying them. */
  private readonly busy = new Set<string>();
  private calls = 0;
  /** A write came back since the loop last looked. */
  private applied = false;

  /** TaskRuns whose last write failed -> when to try again (one timer wakes the loop for the earliest). */
  private readonly retryAt = new Map<string, number>();
  private timerArmed = false;
  private retryDue = false;

  readonly limits: SchedulerLimits;

  constructor(limits: SchedulerLimits) {
    this.limits = limits;
  }

  watchStarted(createsJobs = false): void {
    this.watching = true;
    this.watchCreatesJobs = createsJobs;
    this.created = new Set();
  }

  watchReturned(result: WatchResult): void {
    this.watchEnded();
    this.watched.push(result);
  }

  /** A watch that failed for good (not a cancellation): the loop throws it. */
  watchFailed(err: unknown): void {
    this.watchEnded();
    this.failure = { err };
  }

  watchCancelled(): void {
    this.watchEnded();
  }

  private watchEnded(): void {
    this.watching = false;
    this.watchCreatesJobs = false;
  }

  get createdMeanwhile(): ReadonlySet<string> {
    return this.created;
  }

  /** The loop has something to do. */
  get ready(): boolean {
    return this.watched.length > 0 || this.applied || this.retryDue || this.failure !== undefined;
  }

  /** Throws a failed watch's error; else the watch results that came back (the wake-up is consumed). */
  take(): WatchResult[] {
    if (this.failure) throw this.failure.err;
    this.applied = false;
    this.retryDue = false;
    return this.watched.splice(0);
  }

  /**
   * The writes to send now, in chunks: TaskRuns in flight get no action; TaskRuns in back-off get
   * no action and hold no slot (the ones after them are not held up); at most maxInFlight at once.
   * The chunks returned are in flight until applyDone/applyFailed.
   */
  dispatch(state: TaskRunState, config: ControllerConfig, now: number): TaskRunAction[][] {
    const backoff = new Set<string>();
    for (const [name, at] of this.retryAt) if (at > now) backoff.add(name);
    const due = planRound(state, config, new Date(now).toISOString(), this.busy, backoff);
    // A due retry is sent now, or is no longer needed, or waits for a slot like any other TaskRun.
    for (const [name, at] of this.retryAt) if (at <= now || !state.has(name)) this.retryAt.delete(name);
    const room = Math.max(0, this.limits.maxInFlight - this.busy.size);
    const chunks = chunk(due.slice(0, room), this.limits.chunkSize);
    for (const actions of chunks) {
      this.calls++;
      for (const a of actions) this.busy.add(a.name);
    }
    return chunks;
  }

  /** An apply call answered: failed items are retried later; created Jobs are remembered for the watch's snapshot. */
  applyDone(actions: TaskRunAction[], results: ActionResult[], now: number): void {
    for (const r of results) {
      if (r.error) this.retryAt.set(r.name, now + this.limits.retryAfterMs);
      if (r.job === 'created' || r.job === 'existing') this.created.add(r.name);
    }
    this.settle(actions);
  }

  /** Every attempt of an apply call failed (the API server is down): its TaskRuns are tried again later. */
  applyFailed(actions: TaskRunAction[], now: number): void {
    for (const a of actions) this.retryAt.set(a.name, now + this.limits.retryAfterMs);
    this.settle(actions);
  }

  private settle(actions: TaskRunAction[]): void {
    this.calls--;
    for (const a of actions) this.busy.delete(a.name);
    this.applied = true;
  }

  /** No apply call is in flight. */
  get idle(): boolean {
    return this.calls === 0;
  }

  /** The delay of the retry timer to start now (at least 100 ms), or undefined: none is due or one is armed. */
  retryTimer(now: number): number | undefined {
    if (this.timerArmed || !this.retryAt.size) return undefined;
    let earliest = Infinity;
    for (const at of this.retryAt.values()) earliest = Math.min(earliest, at);
    this.timerArmed = true;
    return Math.max(100, earliest - now);
  }

  retryTimerFired(): void {
    this.timerArmed = false;
    this.retryDue = true;
  }
}
