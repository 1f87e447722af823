// cleanupTaskRuns' activities: a read-only plan (what is old enough and not kept), then deletion
// with uid preconditions (owner references take the Jobs and ConfigMaps with them).
import type { KubeClients } from '../kube/client.ts';
import { isStatus, kubeCall } from '../errors.ts';
import { listTaskRuns, TASKRUN } from '../kube/taskruns.ts';
import type { CleanupCandidate, CleanupPlan, TaskRunPhase } from '../../workflows/types/taskrun.ts';

export interface PlanCleanupInput {
  namespace: string;
  succeededMaxAgeSeconds: number;
  failedMaxAgeSeconds: number;
  keepLabel: string;
}

export async function planTaskRunCleanup(kube: KubeClients, input: PlanCleanupInput, now = Date.now()): Promise<CleanupPlan> {
  const { items: runs } = await listTaskRuns(kube, input.namespace);
  const plan: CleanupPlan = { delete: [], kept: [], scanned: runs.length };
  for (const run of runs) {
    const phase = run.status?.phase as TaskRunPhase | undefined;
    if (phase !== 'Succeeded' && phase !== 'Failed') continue;
    const since = (run.status?.completionTime as string | undefined) ?? run.metadata.creationTimestamp;
    const ageSeconds = since ? Math.floor((now - Date.parse(since)) / 1000) : 0;
    const maxAge = phase === 'Succeeded' ? input.succeededMaxAgeSeconds : input.failedMaxAgeSeconds;
    if (ageSeconds < maxAge) continue;
    if (run.metadata.labels?.[input.keepLabel] !== undefined) {
      plan.kept.push({ name: run.metadata.name, reason: `labelled ${input.keepLabel}` });
      continue;
    }
    const candidate: CleanupCandidate = { name: run.metadata.name, uid: run.metadata.uid ?? '', phase, ageSeconds };
    plan.delete.push(candidate);
  }
  return plan;
}

export async function deleteTaskRuns(kube: KubeClients, input: { namespace: string; taskRuns: { name: string; uid: string }[] }): Promise<{ deleted: string[]; alreadyGone: string[] }> {
  const out = { deleted: [] as string[], alreadyGone: [] as string[] };
  for (const tr of input.taskRuns) {
    try {
      await kube.custom.deleteNamespacedCustomObject({
        group: TASKRUN.group, version: TASKRUN.version, plural: TASKRUN.plural, namespace: input.namespace, name: tr.name,
        propagationPolicy: 'Background', body: { preconditions: { uid: tr.uid } },
      });
      out.deleted.push(tr.name);
    } catch (err) {
      // 404: deleted meanwhile; 409: a new TaskRun took the name (precondition failed), not ours to delete.
      if (isStatus(err, 404) || isStatus(err, 409)) out.alreadyGone.push(tr.name);
      else await kubeCall(`delete TaskRun ${input.namespace}/${tr.name}`, () => Promise.reject(err));
    }
  }
  return out;
}
