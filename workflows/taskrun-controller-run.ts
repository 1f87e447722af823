// What both loops of taskRunController share: one run's state, the watch activity, the summary it
// publishes (query, current details, search attributes) and continue-as-new.
import { allHandlersFinished, condition, continueAsNew, proxyActivities, setCurrentDetails, upsertSearchAttributes, workflowInfo, ActivityCancellationType } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { Activities } from '../activities/index.ts';
import { NON_RETRYABLE_TYPES } from './failures.ts';
import { activeCount, carryState, countByPhase, type ReconcilerState } from './taskrun-reconcile.ts';
import type { ControllerConfig, ControllerSummary, TaskRunControllerOptions, WatchCursor, WatchInput } from './types/taskrun.ts';

export const retry = { initialInterval: '200 milliseconds', maximumInterval: '10 seconds', nonRetryableErrorTypes: NON_RETRYABLE_TYPES };

/** The watch: returns on changes or after maxWaitSeconds; heartbeats its cursor. Retried until it works. */
export const watchActs = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '10 seconds',
  retry, // no maximumAttempts: a watch is retried until the API server answers again
  // Cancelled before continue-as-new: the next run watches again from the carried cursor.
  cancellationType: ActivityCancellationType.TRY_CANCEL,
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
}

/**
 * The next watch's request: a snapshot when the resync is due; else a watch until it is due, which
 * then lists everything itself if nothing changed (one activity per resync when idle).
 */
export function watchRequest(run: ControllerRun, extra: Partial<WatchInput> = {}): WatchInput {
  const untilResync = run.opts.resyncSeconds * 1000 - (Date.now() - run.lastSnapshot);
  if (untilResync <= 0) run.cursor = undefined;
  return {
    namespace: run.opts.namespace, configMapName: run.opts.configMapName,
    ...(run.cursor ? { cursor: run.cursor, relistOnIdle: true } : {}),
    maxWaitSeconds: run.cursor ? Math.max(1, Math.ceil(untilResync / 1000)) : run.opts.resyncSeconds,
    activeTasks: activeCount(run.state.tracked),
    ...extra,
  };
}

export function summary(run: ControllerRun): ControllerSummary {
  const { state, config } = run;
  return {
    namespace: run.opts.namespace, tracked: state.tracked.size, byPhase: countByPhase(state.tracked), active: activeCount(state.tracked),
    finished: { ...state.finishedCounts }, recentFinished: state.finished.size, rounds: run.rounds, runs: run.runs,
    ...(config ? { config: { resourceVersion: config.resourceVersion, maxConcurrentTasks: config.maxConcurrentTasks } } : {}),
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
  const pending = s.byPhase.Pending ?? 0;
  if (current.get(SA.pending) !== pending) changed.push({ key: SA.pending, value: pending });
  if (changed.length) upsertSearchAttributes(changed);
}

/** The Web UI's current details, and the search attributes when the input asks for them. */
export function publish(run: ControllerRun): void {
  const s = summary(run);
  setCurrentDetails(`**taskRunController** ${s.namespace}\n\ntracked ${s.tracked}, active ${s.active}: ${Object.entries(s.byPhase).map(([p, n]) => `${p} ${n}`).join(', ') || 'no unfinished TaskRuns'}\n\nfinished since start: ${s.finished.Succeeded} succeeded, ${s.finished.Failed} failed\n\nround ${s.rounds} of run ${s.runs}`);
  if (run.opts.searchAttributes) upsertChanged(s);
}

export const continueAsNewDue = (run: ControllerRun) => workflowInfo().continueAsNewSuggested || run.rounds >= run.opts.maxRounds;

/** Continue-as-new once every handler is done, carrying the unfinished TaskRuns and the cursor. */
export async function carryOn(run: ControllerRun): Promise<never> {
  await condition(allHandlersFinished);
  const { carried: _dropped, ...rest } = run.opts;
  return continueAsNew({ ...rest, carried: carryState(run.state, run.cursor, run.runs) });
}
