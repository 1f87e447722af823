// The three watches of a controller namespace (its TaskRuns, its agent Jobs, its controller
// ConfigMap) from a cursor, each resumed from its own resourceVersion when it ends normally or by
// client-node's inactivity timeout. What they see goes to a sink: a change, a new config, a 410 Gone
// (the cursor fell out of the watch cache: a snapshot is due), or a failure. Used for one watch call
// (watch.ts's collect) and for the view's watches that stay open between calls (live-watch.ts).
import { Watch, type V1Job } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import type { KubeClients } from '../kube/client.ts';
import { TASKRUN } from '../kube/taskruns.ts';
import { AGENT_SELECTOR, observeJob } from '../kube/jobs.ts';
import { DEFAULT_CONTROLLER_CONFIG, listControllerConfig, parseControllerConfig } from './config.ts';
import { KUBE_UNAVAILABLE } from '../../contract/failures.ts';
import type { ControllerConfig, WatchChange, WatchCursor } from '../../contract/types/taskrun.ts';
import { observeTaskRun } from './observe.ts';

export interface WatchSink {
  /** A TaskRun or Job change; the cursor is already past it. */
  change(change: WatchChange): void;
  /** The controller ConfigMap changed (or was deleted: the defaults). */
  config(config: ControllerConfig): void;
  /** The TaskRun or Job watch answered 410 Gone. */
  gone(which: 'taskRuns' | 'jobs'): void;
  failed(err: unknown): void;
}

export interface WatchStreamsOptions {
  namespace: string;
  configMapName: string;
  /** Advanced in place as events and bookmarks arrive. */
  cursor: WatchCursor;
  /** The config the ConfigMap's events are compared with (and parsed over). */
  config: () => ControllerConfig;
  /** The server ends each watch after this long (it is resumed). */
  timeoutSeconds: number;
  /** client-node's watch inactivity timeout (its default: 30 s); tests use a short one. */
  idleTimeoutMs?: number;
  /** Each watch request as it is made (taskrun_watch_requests_total). */
  onWatchRequest?: (which: string) => void;
}

/** client-node ended the watch because nothing arrived for its requestTimeoutMs (or the connect took that long). */
const isWatchTimeout = (err: unknown) => err instanceof Error && err.name === 'TimeoutError';
/** A watch request answered 410 Gone (instead of a 200 with an ERROR event). */
const isGoneResponse = (err: unknown) => (err as { statusCode?: unknown } | null)?.statusCode === 410;

type WatchedObject = { code?: number; message?: unknown; metadata?: { resourceVersion?: string } } & Record<
  string,
  unknown
>;

/** Opens the three watches; `stop` ends them (the sink hears nothing after it). */
export function openWatchStreams(kube: KubeClients, opts: WatchStreamsOptions, sink: WatchSink): { stop(): void } {
  const ns = opts.namespace;
  const cursor = opts.cursor;
  const watcher = new Watch(kube.watches);
  if (opts.idleTimeoutMs) (watcher as unknown as { requestTimeoutMs: number }).requestTimeoutMs = opts.idleTimeoutMs;
  const aborts: AbortController[] = [];
  let stopped = false;
  const stop = () => {
    stopped = true;
    for (const a of aborts) a.abort();
  };
  const fail = (err: unknown) => {
    if (stopped) return;
    stop();
    sink.failed(err);
  };
  const failure = (which: string, err: unknown) =>
    ApplicationFailure.create({
      type: KUBE_UNAVAILABLE,
      message: `watch ${which}: ${err instanceof Error ? err.message : String(err)}`,
    });
  const keep = (abort: AbortController) => {
    if (stopped) abort.abort();
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
    if (stopped) return;
    opts.onWatchRequest?.(which);
    let over = false;
    const gone = () => {
      if (over) return;
      over = true;
      onGone();
    };
    const ended = (err: unknown) => {
      if (stopped || over) return;
      over = true;
      if (!err || isWatchTimeout(err)) follow(which, path, params, onEvent, onGone);
      else if (isGoneResponse(err)) onGone();
      else fail(failure(which, err));
    };
    watcher
      .watch(
        path,
        params(),
        (type: string, obj: WatchedObject) => {
          if (stopped || over) return;
          if (onEvent(type, obj) === 'gone') gone();
        },
        ended,
      )
      .then(keep, ended);
  };

  // The controller ConfigMap, from a list resourceVersion that bookmarks advance; a 410 (the
  // resourceVersion fell out of the watch cache, e.g. while the namespace's ConfigMaps churn) lists
  // it again and goes on watching from there.
  const configPath = `/api/v1/namespaces/${ns}/configmaps`;
  const configParams = () => ({
    fieldSelector: `metadata.name=${opts.configMapName}`,
    allowWatchBookmarks: true,
    timeoutSeconds: opts.timeoutSeconds,
    ...(cursor.config ? { resourceVersion: cursor.config } : {}),
  });
  const onConfigEvent = (type: string, obj: WatchedObject): void | 'gone' => {
    if (type === 'ERROR') {
      if (obj.code === 410) return 'gone';
      fail(failure('ConfigMap', String(obj.message ?? obj.code)));
      return;
    }
    if (obj.metadata?.resourceVersion) cursor.config = obj.metadata.resourceVersion;
    const current = opts.config();
    if (type === 'BOOKMARK' || obj.metadata?.resourceVersion === current.resourceVersion) return;
    sink.config(
      type === 'DELETED'
        ? DEFAULT_CONTROLLER_CONFIG
        : parseControllerConfig(
            (obj.data as Record<string, string> | undefined)?.['config.yaml'],
            obj.metadata?.resourceVersion ?? '',
            current,
          ),
    );
  };
  const relistConfig = () => {
    const current = opts.config();
    listControllerConfig(kube, ns, opts.configMapName, current).then(
      (read) => {
        if (stopped) return;
        cursor.config = read.resourceVersion;
        if (read.config.resourceVersion !== current.resourceVersion) sink.config(read.config);
        follow('ConfigMap', configPath, configParams, onConfigEvent, relistConfig);
      },
      (err: unknown) => fail(err),
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
      timeoutSeconds: opts.timeoutSeconds,
      ...(which === 'jobs' ? { labelSelector: AGENT_SELECTOR } : {}),
    });
    follow(
      which,
      path,
      params,
      (type, obj) => {
        if (type === 'ERROR') {
          if (obj.code === 410) return 'gone';
          fail(failure(which, String(obj.message ?? obj.code)));
          return;
        }
        if (obj.metadata?.resourceVersion) cursor[which] = obj.metadata.resourceVersion;
        if (type === 'BOOKMARK') return;
        const deleted = type === 'DELETED';
        if (which === 'taskRuns') {
          const tr = observeTaskRun(obj);
          sink.change(
            deleted
              ? { kind: 'taskRun', type: 'delete', name: tr.name, uid: tr.uid }
              : { kind: 'taskRun', type: 'upsert', taskRun: tr },
          );
        } else {
          const job = observeJob(obj as unknown as V1Job);
          if (!job) return;
          sink.change(
            deleted
              ? { kind: 'job', type: 'delete', name: job.name, ownerName: job.ownerName, ownerUid: job.ownerUid }
              : { kind: 'job', type: 'upsert', job },
          );
        }
      },
      () => {
        if (stopped) return;
        stop();
        sink.gone(which);
      },
    );
  };
  watchList('taskRuns');
  watchList('jobs');
  follow('ConfigMap', configPath, configParams, onConfigEvent, relistConfig);
  return { stop };
}
