// taskRunController: the TaskRun controller of one namespace, as one long-running workflow with
// a fixed id (taskrun-controller-<namespace>). A watch activity returns the changes of TaskRuns
// and agent Jobs since the last resourceVersions (or a snapshot); the reconciler folds them into
// its state, starts the next watch at once, and creates ConfigMap + Job pairs and writes statuses
// in chunked activities that run alongside the watch (a pipeline: a TaskRun that appears while
// Jobs are being created is handled without waiting for them). Job names are derived from the
// TaskRun's name and uid, so no retry or crash can give a TaskRun a second Job. Every TaskRun's
// life answers the `taskRun` query (finished ones: the newest finishedHistory); the history stays
// bounded by continue-as-new, and what it carries by following only unfinished TaskRuns. With
// `searchAttributes`, the counts are search attributes (TASKRUN_SEARCH_ATTRIBUTES), upserted when
// they change.
import { ApplicationFailure, CancellationScope, condition, isCancellation, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import { INVALID_INPUT } from './failures.ts';
import type { Activities } from '../activities/index.ts';
import { parseInput } from './validate.ts';
import { taskRunQuery, taskRunControllerQuery } from './messages.ts';
import { applyResults, applyWatchResult, chunk, lookup, planRound, restoreState } from './taskrun-reconcile.ts';
import { carryOn, continueAsNewDue, publish, retry, summary, watchActs, watchRequest, type ControllerRun } from './taskrun-controller-run.ts';
import {
  controllerWorkflowId,
  taskRunControllerInputSchema,
  type ControllerCarried,
  type ControllerConfig,
  type TaskRunAction,
  type TaskRunControllerInput,
  type WatchResult,
} from './types/taskrun.ts';

/**
 * Creations and status writes, as ordinary activities that run alongside the watch (local ones
 * would hold back the workflow task's other commands: the next watch could not start until every
 * write was done). A retry or crash re-runs them: create-or-get with deterministic names makes that
 * harmless. Per-item errors come back as results.
 */
const applyActs = proxyActivities<Activities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout: '30 seconds', retry: { ...retry, maximumAttempts: 5 } });

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

export async function taskRunController(input: TaskRunControllerInput = {}): Promise<void> {
  const opts = parseInput('taskRunController', taskRunControllerInputSchema, input);
  refuseImpostor(opts);
  const carried = opts.carried as ControllerCarried | undefined;
  const run: ControllerRun = {
    opts, state: restoreState(carried, opts.finishedHistory), rounds: 0, runs: (carried?.runs ?? 0) + 1, lastSnapshot: Date.now(),
    ...(carried?.cursor ? { cursor: carried.cursor } : {}),
  };
  setHandler(taskRunQuery, (name) => lookup(run.state, name));
  setHandler(taskRunControllerQuery, () => summary(run));
  await pipeline(run);
}

/**
 * One controller per namespace: only under its fixed workflow id (a second one under another id
 * would create the same Jobs and fight over the statuses). The carried state comes only from this
 * workflow's own continue-as-new: one given at a start would make the controller skip or redo work.
 */
function refuseImpostor(opts: { namespace: string; carried?: unknown }): void {
  const info = workflowInfo();
  const expected = controllerWorkflowId(opts.namespace);
  if (info.workflowId !== expected) {
    throw ApplicationFailure.create({
      type: INVALID_INPUT, nonRetryable: true,
      message: `taskRunController of namespace ${opts.namespace} runs only as workflow id ${expected}, not ${info.workflowId} (one controller per namespace; start it with client/taskrun-controller.ts)`,
    });
  }
  if (opts.carried !== undefined && info.continuedFromExecutionRunId === undefined) {
    throw ApplicationFailure.create({ type: INVALID_INPUT, nonRetryable: true, message: 'taskRunController: carried is internal, accepted only from the controller\'s own continue-as-new; start it without carried' });
  }
}

async function pipeline(run: ControllerRun): Promise<never> {
  const { state, opts } = run;
  // The watch in flight, and what came back (callbacks only record; the loop below acts).
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

  const startWatch = () => {
    createdDuringWatch = new Set();
    watching = true;
    watchScope = new CancellationScope();
    const request = watchRequest(run, run.config ? { config: run.config } : {});
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

  const sendApply = (config: ControllerConfig, actions: TaskRunAction[]) => {
    applyCalls++;
    for (const a of actions) busy.add(a.name);
    applyActs.applyTaskRunActions({ namespace: opts.namespace, config, actions }).then(
      (results) => {
        applyResults(state, actions, results, new Date().toISOString());
        for (const r of results) {
          if (r.error) retryAt.set(r.name, Date.now() + RETRY_AFTER_MS);
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

  const dispatch = (config: ControllerConfig) => {
    const now = Date.now();
    // TaskRuns in back-off get no action and hold no slot: the ones after them are not held up.
    const backoff = new Set<string>();
    for (const [name, at] of retryAt) if (at > now) backoff.add(name);
    const due = planRound(state.tracked, config, new Date(now).toISOString(), busy, backoff);
    // A due retry is sent now, or is no longer needed, or waits for a slot like any other TaskRun.
    for (const [name, at] of retryAt) if (at <= now || !state.tracked.has(name)) retryAt.delete(name);
    const room = Math.max(0, MAX_ACTIONS_IN_FLIGHT - busy.size);
    for (const actions of chunk(due.slice(0, room), opts.chunkSize)) sendApply(config, actions);
  };

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

  for (;;) {
    if (!watching) startWatch();
    await condition(() => watched.length > 0 || applied || retryDue || watchFailure !== undefined);
    if (watchFailure !== undefined) throw watchFailure;
    applied = false;
    retryDue = false;

    for (const result of watched.splice(0)) {
      run.rounds++;
      run.config = result.config;
      run.cursor = result.cursor;
      if (result.snapshot) run.lastSnapshot = Date.now();
      applyWatchResult(state, result, new Date().toISOString(), { createdMeanwhile: createdDuringWatch });
    }
    if (run.config) dispatch(run.config);
    armRetryTimer();
    publish(run);

    if (continueAsNewDue(run)) {
      if (watching) watchScope?.cancel();
      await condition(() => applyCalls === 0);
      return carryOn(run);
    }
  }
}
