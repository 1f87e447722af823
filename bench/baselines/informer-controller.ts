// The benchmark's baseline: a minimal TaskRun controller as one would write it on
// @kubernetes/client-node alone: an informer on TaskRuns (create task ConfigMap + Job, status
// Pending) and one on agent Jobs (status Running/Succeeded/Failed), 50 writes in flight. The same
// objects and writes as the Temporal controller, without durability, history or queries (nor the
// "waiting for a free slot" status the controller gives the next TaskRuns in line). Its statuses are
// the controller's own (desiredStatus: message, conditions with transition times): a status of phase,
// Job name and times only cost kube-apiserver a third to a half less CPU a write (`npm run bench -- status-writes`).
import {
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1Job,
} from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeClients } from '../../activities/kube/client.ts';
import {
  AGENT_SELECTOR,
  agentJob,
  batchApi,
  observeJob,
  taskConfigMap,
  type TaskRunRef,
} from '../../activities/kube/jobs.ts';
import { isStatus } from '../../activities/errors.ts';
import { TASKRUN } from '../../activities/kube/taskruns.ts';
import { DEFAULT_CONTROLLER_CONFIG } from '../../activities/taskrun/config.ts';
import { jobNameFor } from '../../contract/taskrun-job-name.ts';
import type { ObservedJob, TaskRunSpec, TaskRunStatus } from '../../contract/types/taskrun.ts';
import { desiredStatus } from '../../workflows/taskrun-controller/reconcile.ts';

interface TaskRunObj extends KubernetesObject {
  metadata: { name: string; uid: string; namespace: string };
  spec: TaskRunSpec;
  status?: { phase?: string };
}

export interface BaselineController {
  stop(): Promise<void>;
}

