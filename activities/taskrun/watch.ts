// watchTaskRunChanges: list + watch of the namespace's TaskRuns and agent Jobs (one watch each,
// whatever the number of Jobs). Returns a batch of changes soon after the first one arrives, or
// nothing after maxWaitSeconds; a snapshot (list) on the first call and after 410 Gone. It
// heartbeats the cursor up to which nothing is pending, and a retried attempt resumes from there.
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { KubeClients } from '../kube/client.ts';
import { PAGE_SIZE } from '../kube/paginate.ts';
import { listTaskRuns, TASKRUN } from '../kube/taskruns.ts';
import { listAgentJobs, observeJob } from '../kube/jobs.ts';
import { cancellationSignal, heartbeat } from '../activity-context.ts';
import { listControllerConfig } from './config.ts';
import { KUBE_UNAVAILABLE } from '../../contract/failures.ts';
import { observeTaskRun, type RawTaskRun } from './observe.ts';
import { openWatchStreams } from './watch-streams.ts';
import {
  type ControllerConfig,
  type ObservedTaskRun,
  type WatchChange,
  type WatchCursor,
  type WatchInput,
  type WatchResult,
} from '../../contract/types/taskrun.ts';

/** After the first change, keep collecting this long so that a burst travels in one batch. */
export const BATCH_WINDOW_MS = 40;
const MAX_CHANGES = 2000;

class GoneError extends Error {}

export interface WatchOptions {
  /** TaskRuns per list request of a snapshot (tests use a small one). */
  pageSize?: number;
  /** client-node's watch inactivity timeout (its default: 30 s); tests use a short one. */
  idleTimeoutMs?: number;
  /** The caller keeps the cursor (the view cache, view-watch.ts): not the previous attempt's heartbeat. */
  ignoreHeartbeat?: boolean;
  /** Wait at most this long (ms) instead of maxWaitSeconds (the view's linger, view-watch.ts). */
  maxWaitMs?: number;
  /** Each watch request as it is made (taskrun_watch_requests_total). */
  onWatchRequest?: (which: string) => void;
}

export async function watchTaskRunChanges(
  kube: KubeClients,
  input: WatchInput,
  options: WatchOptions = {},
): Promise<WatchResult> {
  const resumeFrom = (options.ignoreHeartbeat ? undefined : heartbeatCursor()) ?? input.cursor;
  if (!resumeFrom) return relistTaskRuns(kube, input, options, 'initial');
  // A watch round starts from the reconciler's config (the config is not read per round) and
  // watches its ConfigMap from the cursor's list resourceVersion; a change ends the round with the
  // new config. Without a config in the input (a caller other than the reconciler) it is read once.
  const config = input.config ?? (await listControllerConfig(kube, input.namespace, input.configMapName)).config;
  const from = resumeFrom;
  try {
    const { changes, cursor, config: changed, idle } = await collect(kube, input, from, config, options);
    // Nothing happened until the resync was due: this activity lists, instead of the next one.
    if (idle && input.relistOnIdle) return relistTaskRuns(kube, input, options, 'resync');
    return { changes, cursor, config: changed ?? config };
  } catch (err) {
    if (err instanceof GoneError) return relistTaskRuns(kube, input, options, 'gone');
    throw err;
  }
}

/** A snapshot as a watch result (`relisted` says why). */
export async function relistTaskRuns(
  kube: KubeClients,
  input: WatchInput,
  options: WatchOptions,
  relisted: NonNullable<WatchResult['relisted']>,
): Promise<WatchResult> {
  return { ...(await snapshot(kube, input, options)), changes: [], relisted };
}

