// drainNode: input schema, the plan (kubectl drain's GetPodsForDeletion), the drain's live status
// and its report. Shared by the workflow, the activities and the client.
import { z } from 'zod';
import { runbookLeaseSchema } from './lease.ts';

/** A node name (RFC 1123 subdomain: nodes are often named after their DNS name). */
export const nodeName = z
  .string()
  .max(253, 'must be at most 253 characters')
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'must be a lowercase RFC 1123 name (a-z, 0-9, -, .)',
  );

/** A label selector as kubectl takes it (`app=web,tier!=db`, `env in (a,b)`); checked by the API server. */
export const labelSelector = z
  .string()
  .max(1000)
  .regex(/^[^\n\r]*$/, 'must be one line');

export const drainNodeInputSchema = z
  .object({
    node: nodeName,
    /** kubectl --ignore-daemonsets: DaemonSet pods stay (with a warning) instead of stopping the drain. */
    ignoreDaemonSets: z.boolean().default(true),
    /** kubectl --delete-emptydir-data: pods with emptyDir volumes are evicted (their data is lost). */
    deleteEmptyDirData: z.boolean().default(false),
    /** kubectl --force: pods that declare no controller are evicted (nothing recreates them). */
    force: z.boolean().default(false),
    /** kubectl --grace-period: seconds each pod gets to terminate; omitted: the pod's own. */
    gracePeriodSeconds: z.number().int().min(0).max(86400).optional(),
    /** kubectl --timeout: the whole eviction and wait; an update can extend it. */
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 86400)
      .default(600),
    /** kubectl --pod-selector: only pods matching it are drained; the others stay. */
    podSelector: labelSelector.optional(),
    /** kubectl --disable-eviction: delete pods instead of evicting them (bypasses PodDisruptionBudgets). */
    disableEviction: z.boolean().default(false),
    /** kubectl --skip-wait-for-delete-timeout: pods deleted longer ago than this are skipped (0: never). */
    skipWaitForDeleteTimeoutSeconds: z.number().int().min(0).max(86400).default(0),
    /** Evictions in flight at once. */
    concurrency: z.number().int().min(1).max(100).default(20),
    /** Plan only: the result is the plan; nothing is cordoned or evicted. */
    dryRun: z.boolean().default(false),
    /**
     * The maintenance lease (see maintenanceLease): wait in line (default) or fail at once when taken;
     * or {inherit: ...}: run under the lease of the parent workflow that holds it (rollingNodeMaintenance's drains).
     */
    lease: runbookLeaseSchema.default({ wait: true, priority: 0 }),
  })
  .strict();

export type DrainNodeInput = z.input<typeof drainNodeInputSchema>;
export type DrainNodeOptions = z.output<typeof drainNodeInputSchema>;

/** A pod as the drain names it: namespace/name and the UID it had when planned. */
export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

/** Why a pod on the node is not evicted (kubectl drain skips it, or the selector excludes it). */
export type KeptReason =
  'mirror pod' | 'DaemonSet pod' | 'being deleted' | 'not matching podSelector' | 'cannot delete (see errors)';

export interface DrainPlanRequest {
  node: string;
  ignoreDaemonSets: boolean;
  deleteEmptyDirData: boolean;
  force: boolean;
  podSelector?: string;
  skipWaitForDeleteTimeoutSeconds: number;
}

/** kubectl drain's GetPodsForDeletion: what would be evicted, what stays and why, and what kubectl would say. */
export interface DrainPlan {
  node: string;
  /** The node was already cordoned (spec.unschedulable) when planned. */
  unschedulable: boolean;
  /** Pods to evict (or delete with disableEviction), in kubectl's order (the API's list order). */
  evict: (PodRef & { warning?: string })[];
  /** Pods that stay on the node, each with its reason. */
  kept: (PodRef & { reason: KeptReason; warning?: string })[];
  /** kubectl's warnings, e.g. "ignoring DaemonSet-managed Pods: ns/a, ns/b". */
  warnings: string[];
  /** kubectl's errors, e.g. "cannot delete Pods with local storage (use --delete-emptydir-data to override): ns/a". */
  errors: string[];
}

/** One pod's state while the drain waits. */
export interface RemainingPod extends PodRef {
  state: 'pending' | 'evicted' | 'blocked' | 'failed';
  /** For a pod that an eviction answered 429: the PodDisruptionBudgets that select it. */
  blockedBy?: { name: string; disruptionsAllowed: number }[];
  /** The last error of its eviction (e.g. 500 "more than one PodDisruptionBudget"). */
  error?: string;
}

export interface DrainRoundRequest {
  node: string;
  /** The pods not yet seen gone, with what was done to them so far. */
  pods: RemainingPod[];
  disableEviction: boolean;
  gracePeriodSeconds?: number;
  concurrency: number;
  /** The round ends after this long (or when every pod is gone). */
  roundSeconds: number;
  /** Seconds between two evictions of a pod that a PodDisruptionBudget blocks (kubectl: 5). */
  retryBlockedSeconds: number;
}

export interface DrainRoundResult {
  /** Pods deleted (or replaced by a pod with a new UID) since the round started. */
  gone: PodRef[];
  remaining: RemainingPod[];
}

export interface DrainStatus {
  node: string;
  phase:
    | 'validating'
    | 'waiting-for-lease'
    | 'planning'
    | 'cordoning'
    | 'evicting'
    | 'uncordoning'
    | 'succeeded'
    | 'failed'
    | 'aborted'
    | 'dry-run';
  /** This workflow set spec.unschedulable (and so uncordons on failure). */
  cordonedByUs?: boolean;
  /** When the eviction times out (ISO). */
  deadline?: string;
  total: number;
  evicted: number;
  remaining: RemainingPod[];
  message?: string;
}

/** The `drainControl` update: extend the timeout by some seconds, or abort (uncordons if this drain cordoned). */
export type DrainControl =
  { action: 'extend'; seconds: number; by: string } | { action: 'abort'; by: string; reason?: string };

export interface DrainReport {
  runbook: 'drainNode';
  node: string;
  dryRun: boolean;
  plan: DrainPlan;
  /** Whether this run cordoned the node (false: it was cordoned before). */
  cordonedByUs?: boolean;
  evicted: PodRef[];
  durationSeconds?: number;
  controls: (DrainControl & { at: string })[];
}
