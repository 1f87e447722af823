// Agent Jobs (batch/v1) of the TaskRun controller: the manifest (task ConfigMap + Job owned by the
// TaskRun), create-or-get on 409, and the compact view the reconciler follows.
import {
  ApiException,
  type BatchV1Api,
  type V1ConfigMap,
  type V1EnvVar,
  type V1Job,
  type V1ResourceRequirements,
  type V1Volume,
  type V1VolumeMount,
} from '@kubernetes/client-node';
import type { KubeClients } from './client.ts';
import { FIELD_MANAGER } from './apply.ts';
import { isStatus, kubeCall } from '../errors.ts';
import { listAllPages, PAGE_SIZE } from './paginate.ts';
import { TASKRUN } from './taskruns.ts';
import type { ControllerConfig, ObservedJob, TaskRunSpec } from '../../contract/types/taskrun.ts';

export const AGENT_LABEL = { app: 'claude-agent' } as const;
export const AGENT_SELECTOR = 'app=claude-agent';
export const TASK_ID_LABEL = 'task-id';
export const TASKRUN_LABEL = 'taskrun.orchestrator.io/name';

export function batchApi(kube: KubeClients): BatchV1Api {
  return kube.batch;
}

export interface TaskRunRef {
  name: string;
  uid: string;
  namespace: string;
}

function ownerReference(taskRun: TaskRunRef) {
  return {
    apiVersion: `${TASKRUN.group}/${TASKRUN.version}`,
    kind: 'TaskRun',
    name: taskRun.name,
    uid: taskRun.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function labels(taskRun: TaskRunRef, spec: TaskRunSpec): Record<string, string> {
  return {
    ...AGENT_LABEL,
    [TASK_ID_LABEL]: spec.taskId,
    [TASKRUN_LABEL]: taskRun.name,
    'app.kubernetes.io/managed-by': 'platform-runbooks',
  };
}

/** The task ConfigMap: the inline prompt and the task's identity, mounted at /task. */
export function taskConfigMap(taskRun: TaskRunRef, jobName: string, spec: TaskRunSpec): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: jobName,
      namespace: taskRun.namespace,
      labels: labels(taskRun, spec),
      ownerReferences: [ownerReference(taskRun)],
    },
    data: {
      'task-id': spec.taskId,
      service: spec.service,
      ...(spec.prompt !== undefined ? { prompt: spec.prompt } : {}),
    },
  };
}

/** The agent Job: API keys by secretKeyRef only, the workspace claim at the configured mount path. */
export function agentJob(taskRun: TaskRunRef, jobName: string, spec: TaskRunSpec, config: ControllerConfig): V1Job {
  const env: V1EnvVar[] = [
    { name: 'TASK_ID', value: spec.taskId },
    { name: 'SERVICE', value: spec.service },
    { name: 'TASKRUN_NAME', value: taskRun.name },
    ...config.secrets.env.map((e) => ({
      name: e.name,
      valueFrom: { secretKeyRef: { name: config.secrets.name, key: e.key } },
    })),
  ];
  if (spec.promptRef) {
    env.push({
      name: 'TASK_PROMPT',
      valueFrom: {
        configMapKeyRef: {
          name: spec.promptRef.name,
          key: spec.promptRef.key,
          ...(spec.promptRef.optional !== undefined ? { optional: spec.promptRef.optional } : {}),
        },
      },
    });
  }
  const volumes: V1Volume[] = [{ name: 'task', configMap: { name: jobName } }];
  const mounts: V1VolumeMount[] = [{ name: 'task', mountPath: '/task', readOnly: true }];
  if (spec.workspaceClaim) {
    volumes.push({ name: 'workspace', persistentVolumeClaim: { claimName: spec.workspaceClaim } });
    mounts.push({ name: 'workspace', mountPath: config.agent.workspaceMountPath });
  }
  const resources = spec.resources ?? config.agent.resources;
  const lbls = labels(taskRun, spec);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: jobName, namespace: taskRun.namespace, labels: lbls, ownerReferences: [ownerReference(taskRun)] },
    spec: {
      backoffLimit: config.job.backoffLimit,
      ...(config.job.ttlSecondsAfterFinished !== undefined
        ? { ttlSecondsAfterFinished: config.job.ttlSecondsAfterFinished }
        : {}),
      ...(config.job.activeDeadlineSeconds !== undefined
        ? { activeDeadlineSeconds: config.job.activeDeadlineSeconds }
        : {}),
      template: {
        metadata: { labels: lbls },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'agent',
              image: spec.agentImage ?? config.agent.image,
              ...(config.agent.imagePullPolicy ? { imagePullPolicy: config.agent.imagePullPolicy } : {}),
              env,
              // A quantity may be a JSON number (cpu: 1); client-node types quantities as strings only.
              ...(resources ? { resources: resources as V1ResourceRequirements } : {}),
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
    },
  };
}

/**
 * Creates the object, or finds it on 409. Returns 'existing' only when the existing one is owned by
 * this TaskRun (same uid); an object of another owner under our deterministic name is an error.
 */
async function createOrGet(
  what: string,
  create: () => Promise<unknown>,
  read: () => Promise<{ metadata?: { ownerReferences?: { uid: string }[] } }>,
  ownerUid: string,
): Promise<'created' | 'existing'> {
  try {
    await create();
    return 'created';
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
    const existing = await kubeCall(`read ${what}`, read);
    if (!existing.metadata?.ownerReferences?.some((o) => o.uid === ownerUid))
      throw new Error(`${what} exists and is not owned by TaskRun uid ${ownerUid}`);
    return 'existing';
  }
}

