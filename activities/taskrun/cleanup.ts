// cleanupTaskRuns' activities: a read-only plan (what is old enough and not kept), then the
// deletion, with uid preconditions (owner references take the Jobs and ConfigMaps with them). Both
// read the TaskRuns page by page and return counts and bounded samples, never every name: a
// namespace may hold tens of thousands of old TaskRuns, and a workflow payload is at most 2 MB.
// The deletion applies the plan's criteria at the plan's time (asOf), page by page with bounded
// concurrency, heartbeating its progress; a retried attempt lists again (what it deleted is gone)
// and adds to the counts it heartbeated.
import type { KubeClients } from '../kube/client.ts';
import { isStatus, toKubeFailure } from '../errors.ts';
import { listTaskRuns, TASKRUN, type TaskRunObject } from '../kube/taskruns.ts';
import { cancellationSignal, heartbeat, previousHeartbeat } from '../activity-context.ts';
import { forEachConcurrently } from '../concurrency.ts';
import type { CleanupCandidate, CleanupCriteria, CleanupDeletion, CleanupPlan } from '../../contract/types/taskrun.ts';

/** Names a plan or a deletion reports of each kind, at most. */
export const CLEANUP_SAMPLE = 20;
/** Deletes in flight: enough to delete 25,000 TaskRuns in minutes, far below the API server's limits. */
export const DELETE_CONCURRENCY = 16;

type Selection = { delete: CleanupCandidate } | { keep: string } | undefined;

/** What the retention does with one TaskRun at `asOf`: delete it, keep it (labelled), or nothing (too young, unfinished). */
export function selectForCleanup(run: TaskRunObject, criteria: CleanupCriteria): Selection {
  if ((run.metadata as { deletionTimestamp?: string }).deletionTimestamp) return undefined; // being deleted already
  const phase = run.status?.phase;
  if (phase !== 'Succeeded' && phase !== 'Failed') return undefined;
  const since = (run.status?.completionTime as string | undefined) ?? run.metadata.creationTimestamp;
  const ageSeconds = since ? Math.floor((Date.parse(criteria.asOf) - Date.parse(since)) / 1000) : 0;
  const maxAge = phase === 'Succeeded' ? criteria.succeededMaxAgeSeconds : criteria.failedMaxAgeSeconds;
  if (ageSeconds < maxAge) return undefined;
  if (run.metadata.labels?.[criteria.keepLabel] !== undefined) return { keep: `labelled ${criteria.keepLabel}` };
  return { delete: { name: run.metadata.name, uid: run.metadata.uid ?? '', phase, ageSeconds } };
}

const sample = <T>(list: T[], item: T) => {
  if (list.length < CLEANUP_SAMPLE) list.push(item);
};

export async function planTaskRunCleanup(kube: KubeClients, criteria: CleanupCriteria): Promise<CleanupPlan> {
  const plan: CleanupPlan = {
    asOf: criteria.asOf,
    scanned: 0,
    toDelete: { Succeeded: 0, Failed: 0 },
    kept: 0,
    samples: { delete: [], kept: [] },
  };
  await listTaskRuns(kube, criteria.namespace, {
    keep: false,
    onPage: (runs) => {
      for (const run of runs) {
        plan.scanned++;
        const s = selectForCleanup(run, criteria);
        if (s && 'keep' in s) {
          plan.kept++;
          sample(plan.samples.kept, { name: run.metadata.name, reason: s.keep });
        } else if (s) {
          plan.toDelete[s.delete.phase as 'Succeeded' | 'Failed']++;
          sample(plan.samples.delete, s.delete);
        }
      }
      heartbeat({ scanned: plan.scanned });
    },
  });
  return plan;
}

export interface DeleteOptions {
  concurrency?: number;
  pageSize?: number;
  /** Progress after each page (inside an activity it is also heartbeated). */
  onProgress?: (progress: CleanupDeletion) => void;
  /** What an earlier attempt reported (its heartbeat details): counted in. Default: the activity's heartbeat details. */
  resumeFrom?: CleanupDeletion;
}

function previousAttempt(): CleanupDeletion | undefined {
  return previousHeartbeat<{ progress?: CleanupDeletion }>()?.progress;
}

/** Deletes the TaskRuns the criteria select (as the plan did, at its asOf), page by page. */
export async function deleteOldTaskRuns(
  kube: KubeClients,
  criteria: CleanupCriteria,
  options: DeleteOptions = {},
): Promise<CleanupDeletion> {
  const before = options.resumeFrom ?? previousAttempt();
  const out: CleanupDeletion = {
    scanned: 0,
    deleted: { Succeeded: 0, Failed: 0, ...before?.deleted },
    alreadyGone: before?.alreadyGone ?? 0,
    kept: 0,
    samples: { deleted: [...(before?.samples.deleted ?? [])], alreadyGone: [...(before?.samples.alreadyGone ?? [])] },
  };
  const signal = cancellationSignal();
  const concurrency = options.concurrency ?? DELETE_CONCURRENCY;
  const report = () => {
    const progress: CleanupDeletion = {
      ...out,
      deleted: { ...out.deleted },
      samples: { deleted: [...out.samples.deleted], alreadyGone: [...out.samples.alreadyGone] },
    };
    heartbeat({ progress });
    options.onProgress?.(progress);
  };
  await listTaskRuns(kube, criteria.namespace, {
    keep: false,
    ...(options.pageSize ? { pageSize: options.pageSize } : {}),
    onPage: async (runs) => {
      const batch: CleanupCandidate[] = [];
      for (const run of runs) {
        out.scanned++;
        const s = selectForCleanup(run, criteria);
        if (s && 'keep' in s) out.kept++;
        else if (s) batch.push(s.delete);
      }
      // Reported also when a delete fails: a retried attempt counts what this one did.
      await forEachConcurrently(batch, concurrency, async (c) => {
        signal?.throwIfAborted();
        try {
          await kube.custom.deleteNamespacedCustomObject({
            group: TASKRUN.group,
            version: TASKRUN.version,
            plural: TASKRUN.plural,
            namespace: criteria.namespace,
            name: c.name,
            propagationPolicy: 'Background',
            body: { preconditions: { uid: c.uid } },
          });
          out.deleted[c.phase as 'Succeeded' | 'Failed']++;
          sample(out.samples.deleted, c.name);
        } catch (err) {
          // 404: deleted meanwhile; 409: a new TaskRun took the name (precondition failed), not ours to delete.
          if (!isStatus(err, 404) && !isStatus(err, 409))
            throw toKubeFailure(err, `delete TaskRun ${criteria.namespace}/${c.name}`);
          out.alreadyGone++;
          sample(out.samples.alreadyGone, c.name);
        }
      }).finally(report);
    },
  });
  return out;
}
