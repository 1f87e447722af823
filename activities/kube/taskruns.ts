// Typed access to the platform's TaskRun custom resources (taskruns.orchestrator.io).
import type { TaskRunsReport } from '../../workflows/types/platform-health.ts';
import type { KubeClients } from './client.ts';
import { crdExists } from './exists.ts';
import { kubeCall } from '../errors.ts';
import { customObjectPage, listAllPages, PAGE_SIZE } from './paginate.ts';

export const TASKRUN = { group: 'orchestrator.io', version: 'v1', plural: 'taskruns', crdName: 'taskruns.orchestrator.io' } as const;

export interface TaskRunObject {
  metadata: { name: string; namespace: string; uid?: string; labels?: Record<string, string>; creationTimestamp?: string };
  spec?: Record<string, unknown>;
  status?: { phase?: string; [key: string]: unknown };
}

export const taskRunCrdInstalled = (kube: KubeClients) => crdExists(kube, TASKRUN.crdName);

export async function listTaskRuns(kube: KubeClients, namespace: string): Promise<TaskRunObject[]> {
  return kubeCall(`list TaskRuns in ${namespace}`, () =>
    listAllPages(async (cont) =>
      customObjectPage<TaskRunObject>(await kube.custom.listNamespacedCustomObject({
        group: TASKRUN.group,
        version: TASKRUN.version,
        plural: TASKRUN.plural,
        namespace,
        limit: PAGE_SIZE,
        _continue: cont,
      })),
    ),
  );
}

export async function countTaskRunsByPhase(kube: KubeClients, namespace: string): Promise<TaskRunsReport> {
  if (!(await taskRunCrdInstalled(kube))) return { crdInstalled: false, total: 0, byPhase: {} };
  const runs = await listTaskRuns(kube, namespace);
  const byPhase: Record<string, number> = {};
  for (const run of runs) {
    const phase = run.status?.phase ?? 'Pending';
    byPhase[phase] = (byPhase[phase] ?? 0) + 1;
  }
  return { crdInstalled: true, total: runs.length, byPhase };
}
