// The TaskRun controller and cleanupTaskRuns: inputs, the JSON shapes exchanged between the
// reconciler workflow and its activities, and what the `taskRun` query answers.
import { z } from 'zod';
import { k8sName } from './common.ts';

export const TASKRUN_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed'] as const;
export type TaskRunPhase = (typeof TASKRUN_PHASES)[number];
export const TERMINAL_PHASES: readonly TaskRunPhase[] = ['Succeeded', 'Failed'];

/**
 * Set by the restore on the TaskRuns it creates with a backed-up phase (value: the backup's id). Until
 * their status has a phase (the restore writes it through the status subresource right after the
 * create), the controller takes no action for them; afterwards the annotation only says where they came from.
 */
export const RESTORED_FROM_ANNOTATION = 'platform-runbooks.io/restored-from';

/**
 * Set by the restore on an existing TaskRun it updates (its status has a phase already), removed once it
 * has written the backed-up status. The controller takes no action for a TaskRun carrying it.
 */
export const RESTORE_PENDING_ANNOTATION = 'platform-runbooks.io/restore-pending';

export const taskRunControllerInputSchema = z
  .object({
    namespace: k8sName.default('orchestrator'),
    /** The controller ConfigMap (config.yaml: agent defaults, job settings, maxConcurrentTasks, secrets). */
    configMapName: k8sName.default('taskrun-controller-config'),
    /** A watch activity returns at the latest after this many seconds (then the reconciler resyncs its view). */
    resyncSeconds: z.number().int().min(1).max(3600).default(300),
    /** TaskRuns per creation/status activity; chunks run in parallel. */
    chunkSize: z.number().int().min(1).max(1000).default(50),
    /** Continue-as-new after this many reconcile rounds even if the server does not suggest it. */
    maxRounds: z.number().int().min(1).default(500),
    /**
     * Finished TaskRuns the `taskRun` query still answers for (the newest ones). Only unfinished
     * TaskRuns are followed; this bounds what a finished one costs the carried state.
     */
    finishedHistory: z.number().int().min(0).max(5000).default(500),
    /**
     * Upsert the controller's search attributes (TASKRUN_SEARCH_ATTRIBUTES). Only when they are
     * registered in the Temporal namespace (client/taskrun-controller.ts ensures it, then sets this):
     * an unregistered one fails the workflow task.
     */
    searchAttributes: z.boolean().default(false),
    /** State carried across continue-as-new (internal). */
    carried: z.unknown().optional(),
  })
  .strict();
export type TaskRunControllerInput = z.input<typeof taskRunControllerInputSchema>;
export type TaskRunControllerOptions = z.output<typeof taskRunControllerInputSchema>;

export const controllerWorkflowId = (namespace: string) => `taskrun-controller-${namespace}`;

/**
 * The controller workflow's custom search attributes (name -> type, as `temporal operator
 * search-attribute create --type` spells it), for `temporal workflow list --query` and the Web UI:
 * - TaskRunNamespace: the Kubernetes namespace the controller follows;
 * - TaskRunsActive: TaskRuns with a Job that has not finished (taskrun_active_tasks);
 * - TaskRunsPending: TaskRuns in phase Pending (waiting for a slot, or for their Job to start).
 * Two Int attributes only: SQL visibility (the dev server's SQLite too) allows 3 per namespace.
 */
export const TASKRUN_SEARCH_ATTRIBUTES = {
  TaskRunNamespace: 'Keyword',
  TaskRunsActive: 'Int',
  TaskRunsPending: 'Int',
} as const;

/** The parts of a TaskRun the controller reads (the prompt only travels until its Job exists). */
export interface TaskRunSpec {
  service: string;
  taskId: string;
  prompt?: string;
  promptRef?: { name: string; key: string; optional?: boolean };
  agentImage?: string;
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  workspaceClaim?: string;
}

export interface ObservedTaskRun {
  name: string;
  uid: string;
  generation: number;
  creationTimestamp?: string;
  spec: TaskRunSpec;
  /** The stored status (e.g. after a controller restart), conditions left out. */
  status?: Partial<Omit<TaskRunStatus, 'conditions'>>;
  /** The restore has not finished writing it (RESTORE_PENDING_ANNOTATION, or RESTORED_FROM_ANNOTATION without a phase): no action. */
  restorePending?: true;
}

export interface ObservedJob {
  name: string;
  /** The owning TaskRun (ownerReferences). */
  ownerName: string;
  ownerUid: string;
  active: number;
  startTime?: string;
  completionTime?: string;
  /** Complete / Failed condition. */
  outcome?: 'Succeeded' | 'Failed';
  /** The Failed condition's reason: message. */
  message?: string;
  finishedAt?: string;
}

