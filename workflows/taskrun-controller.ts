// taskRunController: the TaskRun controller of one namespace, as one long-running workflow with
// a fixed id (taskrun-controller-<namespace>). Each round: a watch activity returns the changes
// of TaskRuns and agent Jobs since the last resourceVersions (or a snapshot), the reconciler
// folds them into its state, then creates ConfigMap + Job pairs and writes statuses in chunked
// activities that run in parallel. Job names are derived from the TaskRun's name and uid, so no
// retry or crash can give a TaskRun a second Job. Every TaskRun's life answers the `taskRun`
// query (finished ones: the newest finishedHistory); the history stays bounded by continue-as-new,
// and what it carries by following only unfinished TaskRuns. With `searchAttributes`, the counts
// are search attributes (TASKRUN_SEARCH_ATTRIBUTES), upserted when they change.
import { allHandlersFinished, condition, continueAsNew, patched, proxyActivities, proxyLocalActivities, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { Activities } from '../activities/index.ts';
import { parseInput } from './validate.ts';
import { NON_RETRYABLE_TYPES } from './failures.ts';
import { taskRunQuery, taskRunControllerQuery } from './messages.ts';
import {
  activeCount,
  applyResults,
  applyWatchResult,
  carryState,
  chunk,
  countByPhase,
  lookup,
  planRound,
  restoreState,
} from './taskrun-reconcile.ts';
import {
  taskRunControllerInputSchema,
  type ControllerCarried,
  type ControllerConfig,
  type ControllerSummary,
  type TaskRunControllerInput,
  type WatchCursor,
} from './types/taskrun.ts';

const retry = { initialInterval: '200 milliseconds', maximumInterval: '10 seconds', nonRetryableErrorTypes: NON_RETRYABLE_TYPES };

/** The watch: returns on changes or after maxWaitSeconds; heartbeats its cursor. Retried until it works. */
const watchActs = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '10 seconds',
  retry, // no maximumAttempts: a watch is retried until the API server answers again
});

/**
 * Creations and status writes, as local activities: they run in the worker that holds the workflow
 * task, without a round trip through the server's task queue (the stream latency target needs it).
 * A worker crash re-runs them: create-or-get with deterministic names makes that harmless. Per-item
 * errors come back as results; the call itself retries a few times.
 */
const applyActs = proxyLocalActivities<Activities>({ startToCloseTimeout: '2 minutes', localRetryThreshold: '10 seconds', retry: { ...retry, maximumAttempts: 5 } });

const PARALLEL_CHUNKS = 2;

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

/** Runs fn over items with at most `limit` running at once; results in item order (deterministic). */
async function inPool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

export async function taskRunController(input: TaskRunControllerInput = {}): Promise<void> {
  const opts = parseInput('taskRunController', taskRunControllerInputSchema, input);
  const carried = opts.carried as ControllerCarried | undefined;
  const state = restoreState(carried, opts.finishedHistory);
  let cursor: WatchCursor | undefined = carried?.cursor;
  let config: ControllerConfig | undefined;
  let rounds = 0;
  // A full relist every resyncSeconds (level-triggered: whatever a watch missed is seen then).
  let lastSnapshot = Date.now();
  const runs = (carried?.runs ?? 0) + 1;

  const summary = (): ControllerSummary => ({
    namespace: opts.namespace, tracked: state.tracked.size, byPhase: countByPhase(state.tracked), active: activeCount(state.tracked),
    finished: { ...state.finishedCounts }, recentFinished: state.finished.size, rounds, runs,
    ...(config ? { config: { resourceVersion: config.resourceVersion, maxConcurrentTasks: config.maxConcurrentTasks } } : {}),
  });
  setHandler(taskRunQuery, (name) => lookup(state, name));
  setHandler(taskRunControllerQuery, summary);

  for (;;) {
    const hasErrors = [...state.tracked.values()].some((t) => t.lastError && !t.jobCreated);
    if (Date.now() - lastSnapshot >= opts.resyncSeconds * 1000) cursor = undefined;
    const result = await watchActs.watchTaskRunChanges({
      namespace: opts.namespace, configMapName: opts.configMapName,
      ...(cursor ? { cursor } : {}),
      maxWaitSeconds: hasErrors ? Math.min(5, opts.resyncSeconds) : opts.resyncSeconds,
      activeTasks: activeCount(state.tracked),
    });
    rounds++;
    config = result.config;
    cursor = result.cursor;
    if (result.snapshot) lastSnapshot = Date.now();
    // Versioned: runs recorded before it did not fail TaskRuns whose Job a snapshot lacks.
    applyWatchResult(state, result, new Date().toISOString(), { lostJobs: patched('taskrun-lost-jobs') });

    const now = new Date().toISOString();
    const actions = planRound(state.tracked, config, now);
    if (actions.length) {
      // At most PARALLEL_CHUNKS calls at once (each with 50 writes in flight): a burst must not
      // flood the API server (its max-mutating-requests-inflight answers 429 beyond ~200).
      const cfg = config;
      const results = await inPool(chunk(actions, opts.chunkSize), PARALLEL_CHUNKS, (c) => applyActs.applyTaskRunActions({ namespace: opts.namespace, config: cfg, actions: c }));
      applyResults(state, actions, results.flat(), new Date().toISOString());
    }
    const s = summary();
    setCurrentDetails(`**taskRunController** ${opts.namespace}\n\ntracked ${s.tracked}, active ${s.active}: ${Object.entries(s.byPhase).map(([p, n]) => `${p} ${n}`).join(', ') || 'no unfinished TaskRuns'}\n\nfinished since start: ${s.finished.Succeeded} succeeded, ${s.finished.Failed} failed\n\nround ${rounds} of run ${runs}`);
    if (opts.searchAttributes) upsertChanged(s);

    if (workflowInfo().continueAsNewSuggested || rounds >= opts.maxRounds) {
      await condition(allHandlersFinished);
      const next = carryState(state, cursor, runs);
      const { carried: _dropped, ...rest } = opts;
      await continueAsNew<typeof taskRunController>({ ...rest, carried: next });
    }
  }
}
