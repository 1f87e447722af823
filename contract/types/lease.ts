// The maintenance lease: one per cluster, held by the runbook that changes the platform. Shared by
// the lease workflow, the runbooks that take it, and the client (the `lease` query).
import { z } from 'zod';

/** A runbook input's `lease` field. */
export const leaseOptionsSchema = z
  .object({
    /** Wait in line when another runbook holds the lease (default); false: fail at once (LeaseTaken). */
    wait: z.boolean().default(true),
    /**
     * Place in line: a higher priority is granted before a lower one (same priority: first come,
     * first served). PREEMPTING_PRIORITY (incident response) also preempts a holder of lower priority.
     */
    priority: z.number().int().min(0).max(100).default(0),
  })
  .strict();

export type LeaseOptions = z.output<typeof leaseOptionsSchema>;

/**
 * A child runbook that acts under its parent's lease (rollingNodeMaintenance's drainNode children):
 * the parent holds the lease for the child's whole life (the child is started with ParentClosePolicy
 * TERMINATE, so it cannot outlive the holder). The child checks that the holder named here is its own
 * parent run; a run without that parent (e.g. started by an operator) is refused.
 */
export const inheritedLeaseSchema = z
  .object({
    inherit: z
      .object({
        leaseId: z.string().min(1),
        /** The holder: the parent's workflow id and run id. */
        workflowId: z.string().min(1),
        runId: z.string().min(1),
        grantedAt: z.string().min(1),
      })
      .strict(),
  })
  .strict();
export type InheritedLease = z.output<typeof inheritedLeaseSchema>;

/** A runbook input's `lease`: options for taking it, or the parent's lease to run under. */
export const runbookLeaseSchema = z.union([leaseOptionsSchema, inheritedLeaseSchema]);
export type RunbookLease = z.output<typeof runbookLeaseSchema>;

/** Who asks for the lease: one run of a workflow (a new run of the same id is another requester). */
export interface LeaseRequest {
  workflowId: string;
  runId: string;
  /** The runbook (workflow type), for the query. */
  runbook: string;
  /** ISO time of the request (the requester's workflow time). */
  requestedAt: string;
  wait: boolean;
  priority: number;
  /** A holder that yielded to a preempting request asks again: first in line among its priority. */
  resuming?: boolean;
}

export interface LeaseHolder extends LeaseRequest {
  grantedAt: string;
  /** The lease asked this holder to yield to a preempting request (asked once). */
  preemptedBy?: string;
}

/**
 * A request at this priority (incidentResponse's) preempts a holder of lower priority: the holder
 * releases the lease at its next step boundary, waits behind the preempting runbook, and resumes.
 */
export const PREEMPTING_PRIORITY = 100;

/** Sent by the lease to a holder that must yield to a preempting request. */
export interface LeasePreemptNotice {
  leaseId: string;
  by: { workflowId: string; runbook: string; priority: number };
}

/** The `lease` query's answer. */
export interface LeaseState {
  leaseId: string;
  holder: LeaseHolder | null;
  /** In the order they will be granted. */
  waiters: LeaseRequest[];
  /** Runs of this lease workflow so far (continue-as-new). */
  runs: number;
}

export interface MaintenanceLeaseInput {
  /** Carried across continue-as-new. */
  holder?: LeaseHolder | null;
  waiters?: LeaseRequest[];
  /** Requests that arrived with the start (the first requester's) or were not yet handled before continue-as-new. */
  requests?: LeaseRequest[];
  releases?: { workflowId: string; runId: string }[];
  /** While someone waits, the holder is checked this often (default 15 s); also at every new request. */
  checkIntervalSeconds?: number;
  /** With no holder and no waiter, the workflow ends after this long without a request (default 0: at once). */
  idleExitSeconds?: number;
  runs?: number;
}

/** Sent by the lease to a requester. */
export interface LeaseGrant {
  leaseId: string;
  grantedAt: string;
}
export interface LeaseWaitNotice {
  leaseId: string;
  /** Who holds it now, since when. */
  holder: { workflowId: string; runbook: string; since: string } | null;
  position: number;
}