/** The controller's configuration (config.yaml of the controller ConfigMap); no secret values. */
export interface ControllerConfig {
  agent: {
    image: string;
    imagePullPolicy?: string;
    resources?: TaskRunSpec['resources'];
    workspaceMountPath: string;
  };
  job: { ttlSecondsAfterFinished?: number; backoffLimit: number; activeDeadlineSeconds?: number };
  maxConcurrentTasks: number;
  /** API keys as references: env var -> key of Secret `name`. */
  secrets: { name: string; env: { name: string; key: string }[] };
  /** resourceVersion of the ConfigMap it came from ('' = built-in defaults). */
  resourceVersion: string;
  /**
   * That ConfigMap's config.yaml is invalid (the message names every bad field): this config is the
   * last good one (or the defaults), kept until config.yaml is fixed.
   */
  error?: string;
}

export interface WatchCursor {
  taskRuns: string;
  jobs: string;
  /**
   * The controller ConfigMap's watch: a list resourceVersion (advanced by bookmarks and events),
   * not the ConfigMap's own.
   */
  config: string;
}

export type WatchChange =
  | { kind: 'taskRun'; type: 'upsert'; taskRun: ObservedTaskRun }
  | { kind: 'taskRun'; type: 'delete'; name: string; uid: string }
  | { kind: 'job'; type: 'upsert'; job: ObservedJob }
  | { kind: 'job'; type: 'delete'; name: string; ownerName: string; ownerUid: string };

export interface WatchInput {
  namespace: string;
  configMapName: string;
  /** Resume from here; absent: list everything (a snapshot). */
  cursor?: WatchCursor;
  /** The controller config the reconciler has: not read again unless its ConfigMap changes. */
  config?: ControllerConfig;
  /** Return at the latest after this many seconds, even without changes. */
  maxWaitSeconds: number;
  /**
   * When maxWaitSeconds pass without a change (the resync is due then), list everything and return
   * that snapshot: an idle controller runs one activity per resync, not a watch and then a list.
   */
  relistOnIdle?: boolean;
  /** Sets taskrun_active_tasks (the reconciler's count). */
  activeTasks: number;
  /** The `seq` of the last result the workflow received: another one means a result was lost (the view is sent afresh). */
  ack?: number;
  /** Jobless pending TaskRuns the view holds at most (the rest wait on the worker, `queued`). */
  window?: number;
  /**
   * The hot path: Jobs the watch may create itself, before the workflow hears of their TaskRuns
   * (the oldest jobless pending ones it has not sent yet), so that a new TaskRun's Job does not
   * wait for a workflow task and an activity. The workflow's free slots minus the TaskRuns it will
   * create Jobs for itself; 0 or absent when suspended. See hotPathBudget (reconcile.ts).
   */
  createBudget?: number;
}

export interface WatchResult {
  /**
   * A full list (first call, 410 Gone, or resync): TaskRuns/Jobs absent from it no longer exist.
   * `view`: the worker's view instead (activities/taskrun/view.ts): unfinished TaskRuns with a Job
   * and the head of the pending queue; finished and queued ones are absent, not gone.
   */
  snapshot?: { taskRuns: ObservedTaskRun[]; jobs: ObservedJob[]; view?: true };
  changes: WatchChange[];
  cursor: WatchCursor;
  config: ControllerConfig;
  /** Why the snapshot was taken ('view': the view sent afresh, not a relist). */
  relisted?: 'initial' | 'gone' | 'resync' | 'view';
  /** The view's result number (acknowledged in the next WatchInput). */
  seq?: number;
  /** Jobless pending TaskRuns waiting on the worker, not in the view. */
  queued?: number;
  /** The budget cut this result short: the next watch returns the rest at once. */
  more?: true;
}

export interface StatusCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface TaskRunStatus {
  phase: TaskRunPhase;
  jobName: string;
  startTime?: string;
  completionTime?: string;
  message: string;
  observedGeneration: number;
  conditions: StatusCondition[];
}

/** One TaskRun's work in an applyTaskRunActions call: create its ConfigMap + Job, and/or write its status. */
export interface TaskRunAction {
  name: string;
  uid: string;
  jobName: string;
  create?: TaskRunSpec;
  status?: TaskRunStatus;
}

export interface ApplyActionsInput {
  namespace: string;
  config: ControllerConfig;
  actions: TaskRunAction[];
}

export interface ActionResult {
  name: string;
  /** 'created' a Job, found it 'existing' (409, same owner), or the TaskRun is 'gone'. */
  job?: 'created' | 'existing' | 'gone';
  status?: 'written' | 'gone';
  /** A transient failure: tried again later. */
  error?: string;
  /** The API server rejected the ConfigMap or Job for good (400, 413, 422): the reason; the TaskRun fails. */
  rejected?: string;
}

