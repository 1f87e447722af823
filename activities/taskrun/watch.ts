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
import { DEFAULT_CONTROLLER_CONFIG, parseControllerConfig, readControllerConfig } from './config.ts';
import { KUBE_UNAVAILABLE } from '../../workflows/failures.ts';
import { RESTORE_PENDING_ANNOTATION, type ControllerConfig, type ObservedTaskRun, type TaskRunSpec, type WatchChange, type WatchCursor, type WatchInput, type WatchResult } from '../../workflows/types/taskrun.ts';

/** After the first change, keep collecting this long so that a burst travels in one batch. */
export const BATCH_WINDOW_MS = 40;
const MAX_CHANGES = 2000;

interface RawTaskRun {
  metadata: { name: string; uid: string; generation?: number; creationTimestamp?: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec?: Partial<TaskRunSpec>;
  status?: Record<string, unknown>;
}

export function observeTaskRun(raw: RawTaskRun): ObservedTaskRun {
  const spec = raw.spec ?? {};
  const s = raw.status ?? {};
  const pick = <T>(k: string) => (s[k] === undefined || s[k] === null ? undefined : (s[k] as T));
  const phase = pick<ObservedTaskRun['status'] & object>('phase') as never;
  const status = {
    ...(phase ? { phase } : {}),
    ...(pick('jobName') ? { jobName: pick<string>('jobName')! } : {}),
    ...(pick('startTime') ? { startTime: new Date(pick<string>('startTime')!).toISOString() } : {}),
    ...(pick('completionTime') ? { completionTime: new Date(pick<string>('completionTime')!).toISOString() } : {}),
    ...(pick('message') ? { message: pick<string>('message')! } : {}),
    ...(pick('observedGeneration') !== undefined ? { observedGeneration: pick<number>('observedGeneration')! } : {}),
  };
  return {
    name: raw.metadata.name,
    uid: raw.metadata.uid,
    generation: raw.metadata.generation ?? 1,
    ...(raw.metadata.creationTimestamp ? { creationTimestamp: new Date(raw.metadata.creationTimestamp).toISOString() } : {}),
    spec: {
      service: spec.service ?? '', taskId: spec.taskId ?? '',
      ...(spec.prompt !== undefined ? { prompt: spec.prompt } : {}),
      ...(spec.promptRef ? { promptRef: spec.promptRef } : {}),
      ...(spec.agentImage ? { agentImage: spec.agentImage } : {}),
      ...(spec.resources ? { resources: spec.resources } : {}),
      ...(spec.workspaceClaim ? { workspaceClaim: spec.workspaceClaim } : {}),
    },
    ...(Object.keys(status).length ? { status } : {}),
    ...(raw.metadata.annotations?.[RESTORE_PENDING_ANNOTATION] !== undefined ? { restorePending: true as const } : {}),
  };
}

async function snapshot(kube: KubeClients, namespace: string, pageSize = PAGE_SIZE): Promise<Pick<WatchResult, 'snapshot' | 'cursor'>> {
  const [taskRuns, jobs] = await Promise.all([listTaskRuns<RawTaskRun>(kube, namespace, { pageSize, crdMissing: 'empty' }), listAgentJobs(kube, namespace)]);
  // Before the platform is deployed the CRD is missing: a retryable wait, not a failed controller.
  if (!taskRuns.crdInstalled) throw ApplicationFailure.create({ type: KUBE_UNAVAILABLE, message: `the TaskRun CRD ${TASKRUN.crdName} is not installed (run deployPlatform); retrying` });
  return {
    snapshot: { taskRuns: taskRuns.items.map(observeTaskRun), jobs: jobs.items.map(observeJob).filter((j) => j !== undefined) },
    cursor: { taskRuns: taskRuns.resourceVersion, jobs: jobs.resourceVersion },
  };
}

class GoneError extends Error {}

export interface WatchOptions {
  /** TaskRuns per list request of a snapshot (tests use a small one). */
  pageSize?: number;
}

export async function watchTaskRunChanges(kube: KubeClients, input: WatchInput, options: WatchOptions = {}): Promise<WatchResult> {
  const resumeFrom = (heartbeatCursor() ?? input.cursor);
  // A snapshot re-reads the config; a watch round starts from the reconciler's (no GET per round).
  const config = resumeFrom && input.config ? input.config : await readControllerConfig(kube, input.namespace, input.configMapName);
  if (!resumeFrom) return { ...(await snapshot(kube, input.namespace, options.pageSize)), changes: [], config, relisted: 'initial' };
  try {
    const { changes, cursor, config: changed, configUnknown } = await collect(kube, input, resumeFrom, config.resourceVersion);
    return { changes, cursor, config: configUnknown ? await readControllerConfig(kube, input.namespace, input.configMapName) : (changed ?? config) };
  } catch (err) {
    if (err instanceof GoneError) return { ...(await snapshot(kube, input.namespace, options.pageSize)), changes: [], config, relisted: 'gone' };
    throw err;
  }
}

function heartbeatCursor(): WatchCursor | undefined {
  try {
    const details = Context.current().info.heartbeatDetails as { cursor?: WatchCursor } | undefined;
    return details?.cursor;
  } catch {
    return undefined;
  }
}

/** Runs both watches until a batch is ready or maxWaitSeconds pass; a changed ConfigMap ends the round with its new config. */
async function collect(kube: KubeClients, input: WatchInput, from: WatchCursor, configRv: string): Promise<{ changes: WatchChange[]; cursor: WatchCursor; config?: ControllerConfig; configUnknown?: boolean }> {
  const ns = input.namespace;
  const changes: WatchChange[] = [];
  const cursor: WatchCursor = { ...from };
  // The cursor up to which no change is pending: safe to resume from after a crash.
  let delivered: WatchCursor = { ...from };
  const signal = cancellationSignal();
  const watcher = new Watch(kube.config);
  const aborts: AbortController[] = [];
  let changedConfig: ControllerConfig | undefined;
  let configUnknown = false;

  return new Promise((resolve, reject) => {
    let settled = false;
    let batchTimer: NodeJS.Timeout | undefined;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(batchTimer);
      clearTimeout(maxTimer);
      clearInterval(beat);
      for (const a of aborts) a.abort();
      if (err) reject(err);
      else resolve({ changes, cursor, ...(changedConfig ? { config: changedConfig } : {}), ...(configUnknown ? { configUnknown } : {}) });
    };
    const maxTimer = setTimeout(() => finish(), input.maxWaitSeconds * 1000);
    const beat = setInterval(() => {
      if (!changes.length) delivered = { ...cursor };
      heartbeat({ cursor: delivered, pending: changes.length });
    }, 2000);
    signal?.addEventListener('abort', () => finish(signal.reason), { once: true });
    const onChange = (change: WatchChange) => {
      changes.push(change);
      if (changes.length >= MAX_CHANGES) finish();
      else batchTimer ??= setTimeout(() => finish(), BATCH_WINDOW_MS);
    };

    const onWatchError = (which: string) => (err: unknown) => finish(ApplicationFailure.create({ type: KUBE_UNAVAILABLE, message: `watch ${which}: ${err instanceof Error ? err.message : String(err)}` }));
    const keep = (abort: AbortController) => {
      if (settled) abort.abort();
      else aborts.push(abort);
    };
    // The controller ConfigMap: any change ends the round, and the caller re-reads it.
    const watchConfig = () => {
      if (settled) return;
      const params = { fieldSelector: `metadata.name=${input.configMapName}`, timeoutSeconds: Math.max(1, Math.ceil(input.maxWaitSeconds) + 5), ...(configRv ? { resourceVersion: configRv } : {}) };
      watcher.watch(`/api/v1/namespaces/${ns}/configmaps`, params, (type: string, obj: { metadata?: { resourceVersion?: string }; data?: Record<string, string> }) => {
        if (settled || type === 'BOOKMARK') return;
        if (obj.metadata?.resourceVersion === configRv) return;
        // ERROR (e.g. 410: the reconciler's config is older than the watch cache): read it again.
        if (type === 'ERROR') configUnknown = true;
        else changedConfig = type === 'DELETED' ? DEFAULT_CONTROLLER_CONFIG : parseControllerConfig(obj.data?.['config.yaml'], obj.metadata?.resourceVersion ?? '');
        finish();
      }, (err: unknown) => {
        if (settled) return;
        if (!err) watchConfig();
        else onWatchError('ConfigMap')(err);
      }).then(keep, onWatchError('ConfigMap'));
    };

    const start = (which: keyof WatchCursor) => {
      if (settled) return;
      const path = which === 'taskRuns' ? `/apis/${TASKRUN.group}/${TASKRUN.version}/namespaces/${ns}/${TASKRUN.plural}` : `/apis/batch/v1/namespaces/${ns}/jobs`;
      const params = { resourceVersion: cursor[which], allowWatchBookmarks: true, timeoutSeconds: Math.max(1, Math.ceil(input.maxWaitSeconds) + 5), ...(which === 'jobs' ? { labelSelector: AGENT_SELECTOR } : {}) };
      watcher.watch(path, params, (type: string, obj: { code?: number; metadata?: { resourceVersion?: string } } & Record<string, unknown>) => {
        if (settled) return;
        if (type === 'ERROR') {
          finish(obj.code === 410 ? new GoneError('410 Gone') : ApplicationFailure.create({ type: KUBE_UNAVAILABLE, message: `watch ${which}: ${String(obj.message ?? obj.code)}` }));
          return;
        }
        if (obj.metadata?.resourceVersion) cursor[which] = obj.metadata.resourceVersion;
        if (type === 'BOOKMARK') return;
        const deleted = type === 'DELETED';
        if (which === 'taskRuns') {
          const tr = observeTaskRun(obj as unknown as RawTaskRun);
          onChange(deleted ? { kind: 'taskRun', type: 'delete', name: tr.name, uid: tr.uid } : { kind: 'taskRun', type: 'upsert', taskRun: tr });
        } else {
          const job = observeJob(obj as unknown as V1Job);
          if (!job) return;
          onChange(deleted ? { kind: 'job', type: 'delete', name: job.name, ownerName: job.ownerName, ownerUid: job.ownerUid } : { kind: 'job', type: 'upsert', job });
        }
      }, (err: unknown) => {
        if (settled) return;
        // The server ends a watch at timeoutSeconds: resume from the latest resourceVersion.
        if (!err) start(which);
        else onWatchError(which)(err);
      }).then(keep, onWatchError(which));
    };
    start('taskRuns');
    start('jobs');
    watchConfig();
  });
}
