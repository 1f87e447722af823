// After a test SIGKILLs a worker, the activities it was running stay "started" on the server until
// their start-to-close (1 min) or heartbeat (30 s) timeout: only then are they retried. The crash tests
// don't need to wait for that: they fail those attempts through the client at once, which the
// server retries exactly as it retries a timed-out attempt (same retry policy, the next attempt on
// a live worker). What is tested stays the same: the retried activity meets whatever the dead
// attempt left behind. `npm run reliability` sets CRASH_TESTS_REAL_TIMEOUTS=1: there the crash tests
// wait for the timeouts, as a real dead worker makes its runbooks wait.
import { AsyncCompletionClient, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import proto from '@temporalio/proto';

const STARTED = proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

/**
 * Fails every started activity of the workflow (and of its running child workflows), as their timeouts
 * would: call it only after the worker that ran them is dead and before another worker starts.
 * Returns the activity types failed, for the test's messages.
 */
export async function failDeadWorkersActivities(handle: WorkflowHandle): Promise<string[]> {
  if (process.env.CRASH_TESTS_REAL_TIMEOUTS === '1') return [];
  const completion = new AsyncCompletionClient({
    connection: handle.client.connection,
    namespace: handle.client.options.namespace,
  });
  const failed: string[] = [];
  const visit = async (workflowId: string, runId?: string): Promise<void> => {
    const { raw } = await handle.client.getHandle(workflowId, runId).describe();
    const run = raw.workflowExecutionInfo?.execution?.runId ?? undefined;
    for (const activity of raw.pendingActivities ?? []) {
      if (activity.state !== STARTED || !activity.activityId) continue;
      try {
        await completion.fail(
          { workflowId, runId: run, activityId: activity.activityId },
          ApplicationFailure.retryable('the worker running this attempt was SIGKILLed', 'WorkerKilledByTest'),
        );
        failed.push(activity.activityType?.name ?? '?');
      } catch {
        // It completed or timed out meanwhile: nothing to hurry.
      }
    }
    for (const child of raw.pendingChildren ?? []) {
      if (child.workflowId) await visit(child.workflowId, child.runId ?? undefined);
    }
  };
  await visit(handle.workflowId);
  return failed;
}
