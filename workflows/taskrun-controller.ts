// taskRunController: the TaskRun controller of one namespace, as one long-running workflow with
// a fixed id (taskrun-controller-<namespace>). A watch activity returns the changes of TaskRuns
// and agent Jobs since the last resourceVersions (or a snapshot); the reconciler folds them into
// its state, starts the next watch at once, and creates ConfigMap + Job pairs and writes statuses
// in chunked activities that run alongside the watch (a pipeline: a TaskRun that appears while
// Jobs are being created is seen and handled without waiting for them). Job names are derived
// from the TaskRun's name and uid, so no retry or crash can give a TaskRun a second Job. Every
// TaskRun's life answers the `taskRun` query; the history stays bounded by continue-as-new.
import { ActivityCancellationType, CancellationScope, allHandlersFinished, condition, continueAsNew, isCancellation, proxyActivities, setCurrentDetails, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { parseInput } from './validate.ts';
import { NON_RETRYABLE_TYPES } from './failures.ts';
import { taskRunQuery, taskRunControllerQuery } from './messages.ts';
import {
  activeCount,
  isTerminal,
  applyResults,
  applyWatchResult,
  chunk,
  countByPhase,
  planRound,
  type TaskRunState,
} from './taskrun-reconcile.ts';
import {
  taskRunControllerInputSchema,
  type ControllerCarried,
  type ControllerConfig,
  type ControllerSummary,
  type TaskRunControllerInput,
  type TaskRunAction,
  type TrackedTaskRun,
  type WatchCursor,
  type WatchResult,
} from './types/taskrun.ts';

const retry = { initialInterval: '200 milliseconds', maximumInterval: '10 seconds', nonRetryableErrorTypes: NON_RETRYABLE_TYPES };

/** The watch: returns on changes or after maxWaitSeconds; heartbeats its cursor. Retried until it works. */
const watchActs = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '10 seconds',
  retry, // no maximumAttempts: a watch is retried until the API server answers again
  // Cancelled before continue-as-new: the next run watches again from the carried cursor.
  cancellationType: ActivityCancellationType.TRY_CANCEL,
});

/**
 * Creations and status writes. Ordinary activities, not local ones: a workflow task that waits
 * for local activities holds back its other commands, so the next watch could not start until
 * every write of the round was done (measured: p99 2.9 s from TaskRun to Job at 20 a second).
 * A retry or crash re-runs them: create-or-get with deterministic names makes that harmless.
 * Per-item errors come back as results.
 */
const applyActs = proxyActivities<Activities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout: '30 seconds', retry: { ...retry, maximumAttempts: 5 } });

/**
 * TaskRuns in apply calls at once (each call writes 50 at a time): a burst must not flood the API
 * server (429 beyond ~200 mutating requests in flight), while a stream's small calls never wait
 * for each other.
 */
const MAX_ACTIONS_IN_FLIGHT = 100;
/** A TaskRun whose write failed is tried again after this long, not in a tight loop. */
const RETRY_AFTER_MS = 5000;

/** What a finished TaskRun still needs after continue-as-new: its phases and final status, not its Job or conditions. */
function compact(t: TrackedTaskRun): TrackedTaskRun {
  if (!isTerminal(t.phase) || t.written?.phase !== t.phase) return t;
  const { job: _job, pendingSpec: _spec, ...rest } = t;
  return { ...rest, written: { ...t.written, conditions: [] } };
}

