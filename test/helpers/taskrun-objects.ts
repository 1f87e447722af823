// TaskRuns as the tests make them: the object, its creation with a status (through the API: kubectl
// apply cannot write a status, and one API call each is fast for many), and a status written later.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { TestCluster } from './cluster.ts';

const TASKRUNS = { group: 'orchestrator.io', version: 'v1', plural: 'taskruns' };

export interface TaskRunSpec {
  service: string;
  taskId: string;
  prompt: string;
  [field: string]: unknown;
}

export interface TaskRunMeta {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The spec of a TaskRun named after its task (service auth-service, prompt "do <name>"). */
export const taskSpec = (name: string): TaskRunSpec => ({
  service: 'auth-service',
  taskId: name,
  prompt: `do ${name}`,
});

export function taskRunObject(meta: TaskRunMeta & { namespace?: string }, spec: TaskRunSpec) {
  return { apiVersion: 'orchestrator.io/v1', kind: 'TaskRun', metadata: meta, spec };
}

/** Creates the TaskRun in `namespace`, then (when given) writes its status as a controller would. */
export async function createTaskRun(
  cluster: Pick<TestCluster, 'kube'>,
  namespace: string,
  meta: TaskRunMeta,
  spec: TaskRunSpec,
  status?: Record<string, unknown>,
): Promise<void> {
  const { custom } = cluster.kube;
  await custom.createNamespacedCustomObject({ ...TASKRUNS, namespace, body: taskRunObject(meta, spec) });
  if (!status) return;
  await custom.patchNamespacedCustomObjectStatus(
    { ...TASKRUNS, namespace, name: meta.name, body: { status } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** Writes a TaskRun's status (a merge patch of the status subresource, as a controller writes it). */
export async function setTaskRunStatus(
  cluster: Pick<TestCluster, 'kubectl'>,
  namespace: string,
  name: string,
  status: object,
): Promise<void> {
  const patch = JSON.stringify({ status });
  await cluster.kubectl([
    'patch',
    'taskrun',
    name,
    '-n',
    namespace,
    '--subresource=status',
    '--type=merge',
    '-p',
    patch,
  ]);
}
