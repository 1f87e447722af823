// The watch's hot path: the watch activity creates the Jobs of new TaskRuns itself, right after it
// sees them, instead of sending them to the workflow and waiting for a workflow task and an apply
// activity (each a round trip through Temporal). The workflow stays the ledger: the result it gets
// carries these TaskRuns with their Jobs, it counts them against maxConcurrentTasks, writes their
// status and decides everything else. Job names are derived from name and uid (create-or-get), so a
// Job the hot path and the workflow (or a retried attempt) both create is still one Job.
import type { KubeClients } from '../kube/client.ts';
import { ensureAgentJob } from '../kube/jobs.ts';
import { forEachConcurrently } from '../concurrency.ts';
import { heartbeat } from '../activity-context.ts';
import { IN_FLIGHT } from './apply.ts';
import { jobsToCreateAhead, handOver, recordCreatedJob, type NamespaceView } from './view.ts';
import { jobNameFor } from '../../contract/taskrun-job-name.ts';
import type { ControllerConfig } from '../../contract/types/taskrun.ts';

/** Jobs one watch call creates at most: its result (TaskRun + Job, ~1 KB each) stays well under the budget. */
export const HOT_PATH_MAX_PER_CALL = 100;

export interface HotPathOptions {
  namespace: string;
  config: ControllerConfig;
  /** WatchInput.createBudget. */
  budget: number;
  /** False once a newer attempt owns the view (an abandoned attempt creates nothing more). */
  stillOwner: () => boolean;
  signal?: AbortSignal;
  onCreated?: () => void;
}

/** Creates the Jobs the budget allows, recording them in the view. A failure hands the TaskRun over to the workflow. */
export async function createJobsAhead(kube: KubeClients, view: NamespaceView, opts: HotPathOptions): Promise<void> {
  const ahead = jobsToCreateAhead(view, opts.budget, HOT_PATH_MAX_PER_CALL);
  await forEachConcurrently(ahead, IN_FLIGHT, async (t) => {
    // Suspended (the activity is cancelled) or superseded: nothing more starts.
    if (opts.signal?.aborted || !opts.stillOwner()) return;
    const jobName = jobNameFor(t.name, t.uid);
    try {
      const job = await ensureAgentJob(
        kube,
        { name: t.name, uid: t.uid, namespace: opts.namespace },
        jobName,
        t.spec,
        opts.config,
      );
      recordCreatedJob(view, t, jobName);
      if (job === 'created') opts.onCreated?.();
    } catch {
      // Rejected for good, or the API server is struggling: the workflow's apply path reports or retries it.
      handOver(view, t);
    }
    heartbeat();
  });
  opts.signal?.throwIfAborted();
}
