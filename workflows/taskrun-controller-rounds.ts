// taskRunController's first loop, round by round: watch, then write (local activities), then watch
// again. Kept only so that controllers that began with it replay deterministically until their next
// continue-as-new starts a run on the pipeline (taskrun-controller.ts, patch 'taskrun-pipeline').
// Remove it once no such run can exist (deprecatePatch first).
import { patched, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { activeCount, applyResults, applyWatchResult, chunk, planRound } from './taskrun-reconcile.ts';
import { carryOn, continueAsNewDue, publish, retry, watchActs, watchRequest, type ControllerRun } from './taskrun-controller-run.ts';

const applyActs = proxyLocalActivities<Activities>({ startToCloseTimeout: '2 minutes', localRetryThreshold: '10 seconds', retry: { ...retry, maximumAttempts: 5 } });
const PARALLEL_CHUNKS = 2;

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

export async function roundByRound(run: ControllerRun): Promise<never> {
  const { state, opts } = run;
  for (;;) {
    const hasErrors = [...state.tracked.values()].some((t) => t.lastError && !t.jobCreated);
    const request = watchRequest(run);
    const result = await watchActs.watchTaskRunChanges({ ...request, relistOnIdle: false, maxWaitSeconds: hasErrors ? Math.min(5, opts.resyncSeconds) : opts.resyncSeconds, activeTasks: activeCount(state.tracked) });
    run.rounds++;
    run.config = result.config;
    run.cursor = result.cursor;
    if (result.snapshot) run.lastSnapshot = Date.now();
    applyWatchResult(state, result, new Date().toISOString(), { lostJobs: patched('taskrun-lost-jobs') });

    const actions = planRound(state.tracked, result.config, new Date().toISOString());
    if (actions.length) {
      const cfg = result.config;
      const results = await inPool(chunk(actions, opts.chunkSize), PARALLEL_CHUNKS, (c) => applyActs.applyTaskRunActions({ namespace: opts.namespace, config: cfg, actions: c }));
      applyResults(state, actions, results.flat(), new Date().toISOString());
    }
    publish(run);
    if (continueAsNewDue(run)) return carryOn(run);
  }
}