export async function taskRunController(input: TaskRunControllerInput = {}): Promise<void> {
  const opts = parseInput('taskRunController', taskRunControllerInputSchema, input);
  const carried = opts.carried as ControllerCarried | undefined;
  const state: TaskRunState = new Map((carried?.taskRuns ?? []).map((t) => [t.name, t]));
  let cursor: WatchCursor | undefined = carried?.cursor;
  let config: ControllerConfig | undefined;
  let rounds = 0;
  // A full relist every resyncSeconds (level-triggered: whatever a watch missed is seen then).
  let lastSnapshot = Date.now();
  const runs = (carried?.runs ?? 0) + 1;

  const summary = (): ControllerSummary => ({
    namespace: opts.namespace, tracked: state.size, byPhase: countByPhase(state), active: activeCount(state), rounds, runs,
    ...(config ? { config: { resourceVersion: config.resourceVersion, maxConcurrentTasks: config.maxConcurrentTasks } } : {}),
  });
  setHandler(taskRunQuery, (name) => state.get(name) ?? null);
  setHandler(taskRunControllerQuery, summary);

  // The watch in flight, and what came back (its callbacks only record; the loop below acts).
  let watchScope: CancellationScope | undefined;
  let watching = false;
  const watched: WatchResult[] = [];
  let watchFailure: unknown;
  // Writes in flight: their TaskRuns get no other action until they are back.
  let applyCalls = 0;
  let applied = false;
  const busy = new Set<string>();
  // Jobs created while the current watch ran: a snapshot it returns may have been listed before them.
  let createdDuringWatch = new Set<string>();
  // TaskRuns whose last write failed -> when to try again; one timer wakes the loop for the earliest.
  const retryAt = new Map<string, number>();
  let retryTimerArmed = false;
  let retryDue = false;
  const armRetryTimer = () => {
    if (retryTimerArmed || !retryAt.size) return;
    let earliest = Infinity;
    for (const at of retryAt.values()) earliest = Math.min(earliest, at);
    retryTimerArmed = true;
    void sleep(Math.max(100, earliest - Date.now())).then(() => {
      retryTimerArmed = false;
      retryDue = true;
    });
  };

  const startWatch = () => {
    if (Date.now() - lastSnapshot >= opts.resyncSeconds * 1000) cursor = undefined;
    createdDuringWatch = new Set();
    watching = true;
    watchScope = new CancellationScope();
    const request = {
      namespace: opts.namespace, configMapName: opts.configMapName,
      ...(cursor ? { cursor } : {}), ...(config ? { config } : {}),
      maxWaitSeconds: opts.resyncSeconds,
      activeTasks: activeCount(state),
    };
    watchScope.run(() => watchActs.watchTaskRunChanges(request)).then(
      (result) => {
        watching = false;
        watched.push(result);
      },
      (err: unknown) => {
        watching = false;
        if (!isCancellation(err)) watchFailure = err;
      },
    );
  };

  const dispatch = (cfg: ControllerConfig) => {
    const now = Date.now();
    const due = planRound(state, cfg, new Date(now).toISOString(), busy).filter((a) => (retryAt.get(a.name) ?? 0) <= now);
    // A retry that is due is either sent now or no longer needed (or waits for a slot like any other).
    for (const [name, at] of retryAt) if (at <= now || !state.has(name)) retryAt.delete(name);
    const room = Math.max(0, MAX_ACTIONS_IN_FLIGHT - busy.size);
    for (const actions of chunk(due.slice(0, room), opts.chunkSize)) sendApply(cfg, actions);
  };

  const sendApply = (cfg: ControllerConfig, actions: TaskRunAction[]) => {
    applyCalls++;
    for (const a of actions) busy.add(a.name);
    applyActs.applyTaskRunActions({ namespace: opts.namespace, config: cfg, actions }).then(
      (results) => {
        applyResults(state, actions, results, new Date().toISOString());
        for (const r of results) {
          if (r.error) retryAt.set(r.name, Date.now() + RETRY_AFTER_MS);
          else retryAt.delete(r.name);
          if (r.job === 'created' || r.job === 'existing') createdDuringWatch.add(r.name);
        }
      },
      // Every attempt failed (the API server is down): try these again later.
      () => { for (const a of actions) retryAt.set(a.name, Date.now() + RETRY_AFTER_MS); },
    ).finally(() => {
      applyCalls--;
      for (const a of actions) busy.delete(a.name);
      applied = true;
    });
  };

  for (;;) {
    if (!watching) startWatch();
    await condition(() => watched.length > 0 || applied || retryDue || watchFailure !== undefined);
    if (watchFailure !== undefined) throw watchFailure;
    applied = false;
    retryDue = false;

    for (const result of watched.splice(0)) {
      rounds++;
      config = result.config;
      cursor = result.cursor;
      if (result.snapshot) lastSnapshot = Date.now();
      applyWatchResult(state, result, new Date().toISOString(), createdDuringWatch);
    }
    if (config) dispatch(config);
    armRetryTimer();
    const s = summary();
    setCurrentDetails(`**taskRunController** ${opts.namespace}\n\ntracked ${s.tracked}, active ${s.active}: ${Object.entries(s.byPhase).map(([p, n]) => `${p} ${n}`).join(', ') || 'no TaskRuns'}\n\nround ${rounds} of run ${runs}`);

    if (workflowInfo().continueAsNewSuggested || rounds >= opts.maxRounds) {
      if (watching) watchScope?.cancel();
      await condition(() => applyCalls === 0 && allHandlersFinished());
      const next: ControllerCarried = { taskRuns: [...state.values()].map(compact), ...(cursor ? { cursor } : {}), runs };
      const { carried: _dropped, ...rest } = opts;
      await continueAsNew<typeof taskRunController>({ ...rest, carried: next });
    }
  }
}
