// The controller's loop, a pipeline: the next watch starts as soon as the last one returned, while
// the writes of what it saw run alongside (PipelineScheduler decides what is in flight); the summary
// it publishes (query, current details, search attributes) and continue-as-new.
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  ActivityCancellationType,
} from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { Activities } from '../../activities/index.ts';
import { NON_RETRYABLE_TYPES } from '../../contract/failures.ts';
import {
  activeCount,
  applyResults,
  applyWatchResult,
  carryState,
  countByPhase,
  hotPathBudget,
  type ReconcilerState,
} from './reconcile.ts';
import { PipelineScheduler } from './scheduler.ts';
import { controllerSuspensionAck, controllerSuspensionSignal } from '../../contract/incident-messages.ts';
import type {
  ControllerConfig,
  ControllerSummary,
  ControllerSuspended,
  TaskRunAction,
  TaskRunControllerOptions,
  WatchCursor,
  WatchInput,
} from '../../contract/types/taskrun.ts';

const retry = {
  initialInterval: '200 milliseconds',
  maximumInterval: '10 seconds',
  nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
};

/** The watch: returns on changes or after maxWaitSeconds; heartbeats its cursor. Retried until it works. */
const watchActs = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '10 seconds',
  retry, // no maximumAttempts: a watch is retried until the API server answers again
  // Cancelled before continue-as-new (the next run watches again from the carried cursor) and on
  // suspension; both wait until the watch has stopped (it may be creating Jobs: the hot path).
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/** One run of the controller (continue-as-new starts the next from what it carries). */
export interface ControllerRun {
  opts: TaskRunControllerOptions;
  state: ReconcilerState;
  cursor?: WatchCursor;
  config?: ControllerConfig;
  rounds: number;
  runs: number;
  /** A full relist every resyncSeconds (level-triggered: whatever a watch missed is seen then). */
  lastSnapshot: number;
  /** Suspended (incident containment): no new Jobs; statuses are still written. Carried across continue-as-new. */
  suspended?: ControllerSuspended;
  /** The last watch result's seq (acknowledged to the worker's view) and its count of queued TaskRuns. */
  ack?: number;
  queued?: number;
}

/**
 * Jobless pending TaskRuns the worker's view sends at most (the rest wait there, counted as
 * queued): the next ones to get a slot, enough to refill maxConcurrentTasks 200 in one round.
 */
export const VIEW_WINDOW = 300;

/** A full relist is due (every resyncSeconds): the next watch lists instead of resuming from the cursor. */
export const resyncDue = (run: ControllerRun, now = Date.now()) =>
  run.opts.resyncSeconds * 1000 - (now - run.lastSnapshot) <= 0;

/**
 * The next watch's request (it changes nothing): a snapshot when there is no cursor or the resync
 * is due; else a watch until it is due, which then lists everything itself if nothing changed (one
 * activity per resync when idle).
 */
export function watchRequest(run: ControllerRun, now = Date.now()): WatchInput {
  const untilResync = run.opts.resyncSeconds * 1000 - (now - run.lastSnapshot);
  const cursor = resyncDue(run, now) ? undefined : run.cursor;
  return {
    namespace: run.opts.namespace,
    configMapName: run.opts.configMapName,
    ...(cursor
      ? { cursor, relistOnIdle: true, maxWaitSeconds: Math.max(1, Math.ceil(untilResync / 1000)) }
      : { maxWaitSeconds: run.opts.resyncSeconds }),
    activeTasks: activeCount(run.state.tracked),
    ...(run.config ? { config: run.config } : {}),
    // Suspended: the watch creates no Job either.
    ...(run.config && !run.suspended ? { createBudget: hotPathBudget(run.state.tracked, run.config) } : {}),
    ...(run.ack !== undefined ? { ack: run.ack } : {}),
    window: VIEW_WINDOW,
  };
}

export function summary(run: ControllerRun): ControllerSummary {
  const { state, config } = run;
  return {
    namespace: run.opts.namespace,
    tracked: state.tracked.size,
    byPhase: countByPhase(state.tracked),
    active: activeCount(state.tracked),
    ...(run.queued ? { queued: run.queued } : {}),
    finished: { ...state.finishedCounts },
    recentFinished: state.finished.size,
    rounds: run.rounds,
    runs: run.runs,
    ...(config
      ? {
          config: {
            resourceVersion: config.resourceVersion,
            maxConcurrentTasks: config.maxConcurrentTasks,
            ...(config.error ? { error: config.error } : {}),
          },
        }
      : {}),
  };
}