/** HTTP statuses with which the API server refuses an object for good: sending it again cannot help. */
export const PERMANENT_REJECTIONS: ReadonlySet<number> = new Set([400, 413, 422]);

/** The API server refused this object for good (400 Bad Request, 413 Request entity too large, 422 Invalid). */
export function isPermanentRejection(err: unknown): boolean {
  return err instanceof ApiException && PERMANENT_REJECTIONS.has(err.code);
}

/** REST paths of a namespace's ConfigMaps and Jobs (kube.json calls). */
const configMapPath = (ns: string, name = '') => `/api/v1/namespaces/${ns}/configmaps${name && `/${name}`}`;
const jobPath = (ns: string, name = '') => `/apis/batch/v1/namespaces/${ns}/jobs${name && `/${name}`}`;
/** A create names the project as its field manager (kube.json sends no User-Agent to derive one from). */
const CREATE_QUERY = `?fieldManager=${FIELD_MANAGER}`;
type Owned = { metadata?: { ownerReferences?: { uid: string }[] } };

/**
 * The task ConfigMap and the Job, each create-or-get: a retried call never makes a second Job. A
 * permanent rejection of either is thrown (preferred over a transient error of the other); a Job
 * made while its ConfigMap was refused for good is deleted, so no Job waits for a volume that will
 * never exist.
 */
export async function ensureAgentJob(
  kube: KubeClients,
  taskRun: TaskRunRef,
  jobName: string,
  spec: TaskRunSpec,
  config: ControllerConfig,
): Promise<'created' | 'existing'> {
  const ns = taskRun.namespace;
  // Two of every TaskRun's writes, thousands a minute at scale: the lean JSON call (json-call.ts).
  // In parallel: the Job's pod mounts the ConfigMap but only waits for it (the kubelet retries a
  // missing volume source), and one round trip instead of two halves the TaskRun -> Job latency.
  const [configMap, job] = await Promise.allSettled([
    createOrGet(
      `ConfigMap ${ns}/${jobName}`,
      () => kube.json('POST', configMapPath(ns) + CREATE_QUERY, taskConfigMap(taskRun, jobName, spec)),
      async () => (await kube.json('GET', configMapPath(ns, jobName))) as Owned,
      taskRun.uid,
    ),
    createOrGet(
      `Job ${ns}/${jobName}`,
      () => kube.json('POST', jobPath(ns) + CREATE_QUERY, agentJob(taskRun, jobName, spec, config)),
      async () => (await kube.json('GET', jobPath(ns, jobName))) as Owned,
      taskRun.uid,
    ),
  ]);
  if (configMap.status === 'rejected' && isPermanentRejection(configMap.reason) && job.status === 'fulfilled') {
    await kubeCall(`delete Job ${ns}/${jobName} (its task ConfigMap was rejected)`, () =>
      batchApi(kube)
        .deleteNamespacedJob({ namespace: ns, name: jobName, propagationPolicy: 'Background' })
        .catch((err: unknown) => {
          if (!isStatus(err, 404)) throw err;
        }),
    );
  }
  const failures = [job, configMap].filter((r) => r.status === 'rejected').map((r) => r.reason as unknown);
  if (failures.length) throw failures.find(isPermanentRejection) ?? failures[0];
  return (job as PromiseFulfilledResult<'created' | 'existing'>).value;
}

/** The compact view of an agent Job; undefined for a Job that no TaskRun owns. */
export function observeJob(job: V1Job): ObservedJob | undefined {
  const owner = job.metadata?.ownerReferences?.find(
    (o) => o.kind === 'TaskRun' && o.apiVersion.startsWith(`${TASKRUN.group}/`),
  );
  if (!owner || !job.metadata?.name) return undefined;
  const conditions = job.status?.conditions ?? [];
  const complete = conditions.find((c) => c.type === 'Complete' && c.status === 'True');
  const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
  const iso = (d: Date | string | undefined) => (d === undefined ? undefined : new Date(d).toISOString());
  const startTime = iso(job.status?.startTime);
  const completionTime = iso(job.status?.completionTime);
  const finishedAt = iso((complete ?? failed)?.lastTransitionTime);
  return {
    name: job.metadata.name,
    ownerName: owner.name,
    ownerUid: owner.uid,
    active: job.status?.active ?? 0,
    ...(startTime ? { startTime } : {}),
    ...(completionTime ? { completionTime } : {}),
    ...(complete
      ? { outcome: 'Succeeded' as const }
      : failed
        ? {
            outcome: 'Failed' as const,
            message: `${failed.reason ?? 'Failed'}: ${failed.message ?? 'the agent Job failed'}`,
          }
        : {}),
    ...(finishedAt ? { finishedAt } : {}),
  };
}

export async function listAgentJobs(
  kube: KubeClients,
  namespace: string,
): Promise<{ items: V1Job[]; resourceVersion: string }> {
  let resourceVersion = '';
  const items = await kubeCall(`list agent Jobs in ${namespace}`, () =>
    listAllPages(async (cont) => {
      const page = await batchApi(kube).listNamespacedJob({
        namespace,
        labelSelector: AGENT_SELECTOR,
        limit: PAGE_SIZE,
        _continue: cont,
      });
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      return { items: page.items, metadata: { _continue: page.metadata?._continue } };
    }),
  );
  return { items, resourceVersion };
}
