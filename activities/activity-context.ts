// Heartbeats and cancellation for long waits. Inside an activity they use the Temporal context;
// called from plain code (unit tests, scripts) they fall back to a timer and no heartbeat.
import { Context } from '@temporalio/activity';
import { setTimeout as sleep } from 'node:timers/promises';

/** The activity's context, or undefined when called outside an activity (unit tests, scripts). */
export function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** What the previous attempt heartbeated (resume from there), or undefined on a first attempt. */
export function previousHeartbeat<T>(): T | undefined {
  return currentContext()?.info.heartbeatDetails as T | undefined;
}

export function heartbeat(details?: unknown): void {
  currentContext()?.heartbeat(details);
}

/** Aborts when the activity is cancelled (or its heartbeat times out); never aborts outside an activity. */
export function cancellationSignal(): AbortSignal | undefined {
  return currentContext()?.cancellationSignal;
}

export interface PollOptions<T> {
  /** What is awaited, for the timeout message. */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Returns the value when done, undefined to keep waiting; `progress` is heartbeated. */
  check: () => Promise<{ done: T } | { progress: unknown }>;
  /** Builds the error thrown at the timeout from the last progress. */
  onTimeout: (lastProgress: unknown) => Error;
}

/** Polls `check` until it is done, heartbeating each round; honours cancellation. */
export async function pollUntil<T>(opts: PollOptions<T>): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  const signal = cancellationSignal();
  let last: unknown;
  for (;;) {
    signal?.throwIfAborted();
    const result = await opts.check();
    if ('done' in result) return result.done;
    last = result.progress;
    heartbeat(last);
    if (Date.now() >= deadline) throw opts.onTimeout(last);
    await sleep(opts.intervalMs ?? 1000, undefined, signal ? { signal } : {});
  }
}
