// watchTaskRunChanges: list + watch of the namespace's TaskRuns and agent Jobs (one watch each,
// whatever the number of Jobs). Returns a batch of changes soon after the first one arrives, or
// nothing after maxWaitSeconds; a snapshot (list) on the first call and after 410 Gone. It
// heartbeats the cursor up to which nothing is pending, and a retried attempt resumes from there.
import { Watch, type V1Job } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { KubeClients } from '../kube/client.ts';
import { PAGE_SIZE } from '../kube/paginate.ts';
import { listTaskRuns, TASKRUN } from '../kube/taskruns.ts';
import { AGENT_SELECTOR, listAgentJobs, observeJob } from '../kube/jobs.ts';
import { cancellationSignal, heartbeat } from '../activity-context.ts';
import { DEFAULT_CONTROLLER_CONFIG, listControllerConfig, parseControllerConfig } from './config.ts';
import { KUBE_UNAVAILABLE } from '../../contract/failures.ts';
import { z } from 'zod';
import {
  RESTORE_PENDING_ANNOTATION,
  RESTORED_FROM_ANNOTATION,
  TASKRUN_PHASES,
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

const optionalString = z.string().optional().catch(undefined);
const time = z
  .string()
  .optional()
  .catch(undefined)
  .transform((t) => (t ? new Date(t).toISOString() : undefined));
const quantities = z.record(z.string(), z.union([z.string(), z.number()]));

/**
 * A TaskRun as the API server returns it (lists and watch events), the parts the controller reads.
 * The CRD validates what is stored: a field of another type than expected is left out, not trusted.
 */
export const rawTaskRunSchema = z.object({
  metadata: z.object({
    name: z.string(),
    uid: z.string(),
    generation: z.number().int().optional().catch(undefined),
    creationTimestamp: time,
    annotations: z.record(z.string(), z.string()).optional().catch(undefined),
  }),
  spec: z
    .object({
      service: z.string().catch(''),
      taskId: z.string().catch(''),
      prompt: optionalString,
      promptRef: z
        .object({ name: z.string(), key: z.string(), optional: z.boolean().optional() })
        .optional()
        .catch(undefined),
      agentImage: optionalString,
      resources: z
        .object({ requests: quantities.optional(), limits: quantities.optional() })
        .optional()
        .catch(undefined),
      workspaceClaim: optionalString,
    })
    .prefault({ service: '', taskId: '' }),
  status: z
    .object({
      phase: z.enum(TASKRUN_PHASES).optional().catch(undefined),
      jobName: optionalString,
      startTime: time,
      completionTime: time,
      message: optionalString,
      observedGeneration: z.number().int().optional().catch(undefined),
    })
    .nullish()
    .catch(undefined),
});
export type RawTaskRun = z.input<typeof rawTaskRunSchema>;

/** Drops the fields that are absent (undefined or empty), as the reconciler's JSON expects. */
function present<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

export function observeTaskRun(raw: unknown): ObservedTaskRun {
  const { metadata, spec, status } = rawTaskRunSchema.parse(raw);
  const { service, taskId, prompt, ...rest } = spec;
  const observed = present({ ...status });
  return {
    name: metadata.name,
    uid: metadata.uid,
    generation: metadata.generation ?? 1,
    ...(metadata.creationTimestamp ? { creationTimestamp: metadata.creationTimestamp } : {}),
    spec: { service, taskId, ...(prompt !== undefined ? { prompt } : {}), ...present(rest) },
    ...(Object.keys(observed).length ? { status: observed } : {}),
    ...(beingRestored(metadata.annotations, observed.phase) ? { restorePending: true as const } : {}),
  };
}

/** The restore is still writing it: marked for an update, or created from a backup and its phase not written yet. */
const beingRestored = (annotations: Record<string, string> | undefined, phase: string | undefined) =>
  annotations?.[RESTORE_PENDING_ANNOTATION] !== undefined ||
  (annotations?.[RESTORED_FROM_ANNOTATION] !== undefined && phase === undefined);

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
}