/** maxConcurrentTasks: Jobs not finished at once (the rest wait in creation order, as the controller's do). */
export async function startInformerController(
  kube: KubeClients,
  namespace: string,
  options: { maxConcurrentTasks?: number } = {},
): Promise<BaselineController> {
  const config = { ...DEFAULT_CONTROLLER_CONFIG, maxConcurrentTasks: Number.MAX_SAFE_INTEGER };
  const cap = options.maxConcurrentTasks ?? Number.MAX_SAFE_INTEGER;
  let active = 0;
  const waiting: TaskRunObj[] = [];
  const finishedJobs = new Set<string>();
  let inFlight = 0;
  const queue: (() => Promise<void>)[] = [];
  const pump = () => {
    while (inFlight < 50 && queue.length) {
      const work = queue.shift()!;
      inFlight++;
      void work()
        .catch((err: unknown) => console.error(`baseline: ${String(err)}`))
        .finally(() => {
          inFlight--;
          pump();
        });
    }
  };
  const enqueue = (work: () => Promise<void>) => {
    queue.push(work);
    pump();
  };
  const uids = new Map<string, string>();
  const patchStatus = (name: string, status: TaskRunStatus) =>
    kube.custom.patchNamespacedCustomObjectStatus(
      {
        group: TASKRUN.group,
        version: TASKRUN.version,
        plural: TASKRUN.plural,
        namespace,
        name,
        body: { metadata: { uid: uids.get(name) }, status },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  /** The controller's status for a TaskRun with this Job (seen or not yet); undefined when it would not change. */
  const composed = new Map<string, TaskRunStatus>();
  const statusOf = (name: string, jobName: string, job?: ObservedJob): TaskRunStatus | undefined => {
    const written = composed.get(name);
    const status = desiredStatus(
      {
        name,
        uid: uids.get(name) ?? '',
        generation: 1,
        taskId: '',
        service: '',
        phase: written?.phase ?? 'Pending',
        jobName,
        jobCreated: true,
        ...(job ? { job } : {}),
        transitions: [],
        ...(written ? { written } : {}),
      },
      undefined,
      new Date().toISOString(),
    );
    const fields = (s?: TaskRunStatus) => JSON.stringify({ ...s, conditions: undefined });
    if (fields(status) === fields(written)) return undefined;
    composed.set(name, status);
    return status;
  };
  // One status write per TaskRun at a time, the newest wins, a failed one tried again (as a
  // workqueue's requeue): with 50 writes in flight, a Running write that landed after its
  // Succeeded one left the TaskRun Running for good (a 3,000 bench waited for it).
  const statusToWrite = new Map<string, TaskRunStatus>();
  const writing = new Set<string>();
  /** A failed write is tried again a second later, ten times in all (a workqueue's requeue). */
  const patchWithRetry = async (name: string, status: TaskRunStatus) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await patchStatus(name, status);
      } catch (err) {
        if (attempt >= 10) throw err;
        await sleep(1000);
      }
    }
  };
  const writeStatus = (name: string, status: TaskRunStatus | undefined) => {
    if (!status) return;
    statusToWrite.set(name, status);
    if (writing.has(name)) return;
    writing.add(name);
    enqueue(async () => {
      try {
        for (let next = statusToWrite.get(name); next; next = statusToWrite.get(name)) {
          statusToWrite.delete(name);
          await patchWithRetry(name, next);
        }
      } finally {
        writing.delete(name);
      }
    });
  };
  // The task ConfigMap and the Job with client-node's typed calls (an existing one is taken as ours).
  const createAgentObjects = async (taskRun: TaskRunRef, jobName: string, spec: TaskRunSpec) => {
    const existingIsFine = (err: unknown) => {
      if (!isStatus(err, 409)) throw err;
    };
    await Promise.all([
      kube.core
        .createNamespacedConfigMap({ namespace, body: taskConfigMap(taskRun, jobName, spec) })
        .catch(existingIsFine),
      batchApi(kube)
        .createNamespacedJob({ namespace, body: agentJob(taskRun, jobName, spec, config) })
        .catch(existingIsFine),
    ]);
  };
  const seen = new Set<string>();

  const taskRuns = makeInformer<TaskRunObj>(
    kube.config,
    `/apis/${TASKRUN.group}/${TASKRUN.version}/namespaces/${namespace}/${TASKRUN.plural}`,
    () =>
      kube.custom.listNamespacedCustomObject({
        group: TASKRUN.group,
        version: TASKRUN.version,
        plural: TASKRUN.plural,
        namespace,
      }),
  );
  const admit = () => {
    while (active < cap && waiting.length) {
      const tr = waiting.shift()!;
      active++;
      const jobName = jobNameFor(tr.metadata.name, tr.metadata.uid);
      enqueue(async () => {
        await createAgentObjects({ name: tr.metadata.name, uid: tr.metadata.uid, namespace }, jobName, tr.spec);
        // A Job already seen (running or finished): its status must not be overwritten by Pending.
        if (!composed.has(tr.metadata.name)) writeStatus(tr.metadata.name, statusOf(tr.metadata.name, jobName));
      });
    }
  };
  taskRuns.on('add', (tr) => {
    if (tr.status?.phase || seen.has(tr.metadata.uid)) return;
    seen.add(tr.metadata.uid);
    uids.set(tr.metadata.name, tr.metadata.uid);
    waiting.push(tr);
    admit();
  });
  const jobs = makeInformer<V1Job>(
    kube.config,
    `/apis/batch/v1/namespaces/${namespace}/jobs`,
    () => batchApi(kube).listNamespacedJob({ namespace, labelSelector: AGENT_SELECTOR }),
    AGENT_SELECTOR,
  );
  const onJob = (job: V1Job) => {
    const o = observeJob(job);
    if (!o) return;
    const phase = o.outcome ?? (o.startTime || o.active ? 'Running' : undefined);
    if (!phase) return;
    if (o.outcome && !finishedJobs.has(o.name)) {
      finishedJobs.add(o.name);
      active--;
      admit();
    }
    writeStatus(o.ownerName, statusOf(o.ownerName, o.name, o));
  };
  jobs.on('add', onJob);
  jobs.on('update', onJob);
  // An informer stops on an error (e.g. a list right after the CRD was created): restart it, as client-go's would.
  let stopped = false;
  for (const informer of [taskRuns, jobs]) {
    informer.on('error', (err: unknown) => {
      if (stopped) return;
      console.error(`baseline: informer error, restarting: ${String(err)}`);
      setTimeout(() => void informer.start().catch(() => undefined), 500);
    });
  }
  await Promise.all([taskRuns.start(), jobs.start()]);
  return {
    stop: async () => {
      stopped = true;
      await Promise.all([taskRuns.stop(), jobs.stop()]);
    },
  };
}