/** A full list of TaskRuns, agent Jobs and the controller config, with the resourceVersions to watch from. */
async function snapshot(
  kube: KubeClients,
  input: WatchInput,
  options: WatchOptions,
): Promise<Pick<WatchResult, 'snapshot' | 'cursor' | 'config'>> {
  // Each page is reduced to what the controller reads as it arrives: the raw objects (managedFields and
  // all) of a 50,000-TaskRun namespace are never held at once.
  const observed: ObservedTaskRun[] = [];
  const [taskRuns, jobs, config] = await Promise.all([
    listTaskRuns<RawTaskRun>(kube, input.namespace, {
      pageSize: options.pageSize ?? PAGE_SIZE,
      crdMissing: 'empty',
      keep: false,
      onPage: (items) => {
        for (const item of items) observed.push(observeTaskRun(item));
      },
      onRestart: () => {
        observed.length = 0;
      },
    }),
    listAgentJobs(kube, input.namespace),
    listControllerConfig(kube, input.namespace, input.configMapName, input.config),
  ]);
  // Before the platform is deployed the CRD is missing: a retryable wait, not a failed controller.
  if (!taskRuns.crdInstalled)
    throw ApplicationFailure.create({
      type: KUBE_UNAVAILABLE,
      message: `the TaskRun CRD ${TASKRUN.crdName} is not installed (run deployPlatform); retrying`,
    });
  return {
    snapshot: {
      taskRuns: observed,
      jobs: jobs.items.map(observeJob).filter((j) => j !== undefined),
    },
    cursor: { taskRuns: taskRuns.resourceVersion, jobs: jobs.resourceVersion, config: config.resourceVersion },
    config: config.config,
  };
}

function heartbeatCursor(): WatchCursor | undefined {
  try {
    const details = Context.current().info.heartbeatDetails as { cursor?: WatchCursor } | undefined;
    return details?.cursor;
  } catch {
    return undefined;
  }
}

/**
 * Runs the three watches until a batch is ready or maxWaitSeconds pass; a changed ConfigMap ends
 * the round with its new config. A watch that ends (the server's timeoutSeconds, or client-node's
 * inactivity timeout: a quiet watch gets no bookmark for a minute) is resumed from its cursor.
 */
async function collect(
  kube: KubeClients,
  input: WatchInput,
  from: WatchCursor,
  config: ControllerConfig,
  options: WatchOptions,
): Promise<{ changes: WatchChange[]; cursor: WatchCursor; config?: ControllerConfig; idle?: true }> {
  const changes: WatchChange[] = [];
  const cursor: WatchCursor = { ...from };
  // The cursor up to which no change is pending: safe to resume from after a crash.
  let delivered: WatchCursor = { ...from };
  const signal = cancellationSignal();
  let changedConfig: ControllerConfig | undefined;

  return new Promise((resolve, reject) => {
    let settled = false;
    let batchTimer: NodeJS.Timeout | undefined;
    const finish = (err?: unknown, idle = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(batchTimer);
      clearTimeout(maxTimer);
      clearInterval(beat);
      streams.stop();
      if (err) reject(err);
      else
        resolve({
          changes,
          cursor,
          ...(changedConfig ? { config: changedConfig } : {}),
          ...(idle && !changes.length && !changedConfig ? { idle: true as const } : {}),
        });
    };
    const maxTimer = setTimeout(() => finish(undefined, true), options.maxWaitMs ?? input.maxWaitSeconds * 1000);
    const beat = setInterval(() => {
      if (!changes.length) delivered = { ...cursor };
      heartbeat({ cursor: delivered, pending: changes.length });
    }, 1000);
    signal?.addEventListener('abort', () => finish(signal.reason), { once: true });
    const streams = openWatchStreams(
      kube,
      {
        namespace: input.namespace,
        configMapName: input.configMapName,
        cursor,
        config: () => config,
        timeoutSeconds: Math.max(1, Math.ceil(input.maxWaitSeconds) + 5),
        ...(options.idleTimeoutMs ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
        ...(options.onWatchRequest ? { onWatchRequest: options.onWatchRequest } : {}),
      },
      {
        change: (change) => {
          changes.push(change);
          if (changes.length >= MAX_CHANGES) finish();
          else batchTimer ??= setTimeout(() => finish(), BATCH_WINDOW_MS);
        },
        config: (changed) => {
          changedConfig = changed;
          finish();
        },
        gone: (which) => finish(new GoneError(`410 Gone: ${which}`)),
        failed: (err) => finish(err),
      },
    );
  });
}
