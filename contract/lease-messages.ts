// The maintenance lease's messages: requests and releases to the lease workflow, grants and notices
// from it to the requesters, and the `lease` query.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { LeaseGrant, LeasePreemptNotice, LeaseRequest, LeaseState, LeaseWaitNotice } from './types/lease.ts';
import { DEFAULT_TASK_QUEUE } from './task-queue.ts';

/** To the lease: a runbook asks for it (sent with signal-with-start semantics: see requestLease). */
export const requestLeaseSignal = defineSignal<[LeaseRequest]>('requestLease');
/** To the lease: the holder (or a waiter giving up) lets go. */
export const releaseLeaseSignal = defineSignal<[{ workflowId: string; runId: string }]>('releaseLease');
/** Who holds the lease (since when) and who waits, in order. */
export const leaseQuery = defineQuery<LeaseState>('lease');

/** To a requester: the lease is yours. */
export const leaseGrantedSignal = defineSignal<[LeaseGrant]>('leaseGranted');
/** To a requester: you wait in line behind this holder. */
export const leaseQueuedSignal = defineSignal<[LeaseWaitNotice]>('leaseQueued');
/** To a requester that asked with wait: false: the lease is taken. */
export const leaseDeniedSignal = defineSignal<[LeaseWaitNotice]>('leaseDenied');
/**
 * To the holder and the waiters: a liveness check. A signal to a run that has closed (completed,
 * failed, terminated...) fails, which is how the lease learns that its holder is gone.
 */
export const leasePingSignal = defineSignal('leasePing');

/** The one lease of the cluster the workers of this task queue act on (a worker acts on one cluster). */
export function maintenanceLeaseId(taskQueue: string): string {
  return taskQueue === DEFAULT_TASK_QUEUE ? 'maintenance-lease' : `maintenance-lease-${taskQueue}`;
}

/** From the lease to its holder: a preempting request (incident response) waits; yield at the next step boundary. */
export const leasePreemptSignal = defineSignal<[LeasePreemptNotice]>('leasePreempt');