/** One TaskRun as the reconciler follows it: the `taskRun` query's answer. */
export interface TrackedTaskRun {
  name: string;
  uid: string;
  generation: number;
  taskId: string;
  service: string;
  phase: TaskRunPhase;
  jobName: string;
  /** The Job exists (created by us, or seen by the watch). */
  jobCreated: boolean;
  job?: ObservedJob;
  /** Phases this TaskRun went through, with workflow time. */
  transitions: { phase: TaskRunPhase; at: string }[];
  /** The status last written (or found) on the TaskRun. */
  written?: TaskRunStatus;
  /** The spec until the Job exists (dropped afterwards to keep history small). */
  pendingSpec?: TaskRunSpec;
  lastError?: string;
  /** Why the Job is gone before its outcome was seen: the TaskRun fails with this message. */
  jobLost?: string;
  /** Workflow time at which this controller created (or found) its Job, until a watch result shows the Job. */
  jobCreatedAt?: string;
  /** The API server rejected its ConfigMap or Job for good (the reason): it fails, never tried again. */
  rejected?: string;
  createdAt?: string;
  /** Workflow time at which its final status was written (finished TaskRuns only). */
  finishedAt?: string;
  /** Being restored (see ObservedTaskRun.restorePending): no Job, ConfigMap or status write until the restore is done with it. */
  restorePending?: true;
}

export interface FinishedCounts {
  Succeeded: number;
  Failed: number;
}

export interface ControllerSummary {
  namespace: string;
  /** TaskRuns followed now: not finished (or their final status not yet written). */
  tracked: number;
  /** The followed TaskRuns by phase. */
  byPhase: Record<string, number>;
  /** Followed TaskRuns with a Job (what counts against maxConcurrentTasks). */
  active: number;
  /** Pending TaskRuns not followed yet: they wait on the worker's view until the window has room. */
  queued?: number;
  /** TaskRuns that finished under this controller since its first run (carried across continue-as-new). */
  finished: FinishedCounts;
  /** Finished TaskRuns the `taskRun` query still answers for (at most finishedHistory). */
  recentFinished: number;
  rounds: number;
  runs: number;
  /** The config in use; `error`: the ConfigMap's config.yaml is invalid, the last good config is kept. */
  config?: { resourceVersion: string; maxConcurrentTasks: number; error?: string };
}

export interface ControllerCarried {
  /** The followed (unfinished) TaskRuns. */
  taskRuns: TrackedTaskRun[];
  /** The newest finished TaskRuns, oldest first, compacted (at most finishedHistory). */
  finished?: TrackedTaskRun[];
  finishedCounts?: FinishedCounts;
  cursor?: WatchCursor;
  runs: number;
  /** Suspended by incident containment (no new Jobs) until resumed. */
  suspended?: ControllerSuspended;
}

export interface ControllerSuspended {
  by: string;
  reason: string;
  since: string;
}

export const cleanupTaskRunsInputSchema = z
  .object({
    namespace: k8sName.default('orchestrator'),
    succeededMaxAgeSeconds: z
      .number()
      .int()
      .min(0)
      .default(7 * 24 * 3600),
    failedMaxAgeSeconds: z
      .number()
      .int()
      .min(0)
      .default(3 * 24 * 3600),
    keepLabel: z.string().min(1).default('taskrun.orchestrator.io/keep'),
    dryRun: z.boolean().default(false),
  })
  .strict();
export type CleanupTaskRunsInput = z.input<typeof cleanupTaskRunsInputSchema>;
export type CleanupTaskRunsOptions = z.output<typeof cleanupTaskRunsInputSchema>;

/** What cleanupTaskRuns deletes: finished TaskRuns older than their phase's age at `asOf`, not labelled keepLabel. */
export interface CleanupCriteria {
  namespace: string;
  succeededMaxAgeSeconds: number;
  failedMaxAgeSeconds: number;
  keepLabel: string;
  /** The time ages are measured at (the plan's), so that the deletion selects what the plan counted. */
  asOf: string;
}

export interface CleanupCandidate {
  name: string;
  uid: string;
  phase: TaskRunPhase;
  /** Seconds since status.completionTime (or creation when it has none). */
  ageSeconds: number;
}

/** The plan: counts and at most CLEANUP_SAMPLE examples (never every name: it must fit a payload). */
export interface CleanupPlan {
  asOf: string;
  scanned: number;
  toDelete: FinishedCounts;
  /** Old enough, but labelled keep. */
  kept: number;
  samples: { delete: CleanupCandidate[]; kept: { name: string; reason: string }[] };
}

/** What a deletion did (also its heartbeated progress). */
export interface CleanupDeletion {
  scanned: number;
  deleted: FinishedCounts;
  /** Deleted meanwhile (404), or recreated under the same name (uid precondition, 409): left alone. */
  alreadyGone: number;
  kept: number;
  samples: { deleted: string[]; alreadyGone: string[] };
}

export interface CleanupReport {
  runbook: 'cleanupTaskRuns';
  namespace: string;
  dryRun: boolean;
  /** The time the ages were measured at. */
  asOf: string;
  scanned: number;
  /** TaskRuns deleted (dry run: that a run would delete). */
  deleted: number;
  deletedByPhase: FinishedCounts;
  alreadyGone: number;
  /** Old enough but labelled keep. */
  kept: number;
  /** At most CLEANUP_SAMPLE names of each. */
  samples: { deleted: string[]; alreadyGone: string[]; kept: { name: string; reason: string }[] };
}
