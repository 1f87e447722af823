// rollingNodeMaintenance (the guide's "Kubernetes Upgrades": drain, upgrade, uncordon, verify, node by
// node): input schema, the operator's messages (nodeDone, decide), every node's state and the report.
// Shared by the workflow, its activities and the client.
import { z } from 'zod';
import { k8sName } from './common.ts';
import { drainNodeInputSchema, labelSelector, nodeName } from './drain.ts';
import { leaseOptionsSchema } from './lease.ts';

/** Nodes per run (see `nodes`). */
export const MAX_NODES = 100;

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24-hour clock)');

const timeZone = z
  .string()
  .min(1)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone (e.g. Europe/Berlin, UTC)');

/**
 * When nodes may start: on these days (the day the window opens, in timeZone), from start to end. An
 * end at or before start closes the next day (22:00-04:00). A node started inside the window is
 * finished even if the window closes meanwhile; the next node waits for the next window.
 */
export const maintenanceWindowSchema = z
  .object({
    daysOfWeek: z
      .array(z.enum(WEEKDAYS, `must be one of ${WEEKDAYS.join(', ')}`))
      .min(1, 'name at least one day')
      .max(7),
    start: clock,
    end: clock,
    timeZone: timeZone.default('UTC'),
  })
  .strict();
export type MaintenanceWindow = z.output<typeof maintenanceWindowSchema>;

/** drainNode's options (without node, dryRun, lease), defaulting to the guide's `--ignore-daemonsets --delete-local-data`. */
const { node: _node, dryRun: _dryRun, lease: _lease, ...drainShape } = drainNodeInputSchema.shape;
export const rollingDrainSchema = z.object({ ...drainShape, deleteEmptyDirData: z.boolean().default(true) }).strict();
export type RollingDrainOptions = z.output<typeof rollingDrainSchema>;

/** A kubelet version as nodes report it (status.nodeInfo.kubeletVersion), e.g. v1.38.0. */
const kubeletVersion = z.string().regex(/^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]*)?$/, 'must be a version such as v1.38.0');

export const rollingNodeMaintenanceInputSchema = z
  .object({
    /**
     * The nodes, in this order. Give nodes or selector. At most MAX_NODES per run: one run's history
     * holds every node's steps (a node waiting an hour for its kubelet version adds ~180 events).
     */
    nodes: z
      .array(nodeName)
      .min(1, 'name at least one node')
      .max(MAX_NODES, `at most ${MAX_NODES} nodes per run (split a larger pool by selector)`)
      .optional(),
    /** A node label selector (e.g. `pool=workers`); the nodes are taken in name order. */
    selector: labelSelector.optional(),
    /** Nodes in maintenance at once. */
    concurrency: z.number().int().min(1).max(50).default(1),
    drain: rollingDrainSchema.default(rollingDrainSchema.parse({})),
    /**
     * What "the node is upgraded" means: the operator's `nodeDone` update for the node, and/or the node
     * reporting kubeletVersion (both, when both are asked for); waited for at most timeoutSeconds.
     * nodeDone defaults to true unless kubeletVersion is given.
     */
    upgraded: z
      .object({
        nodeDone: z.boolean().optional(),
        kubeletVersion: kubeletVersion.optional(),
        timeoutSeconds: z
          .number()
          .int()
          .min(1)
          .max(7 * 86400)
          .default(3600),
      })
      .strict()
      .default({ timeoutSeconds: 3600 })
      .transform((u) => ({ ...u, nodeDone: u.nodeDone ?? u.kubeletVersion === undefined }))
      .refine(
        (u) => u.nodeDone || u.kubeletVersion !== undefined,
        'nothing would say a node is upgraded: give kubeletVersion, or leave nodeDone true',
      ),
    /** After the uncordon: how long the node may take to report Ready. */
    readyTimeoutSeconds: z.number().int().min(1).max(86400).default(300),
    /** After each node: orchestrator pods ready and no TaskRun stuck in Pending, within timeoutSeconds. */
    health: z
      .object({
        skip: z.boolean().default(false),
        namespace: k8sName.default('orchestrator'),
        /** A TaskRun Pending (or without a phase) for longer than this is stuck. */
        stuckTaskRunSeconds: z.number().int().min(1).max(86400).default(600),
        timeoutSeconds: z.number().int().min(1).max(86400).default(300),
      })
      .strict()
      .default({ skip: false, namespace: 'orchestrator', stuckTaskRunSeconds: 600, timeoutSeconds: 300 }),
    maintenanceWindow: maintenanceWindowSchema.optional(),
    /** How long a failed node waits for `decide` before the run aborts (at most 7 days). */
    decisionTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 86400)
      .default(24 * 3600),
    lease: leaseOptionsSchema.default({ wait: true, priority: 0 }),
  })
  .strict()
  .superRefine((o, ctx) => {
    if ((o.nodes === undefined) === (o.selector === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['nodes'],
        message: 'give either nodes (a list) or selector (a label selector), not both',
      });
    if (o.nodes && new Set(o.nodes).size !== o.nodes.length)
      ctx.addIssue({ code: 'custom', path: ['nodes'], message: 'must not name a node twice' });
  });

export type RollingNodeMaintenanceInput = z.input<typeof rollingNodeMaintenanceInputSchema>;
export type RollingNodeMaintenanceOptions = z.output<typeof rollingNodeMaintenanceInputSchema>;