/** TASKRUN_SEARCH_ATTRIBUTES as typed keys. */
const SA = {
  namespace: defineSearchAttributeKey('TaskRunNamespace', SearchAttributeType.KEYWORD),
  active: defineSearchAttributeKey('TaskRunsActive', SearchAttributeType.INT),
  pending: defineSearchAttributeKey('TaskRunsPending', SearchAttributeType.INT),
};

/** Upserts the search attributes whose values differ from the workflow's (carried across continue-as-new): each upsert is a history event. */
function upsertChanged(s: ControllerSummary): void {
  const current = workflowInfo().typedSearchAttributes;
  const changed: SearchAttributePair[] = [];
  if (current.get(SA.namespace) !== s.namespace) changed.push({ key: SA.namespace, value: s.namespace });
  if (current.get(SA.active) !== s.active) changed.push({ key: SA.active, value: s.active });
  const pending = (s.byPhase.Pending ?? 0) + (s.queued ?? 0);
  if (current.get(SA.pending) !== pending) changed.push({ key: SA.pending, value: pending });
  if (changed.length) upsertSearchAttributes(changed);
}

/** The Web UI's current details, and the search attributes when the input asks for them. */
function publish(run: ControllerRun): void {
  const s = summary(run);
  setCurrentDetails(
    `**taskRunController** ${s.namespace}${run.suspended ? ` **SUSPENDED** by ${run.suspended.by} since ${run.suspended.since}: no new Jobs` : ''}\n\ntracked ${s.tracked}, active ${s.active}${s.queued ? `, queued ${s.queued}` : ''}: ${
      Object.entries(s.byPhase)
        .map(([p, n]) => `${p} ${n}`)
        .join(', ') || 'no unfinished TaskRuns'
    }\n\nfinished since start: ${s.finished.Succeeded} succeeded, ${s.finished.Failed} failed\n\nround ${s.rounds} of run ${s.runs}${s.config?.error ? `\n\n**config error** (ConfigMap ${run.opts.configMapName}): ${s.config.error}` : ''}`,
  );
  if (run.opts.searchAttributes) upsertChanged(s);
}

const continueAsNewDue = (run: ControllerRun) =>
  workflowInfo().continueAsNewSuggested || run.rounds >= run.opts.maxRounds;

/** Continue-as-new once every handler is done, carrying the unfinished TaskRuns and the cursor. */
async function carryOn(run: ControllerRun): Promise<never> {
  await condition(allHandlersFinished);
  const { carried: _dropped, ...rest } = run.opts;
  return continueAsNew({
    ...rest,
    carried: { ...carryState(run.state, run.cursor, run.runs), ...(run.suspended ? { suspended: run.suspended } : {}) },
  });
}

/**
 * Creations and status writes, as ordinary activities that run alongside the watch (local ones
 * would hold back the workflow task's other commands: the next watch could not start until every
 * write was done). A retry or crash re-runs them: create-or-get with deterministic names makes that
 * harmless. Per-item errors come back as results.
 */
const applyActs = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { ...retry, maximumAttempts: 5 },
});

/**
 * TaskRuns in apply calls at once (each call writes 50 at a time): a burst must not flood the API
 * server (429 beyond ~200 mutating requests in flight), while a stream's small calls never wait
 * for each other.
 */
const MAX_ACTIONS_IN_FLIGHT = 100;
/**
 * A TaskRun whose write failed transiently is tried again after this long, not in a tight loop (a
 * permanent rejection of its ConfigMap or Job fails it instead: ActionResult.rejected).
 */
const RETRY_AFTER_MS = 5000;

/** Before continue-as-new, how long a watch in flight may take to return by itself before it is cancelled. */
const WATCH_RETURN_WAIT = '500 milliseconds';

