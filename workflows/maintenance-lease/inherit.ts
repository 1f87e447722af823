// A runbook's lease: take it (withMaintenanceLease), or run under the lease of the parent that holds
// it. A child of the holder (rollingNodeMaintenance's drainNode children) must not ask for the lease
// itself: the lease is taken, and it would wait behind its own parent for ever. Its parent passes
// {inherit: {leaseId, workflowId, runId, grantedAt}}; the child checks that this names its own parent
// run, so only a child of the holder acts without asking. The lease stays the parent's: it is released
// when the parent ends, and a child (ParentClosePolicy TERMINATE) cannot outlive it.
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import { INVALID_INPUT } from '../../contract/failures.ts';
import type { InheritedLease, RunbookLease } from '../../contract/types/lease.ts';
import { withMaintenanceLease, type HeldLease, type LeaseHooks } from './acquire.ts';

export interface RunbookHeldLease extends HeldLease {
  /** Set when the lease is the parent's: its workflow id. */
  heldBy?: string;
}

export function withRunbookLease<T>(
  runbook: string,
  lease: RunbookLease,
  hooks: LeaseHooks,
  act: (lease: RunbookHeldLease) => Promise<T>,
): Promise<T> {
  if (!('inherit' in lease)) return withMaintenanceLease(runbook, lease, hooks, act);
  checkParent(runbook, lease);
  return act({
    leaseId: lease.inherit.leaseId,
    grantedAt: lease.inherit.grantedAt,
    waitedSeconds: 0,
    heldBy: lease.inherit.workflowId,
  });
}

function checkParent(runbook: string, lease: InheritedLease): void {
  const parent = workflowInfo().parent;
  if (parent && parent.workflowId === lease.inherit.workflowId && parent.runId === lease.inherit.runId) return;
  const message = `lease.inherit: only a child of the lease's holder ${lease.inherit.workflowId} may run under its lease (this run's parent: ${parent ? `${parent.workflowId} run ${parent.runId}` : 'none'}); omit lease.inherit to take the lease`;
  throw ApplicationFailure.create({
    type: INVALID_INPUT,
    nonRetryable: true,
    message: `invalid ${runbook} input: ${message}`,
    details: [[message]],
  });
}

/** The lease step's detail, for the progress of every runbook that holds one. */
export function leaseText(l: RunbookHeldLease): string {
  if (l.heldBy) return `${l.leaseId}: held by the parent ${l.heldBy} since ${l.grantedAt}`;
  return `${l.leaseId} since ${l.grantedAt}${l.waitedSeconds ? ` (waited ${l.waitedSeconds} s)` : ''}`;
}
