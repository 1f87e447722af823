// SIGKILL the worker at step boundaries of one workflow run: for each kill point in turn, wait until
// it is reached (e.g. the k-th ActivityTaskCompleted is in the history), SIGKILL the worker process,
// start a new one, and go on to the next point with it. The last worker finishes the run.
// A kill lands right after a step finished, usually while the next activity already runs on the dead
// worker: that attempt is failed at once (failDeadWorkersActivities, as its timeout would later) and
// retried on the new worker (so each kill also tests that the next step's activity is safe to retry
// after a crash midway).
import type { WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import { setTimeout as sleep } from 'node:timers/promises';
import { failDeadWorkersActivities } from './dead-worker.ts';
import type { WorkerProcess } from './worker-process.ts';

const EventType = proto.temporal.api.enums.v1.EventType;

export interface KillPoint {
  /** What the point is (for messages): e.g. "after planBackup". */
  name: string;
  reached(): Promise<boolean>;
}

/** The activity types completed so far, in order (from the workflow's history). */
export async function completedActivities(handle: WorkflowHandle): Promise<string[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = new Map<string, string>();
  const completed: string[] = [];
  for (const e of events) {
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      scheduled.set(String(e.eventId), e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?');
    } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      completed.push(scheduled.get(String(e.activityTaskCompletedEventAttributes?.scheduledEventId)) ?? '?');
    }
  }
  return completed;
}

/** Reached once the n-th activity of the run has completed; named by the activity type expected there. */
export function afterActivity(handle: WorkflowHandle, n: number, activityType: string): KillPoint {
  return {
    name: `after ${activityType} (activity #${n})`,
    reached: async () => {
      const done = await completedActivities(handle);
      if (done.length >= n && done[n - 1] !== activityType)
        throw new Error(`activity #${n} was ${done[n - 1]}, not ${activityType}: ${done.join(', ')}`);
      return done.length >= n;
    },
  };
}

export interface KillRun {
  /** The kill points hit, in order (a point that the run passed by before it was seen still counts: the kill lands later). */
  killedAt: string[];
  /** Activity types completed when each kill landed. */
  completedAtKill: string[][];
}

/**
 * Walks the kill points: for each, waits until reached (fails if the workflow closes first: the test
 * must hit every boundary it names), SIGKILLs `current`, starts the next worker.
 */
export async function killAtEachPoint(opts: {
  handle: WorkflowHandle;
  first: WorkerProcess;
  startWorker: () => Promise<WorkerProcess>;
  points: KillPoint[];
  timeoutMs?: number;
}): Promise<KillRun & { last: WorkerProcess }> {
  let current = opts.first;
  const run: KillRun = { killedAt: [], completedAtKill: [] };
  for (const point of opts.points) {
    const deadline = Date.now() + (opts.timeoutMs ?? 180_000);
    while (!(await point.reached())) {
      const { status } = await opts.handle.describe();
      if (status.name !== 'RUNNING') throw new Error(`the workflow ended (${status.name}) before ${point.name}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${point.name}`);
      await sleep(50);
    }
    await current.kill('SIGKILL');
    await failDeadWorkersActivities(opts.handle);
    run.killedAt.push(point.name);
    run.completedAtKill.push(await completedActivities(opts.handle));
    current = await opts.startWorker();
  }
  return { ...run, last: current };
}
