// The requester's side of the maintenance lease: withMaintenanceLease(...) asks for the lease, waits in
// line (the progress note says behind whom), runs the acting part, and releases the lease in a
// finally that cancellation cannot skip. When a preempting runbook (incident response) asks for the
// lease, the holder yields at its next step boundary (leaseBoundary(), called by ProgressTracker
// before every step): it releases, waits behind it, and goes on once the lease is granted again.
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  ParentClosePolicy,
  condition,
  getExternalWorkflowHandle,
  proxySinks,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { LEASE_TAKEN } from '../../contract/failures.ts';
import type {
  LeaseGrant,
  LeaseOptions,
  LeasePreemptNotice,
  LeaseRequest,
  LeaseWaitNotice,
  MaintenanceLeaseInput,
} from '../../contract/types/lease.ts';
import type { RunbookMetricsSinks } from '../../contract/runbook-metrics.ts';
import { setRunbookPhase } from '../runbook-attributes.ts';
import {
  leaseDeniedSignal,
  leaseGrantedSignal,
  leasePingSignal,
  leasePreemptSignal,
  leaseQueuedSignal,
  maintenanceLeaseId,
  releaseLeaseSignal,
  requestLeaseSignal,
} from '../../contract/lease-messages.ts';

export interface LeaseHooks {
  /** Called while waiting ("waiting for the lease held by <id> since <time>") and with undefined once granted. */
  onWait?: (text: string | undefined) => void;
}

export interface HeldLease {
  leaseId: string;
  grantedAt: string;
  /** Seconds spent waiting in line. */
  waitedSeconds: number;
}

/**
 * Signal-with-start from workflow code: signal the running lease; when none runs, start it as an
 * abandoned child (it outlives this runbook; its start carries the request); when another requester
 * started it meanwhile, signal again.
 */
async function sendRequest(leaseId: string, request: LeaseRequest): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await getExternalWorkflowHandle(leaseId).signal(requestLeaseSignal, request);
      return;
    } catch (err) {
      if (attempt >= 5) throw err;
    }
    try {
      // Not cancellable with this runbook: the lease serves every runbook of the cluster.
      await CancellationScope.nonCancellable(() =>
        startChild('maintenanceLease', {
          workflowId: leaseId,
          args: [{ requests: [request] } satisfies MaintenanceLeaseInput],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          cancellationType: ChildWorkflowCancellationType.ABANDON,
        }),
      );
      return;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
}

/**
 * Per run, while it holds the lease: yields it if a preempting runbook asked (see leaseBoundary).
 * Keyed by run id: module state may be shared by the workflows of a worker's VM.
 */
const yieldIfPreempted = new Map<string, () => Promise<void>>();

/** A step boundary of the runbook (ProgressTracker calls it before every step): yields the lease if asked to. */
export async function leaseBoundary(): Promise<void> {
  await yieldIfPreempted.get(workflowInfo().runId)?.();
}

export async function withMaintenanceLease<T>(
  runbook: string,
  options: LeaseOptions,
  hooks: LeaseHooks,
  act: (lease: HeldLease) => Promise<T>,
): Promise<T> {
  const info = workflowInfo();
  const leaseId = maintenanceLeaseId(info.taskQueue);
  const me = { workflowId: info.workflowId, runId: info.runId };
  let grant: LeaseGrant | undefined;
  let denied: LeaseWaitNotice | undefined;
  setHandler(leaseGrantedSignal, (g) => void (grant ??= g));
  setHandler(leaseDeniedSignal, (n) => void (denied ??= n));
  setHandler(leasePingSignal, () => undefined);
  let preempt: LeasePreemptNotice | undefined;
  setHandler(leasePreemptSignal, (n) => void (preempt ??= n));
  setHandler(leaseQueuedSignal, (n) => {
    if (grant) return;
    setRunbookPhase('waiting-for-lease');
    hooks.onWait?.(
      n.holder
        ? `waiting for the lease held by ${n.holder.workflowId} (${n.holder.runbook}) since ${n.holder.since}; position ${n.position} in line`
        : `waiting for the lease (position ${n.position} in line)`,
    );
  });

  const requestedAt = new Date();
  const release = () =>
    CancellationScope.nonCancellable(() =>
      getExternalWorkflowHandle(leaseId)
        .signal(releaseLeaseSignal, me)
        .catch(() => undefined),
    );
  try {
    await sendRequest(leaseId, {
      ...me,
      runbook,
      requestedAt: requestedAt.toISOString(),
      wait: options.wait,
      priority: options.priority,
    });
    await condition(() => grant !== undefined || denied !== undefined);
    if (!grant) {
      const holder = denied?.holder;
      throw ApplicationFailure.create({
        type: LEASE_TAKEN,
        nonRetryable: true,
        message: `the maintenance lease ${leaseId} is held by ${holder ? `${holder.workflowId} (${holder.runbook}) since ${holder.since}` : 'another runbook'}, and the input says lease: {wait: false}`,
        details: [denied],
      });
    }
    setRunbookPhase('running');
    hooks.onWait?.(undefined);
    const waitedSeconds = (Date.now() - requestedAt.getTime()) / 1000;
    proxySinks<RunbookMetricsSinks>().runbookMetrics.leaseWaited(runbook, waitedSeconds);
    yieldIfPreempted.set(me.runId, async () => {
      if (!preempt) return;
      const by = preempt.by;
      preempt = undefined;
      grant = undefined;
      await release();
      setRunbookPhase('waiting-for-lease');
      hooks.onWait?.(
        `yielded the lease to ${by.workflowId} (${by.runbook}, priority ${by.priority}); waiting to resume`,
      );
      await sendRequest(leaseId, {
        ...me,
        runbook,
        requestedAt: new Date().toISOString(),
        wait: true,
        priority: options.priority,
        resuming: true,
      });
      await condition(() => grant !== undefined);
      setRunbookPhase('running');
      hooks.onWait?.(undefined);
    });
    return await act({ leaseId, grantedAt: grant.grantedAt, waitedSeconds: Math.round(waitedSeconds) });
  } finally {
    yieldIfPreempted.delete(me.runId);
    // Also when cancelled while waiting in line: the lease drops the request.
    await release();
  }
}