export async function watchTaskRunChanges(
  kube: KubeClients,
  input: WatchInput,
  options: WatchOptions = {},
): Promise<WatchResult> {
  const resumeFrom = (options.ignoreHeartbeat ? undefined : heartbeatCursor()) ?? input.cursor;
  if (!resumeFrom) return { ...(await snapshot(kube, input, options)), changes: [], relisted: 'initial' };
  // A watch round starts from the reconciler's config (the config is not read per round) and
  // watches its ConfigMap from the cursor's list resourceVersion; a change ends the round with the
  // new config. Without a config in the input (a caller other than the reconciler) it is read once.
  const config = input.config ?? (await listControllerConfig(kube, input.namespace, input.configMapName)).config;
  const from = resumeFrom;
  try {
    const { changes, cursor, config: changed, idle } = await collect(kube, input, from, config, options);
    // Nothing happened until the resync was due: this activity lists, instead of the next one.
    if (idle && input.relistOnIdle)
      return { ...(await snapshot(kube, input, options)), changes: [], relisted: 'resync' };
    return { changes, cursor, config: changed ?? config };
  } catch (err) {
    if (err instanceof GoneError) return { ...(await snapshot(kube, input, options)), changes: [], relisted: 'gone' };
    throw err;
  }
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

/** client-node ended the watch because nothing arrived for its requestTimeoutMs (or the connect took that long). */
const isWatchTimeout = (err: unknown) => err instanceof Error && err.name === 'TimeoutError';
/** A watch request answered 410 Gone (instead of a 200 with an ERROR event). */
const isGoneResponse = (err: unknown) => (err as { statusCode?: unknown } | null)?.statusCode === 410;

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
  const ns = input.namespace;
  const changes: WatchChange[] = [];
  const cursor: WatchCursor = { ...from };
  // The cursor up to which no change is pending: safe to resume from after a crash.
  let delivered: WatchCursor = { ...from };
  const signal = cancellationSignal();
  const watcher = new Watch(kube.watches);
  if (options.idleTimeoutMs)
    (watcher as unknown as { requestTimeoutMs: number }).requestTimeoutMs = options.idleTimeoutMs;
  const aborts: AbortController[] = [];
  let changedConfig: ControllerConfig | undefined;
  const timeoutSeconds = Math.max(1, Math.ceil(input.maxWaitSeconds) + 5);

  return new Promise((resolve, reject) => {
    let settled = false;
    let batchTimer: NodeJS.Timeout | undefined;
    const finish = (err?: unknown, idle = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(batchTimer);
      clearTimeout(maxTimer);
      clearInterval(beat);
      for (const a of aborts) a.abort();
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
    const onChange = (change: WatchChange) => {
      changes.push(change);
      if (changes.length >= MAX_CHANGES) finish();
      else batchTimer ??= setTimeout(() => finish(), BATCH_WINDOW_MS);
    };

    const failure = (which: string, err: unknown) =>
      ApplicationFailure.create({
        type: KUBE_UNAVAILABLE,
        message: `watch ${which}: ${err instanceof Error ? err.message : String(err)}`,
      });
    const keep = (abort: AbortController) => {
      if (settled) abort.abort();
      else aborts.push(abort);
    };

    /**
     * One watch, resumed whenever it ends normally or by a timeout. `onEvent` answers 'gone' for a
     * 410: this watch stops (its own end is ignored) and `onGone` decides what follows.
     */
    const follow = (
      which: string,
      path: string,
      params: () => Record<string, string | number | boolean>,
      onEvent: (type: string, obj: WatchedObject) => void | 'gone',
      onGone: () => void,
    ) => {
      if (settled) return;
      let over = false;
      const gone = () => {
        if (over) return;
        over = true;
        onGone();
      };
      const ended = (err: unknown) => {
        if (settled || over) return;
        over = true;
        if (!err || isWatchTimeout(err)) follow(which, path, params, onEvent, onGone);
        else if (isGoneResponse(err)) onGone();
        else finish(failure(which, err));
      };
      watcher
        .watch(
          path,
          params(),
          (type: string, obj: WatchedObject) => {
            if (settled || over) return;
            if (onEvent(type, obj) === 'gone') gone();
          },
          ended,
        )
        .then(keep, ended);
    };

    // The controller ConfigMap, from a list resourceVersion that bookmarks advance: a change ends the
    // round with the new config; a 410 (the resourceVersion fell out of the watch cache, e.g. while
    // the namespace's ConfigMaps churn) lists it again and goes on watching from there.
    const configPath = `/api/v1/namespaces/${ns}/configmaps`;
    const configParams = () => ({
      fieldSelector: `metadata.name=${input.configMapName}`,
      allowWatchBookmarks: true,
      timeoutSeconds,
      ...(cursor.config ? { resourceVersion: cursor.config } : {}),
    });
    const onConfigEvent = (type: string, obj: WatchedObject): void | 'gone' => {
      if (type === 'ERROR') {
        if (obj.code === 410) return 'gone';
        finish(failure('ConfigMap', String(obj.message ?? obj.code)));
        return;
      }
      if (obj.metadata?.resourceVersion) cursor.config = obj.metadata.resourceVersion;
      if (type === 'BOOKMARK' || obj.metadata?.resourceVersion === config.resourceVersion) return;
      changedConfig =
        type === 'DELETED'
          ? DEFAULT_CONTROLLER_CONFIG
          : parseControllerConfig(
              (obj.data as Record<string, string> | undefined)?.['config.yaml'],
              obj.metadata?.resourceVersion ?? '',
              config,
            );
      finish();
    };
    const relistConfig = () => {
      listControllerConfig(kube, ns, input.configMapName, config).then(
        (read) => {
          if (settled) return;
          cursor.config = read.resourceVersion;
          if (read.config.resourceVersion !== config.resourceVersion) {
            changedConfig = read.config;
            finish();
          } else {
            follow('ConfigMap', configPath, configParams, onConfigEvent, relistConfig);
          }
        },
        (err: unknown) => finish(err),
      );
    };

    const watchList = (which: 'taskRuns' | 'jobs') => {
      const path =
        which === 'taskRuns'
          ? `/apis/${TASKRUN.group}/${TASKRUN.version}/namespaces/${ns}/${TASKRUN.plural}`
          : `/apis/batch/v1/namespaces/${ns}/jobs`;
      const params = () => ({
        resourceVersion: cursor[which],
        allowWatchBookmarks: true,
        timeoutSeconds,
        ...(which === 'jobs' ? { labelSelector: AGENT_SELECTOR } : {}),
      });
      follow(
        which,
        path,
        params,
        (type, obj) => {
          if (type === 'ERROR') {
            if (obj.code === 410) return 'gone';
            finish(failure(which, String(obj.message ?? obj.code)));
            return;
          }
          if (obj.metadata?.resourceVersion) cursor[which] = obj.metadata.resourceVersion;
          if (type === 'BOOKMARK') return;
          const deleted = type === 'DELETED';
          if (which === 'taskRuns') {
            const tr = observeTaskRun(obj);
            onChange(
              deleted
                ? { kind: 'taskRun', type: 'delete', name: tr.name, uid: tr.uid }
                : { kind: 'taskRun', type: 'upsert', taskRun: tr },
            );
          } else {
            const job = observeJob(obj as unknown as V1Job);
            if (!job) return;
            onChange(
              deleted
                ? { kind: 'job', type: 'delete', name: job.name, ownerName: job.ownerName, ownerUid: job.ownerUid }
                : { kind: 'job', type: 'upsert', job },
            );
          }
        },
        () => finish(new GoneError(`410 Gone: ${which}`)),
      );
    };
    watchList('taskRuns');
    watchList('jobs');
    follow('ConfigMap', configPath, configParams, onConfigEvent, relistConfig);
  });
}

type WatchedObject = { code?: number; message?: unknown; metadata?: { resourceVersion?: string } } & Record<
  string,
  unknown
>;