/** The steps of one node, in order; a retry resumes at the step that failed. */
export const NODE_STEPS = ['drain', 'upgrade', 'uncordon', 'ready', 'health'] as const;
export type NodeStep = (typeof NODE_STEPS)[number];

export type NodePhase =
  | 'pending'
  | 'draining'
  | 'waiting-for-upgrade'
  | 'uncordoning'
  | 'waiting-ready'
  | 'checking-health'
  | 'done'
  | 'failed'
  | 'skipped'
  | 'not-started';

export interface NodeMaintenanceState {
  node: string;
  phase: NodePhase;
  /** The drainNode child's workflow id (`<workflow id>-drain-<node>`); also the cordon mark. */
  drainWorkflowId: string;
  /** The step running, or the one that failed. */
  step?: NodeStep;
  startedAt?: string;
  finishedAt?: string;
  /** Times the node was started (1 + retries). */
  attempts: number;
  /** The drain cordoned the node (false: it was cordoned before and stays cordoned). */
  cordonedByUs?: boolean;
  evicted?: number;
  /** The operator's nodeDone, when it came. */
  nodeDone?: { by: string; note?: string; at: string };
  kubeletVersion?: string;
  /** Whether the node is cordoned now, as far as this run knows (a failed or aborted node may stay cordoned). */
  cordoned?: boolean;
  error?: string;
}

export interface WindowWait {
  from: string;
  until: string;
}

export interface RollingMaintenanceState {
  phase: 'validating' | 'waiting-for-lease' | 'running' | 'waiting-for-window' | 'paused' | 'succeeded' | 'aborted';
  /** While it waits for the maintenance window: when the next one opens (ISO). */
  windowOpensAt?: string;
  /** While paused: the failed node, why, and when the run aborts without a decision. */
  paused?: { node: string; step: NodeStep; failure: string; deadline: string };
  nodes: NodeMaintenanceState[];
  decisions: (NodeDecision & { node: string; at: string })[];
}

/** The `nodeDone` update: the operator upgraded this node (it must be waiting for its upgrade). */
export const nodeDoneSchema = z.object({
  node: z.string().min(1, 'name the node'),
  by: z.string().trim().min(1, "the operator's identity is required"),
  note: z.string().max(1000).optional(),
});
export type NodeDone = z.infer<typeof nodeDoneSchema>;

export const NODE_DECISION_ACTIONS = ['retry', 'skip', 'abort'] as const;
/**
 * The `decide` update on a failed node: retry (from the step that failed), skip (the node is
 * uncordoned if this run cordoned it, and the run goes on), abort (no further node; the failed node
 * stays as it is). `node` is needed only when several nodes wait for a decision.
 */
export const nodeDecisionSchema = z.object({
  action: z.enum(NODE_DECISION_ACTIONS, `must be one of ${NODE_DECISION_ACTIONS.join(', ')}`),
  by: z.string().trim().min(1, "the operator's identity is required"),
  reason: z.string().max(1000).optional(),
  node: z.string().min(1).optional(),
});
export type NodeDecision = z.infer<typeof nodeDecisionSchema>;

export interface RollingMaintenanceReport {
  runbook: 'rollingNodeMaintenance';
  /** succeeded: every node done; completed-with-skips: some skipped; aborted: stopped by a decision (or its deadline). */
  outcome: 'succeeded' | 'completed-with-skips' | 'aborted';
  nodes: NodeMaintenanceState[];
  decisions: RollingMaintenanceState['decisions'];
  windowWaits: WindowWait[];
  lease: { leaseId: string; grantedAt: string; waitedSeconds: number };
  durationSeconds: number;
}

/** selectNodes: the nodes by name or selector; names that do not exist are reported, not thrown. */
export interface SelectNodesRequest {
  nodes?: string[];
  selector?: string;
}
export interface SelectNodesResult {
  nodes: string[];
  missing: string[];
}

/** A node as the maintenance waits on it. */
export interface NodeReading {
  exists: boolean;
  ready: boolean;
  unschedulable: boolean;
  kubeletVersion?: string;
  /** Why it is not Ready. */
  reason?: string;
}

export interface WaitNodeRequest {
  node: string;
  /** Wait until the node reports this kubelet version (or a build of it: v1.38.0 matches v1.38.0-eks-1). */
  kubeletVersion?: string;
  /** Wait until the node is Ready. */
  ready?: boolean;
  /** Give up (matched: false) after this long. */
  timeoutSeconds: number;
}
export interface WaitNodeResult {
  matched: boolean;
  node: NodeReading;
}

export interface StuckTaskRunsResult {
  crdInstalled: boolean;
  stuck: number;
  /** The first few stuck TaskRuns (name and seconds Pending). */
  examples: { name: string; pendingSeconds: number }[];
}

/** Does a reported kubelet version satisfy the target (the same version, or a build of it)? */
export function kubeletVersionMatches(reported: string | undefined, target: string): boolean {
  if (!reported) return false;
  const norm = (v: string) => (v.startsWith('v') ? v : `v${v}`);
  const r = norm(reported);
  const t = norm(target);
  return r === t || (r.startsWith(t) && /^[-+]/.test(r.slice(t.length)));
}
