// applyTaskRunActions: for a chunk of TaskRuns, create the task ConfigMap + agent Job (create-or-get)
// and/or write the status subresource, 50 in flight. Per-TaskRun failures come back as results
// (the reconciler retries them next round); a TaskRun deleted meanwhile is reported 'gone'.
import type { KubeClients } from '../kube/client.ts';
import { isStatus, toKubeFailure } from '../errors.ts';
import { taskRunPath } from '../kube/taskruns.ts';
import { FIELD_MANAGER } from '../kube/apply.ts';
import { ensureAgentJob, isPermanentRejection } from '../kube/jobs.ts';
import { heartbeat } from '../activity-context.ts';
import type { TaskRunMetrics } from '../metrics.ts';
import type { ActionResult, ApplyActionsInput, TaskRunAction, TaskRunStatus } from '../../contract/types/taskrun.ts';

/** Writes in flight per call (the reconciler keeps at most 100 TaskRuns in flight across its calls); the hot path's too. */
export const IN_FLIGHT = 50;

export async function writeTaskRunStatus(
  kube: KubeClients,
  namespace: string,
  name: string,
  uid: string,
  status: TaskRunStatus,
): Promise<void> {
  // Most of the controller's writes (about four a TaskRun): the lean JSON call (json-call.ts).
  // metadata.uid makes the patch a precondition: a TaskRun recreated under the same name answers 409.
  await kube.json(
    'PATCH',
    `${taskRunPath(namespace, name)}/status?fieldManager=${FIELD_MANAGER}`,
    { metadata: { uid }, status },
    'application/merge-patch+json',
  );
}

/** An API error's body as text (kube.json parses it; client-node's calls keep the text). */
const bodyText = (err: unknown) => {
  const body = (err as { body?: unknown }).body;
  return typeof body === 'string' ? body : JSON.stringify(body ?? '');
};

async function applyOne(
  kube: KubeClients,
  input: ApplyActionsInput,
  action: TaskRunAction,
  metrics: TaskRunMetrics,
): Promise<ActionResult> {
  const { namespace } = input;
  const result: ActionResult = { name: action.name };
  const stop = metrics.reconciliationDuration.startTimer({ namespace });
  let writingStatus = false;
  try {
    if (action.create) {
      result.job = await ensureAgentJob(
        kube,
        { name: action.name, uid: action.uid, namespace },
        action.jobName,
        action.create,
        input.config,
      );
      if (result.job === 'created') metrics.jobsCreated.inc({ namespace });
    }
    if (action.status) {
      writingStatus = true;
      await writeTaskRunStatus(kube, namespace, action.name, action.uid, action.status);
      result.status = 'written';
      if (action.status.phase === 'Failed') metrics.jobsFailed.inc({ namespace });
    }
    metrics.reconciliations.inc({ namespace, result: 'success' });
  } catch (err) {
    // The TaskRun is gone (404), or was recreated (uid precondition 409): its tracking ends.
    const gone =
      isStatus(err, 404) ||
      (isStatus(err, 409) && !action.create) ||
      (writingStatus && isStatus(err, 422) && /uid/i.test(bodyText(err)));
    if (gone) {
      if (action.create && !result.job) result.job = 'gone';
      result.status = 'gone';
      metrics.reconciliations.inc({ namespace, result: 'gone' });
    } else if (action.create && !writingStatus && isPermanentRejection(err)) {
      // Sending the same ConfigMap or Job again cannot help (e.g. negative cpu, limits below
      // requests, a prompt over the ConfigMap size limit): the TaskRun fails with the reason.
      result.rejected = toKubeFailure(err, `create the agent Job ${namespace}/${action.jobName}`).message;
      metrics.reconciliations.inc({ namespace, result: 'rejected' });
    } else {
      result.error = toKubeFailure(err, `reconcile TaskRun ${namespace}/${action.name}`).message;
      metrics.reconciliations.inc({ namespace, result: 'error' });
    }
  } finally {
    stop();
  }
  return result;
}

export async function applyTaskRunActions(
  kube: KubeClients,
  input: ApplyActionsInput,
  metrics: TaskRunMetrics,
): Promise<ActionResult[]> {
  const results: ActionResult[] = new Array(input.actions.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < input.actions.length; i = next++) {
      results[i] = await applyOne(kube, input, input.actions[i]!, metrics);
      heartbeat({ done: i + 1 });
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, input.actions.length) }, worker));
  return results;
}
