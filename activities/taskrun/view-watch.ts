// The controller's watch activity: the namespace's watches, open between calls (live-watch.ts; a raw
// watch call, watch.ts, when they fail), feed a per-namespace view cache on this worker (view.ts), and
// the workflow gets only the view's differences, under a byte budget. The cache is keyed by
// namespace and controller workflow id and remembers the workflow run it serves: a new run
// (continue-as-new), a result the workflow did not acknowledge, or a cache this worker does not
// have (restart, another worker) sends the view afresh as a snapshot, so nothing that is only on
// the worker is ever needed for correctness. Within the workflow's budget it creates the Jobs of
// new TaskRuns itself before it returns (the hot path, hot-path.ts).
import { randomInt } from 'node:crypto';
import type { KubeClients } from '../kube/client.ts';
import { cancellationSignal, currentContext } from '../activity-context.ts';
import { createJobsAhead } from './hot-path.ts';
import { relistTaskRuns, watchTaskRunChanges, type WatchOptions } from './watch.ts';
import { LiveWatch } from './live-watch.ts';
import {
  DEFAULT_VIEW_WINDOW,
  diffView,
  emptyView,
  foldRaw,
  canCreateAhead,
  RESULT_BUDGET_BYTES,
  viewPending,
  type NamespaceView,
} from './view.ts';
import type { ControllerConfig, WatchCursor, WatchInput, WatchResult } from '../../contract/types/taskrun.ts';

interface CacheEntry {
  view: NamespaceView;
  cursor: WatchCursor;
  config: ControllerConfig;
  runId: string;
  usedAt: number;
  /** The call that owns the entry now (an abandoned attempt still running must not touch it). */
  owner: symbol;
  /** The watches that keep the view current between calls (live-watch.ts). */
  live?: LiveWatch;
}

/** Namespaces' views on this worker; the least recently used go beyond MAX_VIEWS. */
const cache = new Map<string, CacheEntry>();
const MAX_VIEWS = 16;

/**
 * How long a watch call keeps collecting once it has something to return (see the linger below).
 * Each round costs Temporal events and both processes CPU whatever it carries: at 3,000 TaskRuns
 * 600 ms instead of 200 took the worker 60 s of CPU instead of 79 and the Temporal server 18 s
 * instead of 43 (4,400 history events instead of 13,000). New TaskRuns still get their Jobs at once.
 */
export const LINGER_MS = 600;

export interface ViewWatchOptions extends WatchOptions {
  budgetBytes?: number;
  /** A Job the hot path created (taskrun_jobs_created_total). */
  onJobCreated?: () => void;
}

/** For tests: forget every view. */
export function clearViewCache(): void {
  for (const entry of cache.values()) entry.live?.stop();
  cache.clear();
}