/** Watches and writes until continue-as-new is due, then continues as new. */
export async function pipeline(run: ControllerRun): Promise<never> {
  const { state, opts } = run;
  const scheduler = new PipelineScheduler({
    maxInFlight: MAX_ACTIONS_IN_FLIGHT,
    retryAfterMs: RETRY_AFTER_MS,
    chunkSize: opts.chunkSize,
  });
  let watchScope: CancellationScope | undefined;
  let wake = false;

  // Suspension (incident containment): once acknowledged, no Job creation is in flight and none starts.
  setHandler(controllerSuspensionSignal, async (s) => {
    run.suspended = s.suspend
      ? (run.suspended ?? { by: s.by, reason: s.reason, since: new Date().toISOString() })
      : undefined;
    wake = true;
    if (s.suspend) {
      // A watch with a hot-path budget is stopped (its cancellation completes once its creations
      // have); the next one is started without a budget.
      if (scheduler.watchCreatesJobs) watchScope?.cancel();
      await condition(() => scheduler.idle && !scheduler.watchCreatesJobs);
      wake = true;
    }
    if (s.replyTo) {
      await getExternalWorkflowHandle(s.replyTo)
        .signal(controllerSuspensionAck, {
          request: s.request,
          suspended: run.suspended !== undefined,
          active: activeCount(state.tracked),
        })
        .catch(() => undefined);
    }
  });

  // Callbacks only report to the scheduler; the loop below acts.
  const startWatch = () => {
    const request = watchRequest(run);
    // A relist is due: its snapshot replaces the cursor (and a continue-as-new meanwhile lists too).
    if (!request.cursor) delete run.cursor;
    scheduler.watchStarted((request.createBudget ?? 0) > 0);
    const scope = new CancellationScope();
    watchScope = scope;
    scope
      .run(() => watchActs.watchTaskRunChanges(request))
      .then(
        (result) => scheduler.watchReturned(result),
        (err: unknown) => {
          // A cancelled watch can also end in a timeout (its worker died meanwhile): still a cancellation.
          if (isCancellation(err) || scope.consideredCancelled) scheduler.watchCancelled();
          else scheduler.watchFailed(err);
        },
      );
  };

  const sendApply = (config: ControllerConfig, actions: TaskRunAction[]) => {
    applyActs.applyTaskRunActions({ namespace: opts.namespace, config, actions }).then(
      (results) => {
        applyResults(state, actions, results, new Date().toISOString());
        scheduler.applyDone(actions, results, Date.now());
      },
      // Every attempt failed (the API server is down): try these again later.
      () => scheduler.applyFailed(actions, Date.now()),
    );
  };

  for (;;) {
    if (!scheduler.watching) startWatch();
    await condition(() => scheduler.ready || wake);
    wake = false;
    for (const result of scheduler.take()) {
      run.rounds++;
      if (result.config.error && result.config.error !== run.config?.error) {
        log.warn('taskRunController: the controller ConfigMap is invalid, the last good config is kept', {
          namespace: opts.namespace,
          configMap: opts.configMapName,
          error: result.config.error,
        });
      }
      run.config = result.config;
      run.cursor = result.cursor;
      if (result.seq !== undefined) run.ack = result.seq;
      if (result.queued !== undefined) run.queued = result.queued;
      if (result.snapshot && result.relisted !== 'view') run.lastSnapshot = Date.now();
      applyWatchResult(state, result, new Date().toISOString(), { createdMeanwhile: scheduler.createdMeanwhile });
    }
    // Suspended: no free slot, so no new Job (the TaskRuns wait as Pending).
    const config = run.config && run.suspended ? { ...run.config, maxConcurrentTasks: 0 } : run.config;
    if (config) for (const actions of scheduler.dispatch(state.tracked, config, Date.now())) sendApply(config, actions);
    const delay = scheduler.retryTimer(Date.now());
    if (delay !== undefined) void sleep(delay).then(() => scheduler.retryTimerFired());
    publish(run);

    if (continueAsNewDue(run)) {
      // No activity may be in flight when the run continues as new: one that completes during that
      // workflow task fails it (UnhandledCommand), and the retried task replays the whole history
      // (5.4 s at 4,100 events: a stream bench's TaskRuns waited that long for their Jobs). A busy
      // watch returns within moments; a quiet one is cancelled, which reaches it with its next
      // heartbeat (seconds). What a watch returns now is not lost: the next run gets the view afresh.
      if (scheduler.watching && !(await condition(() => !scheduler.watching, WATCH_RETURN_WAIT))) watchScope?.cancel();
      await condition(() => scheduler.idle && !scheduler.watching);
      return carryOn(run);
    }
  }
}