export async function watchTaskRunView(
  kube: KubeClients,
  input: WatchInput,
  options: ViewWatchOptions = {},
): Promise<WatchResult> {
  const info = currentContext()?.info;
  const key = `${input.namespace}/${info?.workflowExecution?.workflowId ?? '-'}`;
  const runId = info?.workflowExecution?.runId ?? '-';
  const window = input.window ?? DEFAULT_VIEW_WINDOW;
  const budgetBytes = options.budgetBytes ?? RESULT_BUDGET_BYTES;
  const rawOptions = { ...options, ignoreHeartbeat: true };
  const owner = Symbol('watch');
  const deadline = Date.now() + input.maxWaitSeconds * 1000;
  let entry = cache.get(key);
  let reset = !entry || !input.cursor || entry.runId !== runId || input.ack !== entry.view.seq;
  let relisted: WatchResult['relisted'] = reset ? 'view' : undefined;

  if (!entry || !input.cursor) {
    // No view here, or a relist is due: list everything into a new one.
    const raw = await watchTaskRunChanges(kube, { ...input, cursor: undefined }, rawOptions);
    const view = emptyView();
    foldRaw(view, raw);
    // Numbered from a random start: another worker's view never acknowledges this one's results by chance.
    view.seq = entry ? entry.view.seq : randomInt(1, 2 ** 47);
    entry?.live?.stop();
    entry = { view, cursor: raw.cursor, config: raw.config, runId, usedAt: Date.now(), owner };
    relisted = input.cursor ? 'view' : (raw.relisted ?? 'initial');
    reset = true;
  }
  entry.owner = owner;
  entry.runId = runId;
  entry.usedAt = Date.now();
  cache.set(key, entry);
  for (const [k, e] of cache)
    if (cache.size > MAX_VIEWS && k !== key && e.usedAt < Date.now() - 60_000) {
      e.live?.stop();
      cache.delete(k);
    }

  // The hot path runs on the config the budget was computed with (a changed one returns to the workflow first).
  const budget = input.createBudget ?? 0;
  const hotPathOn = () => budget > 0 && input.config?.resourceVersion === entry!.config.resourceVersion;
  const hotPathDue = () => hotPathOn() && canCreateAhead(entry!.view, budget);
  /**
   * Brings the view up to date: waits on its live watch (live-watch.ts); without one that works,
   * one raw watch call from the view's cursor, folded into the view (a list resets what is sent).
   */
  const pull = async (request: Partial<WatchInput>, pullOptions: WatchOptions = rawOptions) => {
    const view = entry!;
    if (await pullLive(view, request, pullOptions)) return;
    fold(view, await watchTaskRunChanges(kube, { ...input, cursor: view.cursor, ...request }, pullOptions));
  };
  /** A raw watch call's result into the view (a list resets what is sent). */
  const fold = (view: CacheEntry, raw: WatchResult) => {
    if (view.owner !== owner) throw new Error('watchTaskRunView: superseded by a newer attempt');
    view.cursor = raw.cursor;
    view.config = raw.config;
    foldRaw(view.view, raw);
    if (raw.snapshot) {
      relisted = raw.relisted;
      reset = true;
    }
  };
  /** False when the live watch broke (failed, or 410 Gone): the raw watch call reports or relists. */
  const pullLive = async (view: CacheEntry, request: Partial<WatchInput>, pullOptions: WatchOptions) => {
    if (view.live?.failed) {
      view.live = undefined;
      return false;
    }
    if (!view.live || view.live.stopped)
      view.live = new LiveWatch(kube, view, {
        namespace: input.namespace,
        configMapName: input.configMapName,
        ...(options.idleTimeoutMs ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
        ...(options.onWatchRequest ? { onWatchRequest: options.onWatchRequest } : {}),
      });
    const live = view.live;
    const changed = await live.changes(
      pullOptions.maxWaitMs ?? (request.maxWaitSeconds ?? input.maxWaitSeconds) * 1000,
    );
    if (view.owner !== owner) throw new Error('watchTaskRunView: superseded by a newer attempt');
    if (live.failed) {
      view.live = undefined;
      return false;
    }
    if (!changed && request.relistOnIdle) {
      // Nothing happened until the resync was due: list afresh (the watches start again from the list).
      live.stop();
      view.live = undefined;
      fold(view, await relistTaskRuns(kube, input, pullOptions, 'resync'));
    }
    return true;
  };
  // A changed config goes back to the workflow at once (no Job is made on the old one meanwhile).
  const configChanged = () =>
    input.config !== undefined && entry!.config.resourceVersion !== input.config.resourceVersion;
  // Watch until the view has something to send (or the wait is over); changes outside it (queued TaskRuns) only update the cache.
  while (!reset && !viewPending(entry.view, window) && !hotPathDue()) {
    await pull({
      config: input.config ?? entry.config,
      maxWaitSeconds: Math.max(1, Math.ceil((deadline - Date.now()) / 1000)),
      ...(input.relistOnIdle ? { relistOnIdle: true } : {}),
    });
    if (reset || configChanged() || Date.now() >= deadline - 500) break;
  }
  const createAhead = async () => {
    if (reset || !hotPathOn()) return;
    const view = entry!;
    await createJobsAhead(kube, view.view, {
      namespace: input.namespace,
      config: view.config,
      budget,
      stillOwner: () => view.owner === owner,
      signal: cancellationSignal(),
      ...(options.onJobCreated ? { onCreated: options.onJobCreated } : {}),
    });
  };
  await createAhead();
  // Linger: keep watching a little before returning (new TaskRuns still get their Jobs at once), so
  // that one round carries the changes of a busy namespace instead of one round trip for each.
  const lingerEnd = Math.min(Date.now() + LINGER_MS, deadline - 500);
  while (!reset && !configChanged() && Date.now() < lingerEnd) {
    // Never relistOnIdle here: a quiet linger is not a quiet namespace.
    await pull({ config: entry.config, relistOnIdle: false }, { ...rawOptions, maxWaitMs: lingerEnd - Date.now() });
    await createAhead();
  }
  const diff = diffView(entry.view, { window, budgetBytes, reset });
  return {
    ...(diff.snapshot ? { snapshot: diff.snapshot } : {}),
    changes: diff.changes,
    cursor: entry.cursor,
    config: entry.config,
    ...(relisted && diff.snapshot ? { relisted } : {}),
    seq: diff.seq,
    queued: diff.queued,
    ...(diff.more ? { more: true as const } : {}),
  };
}
