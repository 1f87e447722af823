// The worker processes of a crash test: all on one task queue with one environment, so that the next
// one (started after a SIGKILL) is like the one it replaces; every one still running is stopped at the end.
import type { WorkflowHandle } from '@temporalio/client';
import type { TestCluster } from './cluster.ts';
import { afterActivity, killAtEachPoint, type KillPoint } from './step-boundary-kill.ts';
import type { TestTemporal } from './temporal.ts';
import { startWorkerProcess, type WorkerProcess } from './worker-process.ts';

export interface CrashWorkers {
  /** Starts one more worker process. */
  start(): Promise<WorkerProcess>;
  /** SIGTERMs every worker process started (those killed already are passed over); for the test's cleanup. */
  stopAll(): Promise<void>;
}

export function crashWorkers(
  temporal: Pick<TestTemporal, 'address'>,
  cluster: Pick<TestCluster, 'kubeconfigPath'>,
  taskQueue: string,
  env?: Record<string, string>,
): CrashWorkers {
  const started: WorkerProcess[] = [];
  return {
    start: async () => {
      const worker = await startWorkerProcess({
        temporalAddress: temporal.address,
        kubeconfigPath: cluster.kubeconfigPath,
        taskQueue,
        ...(env ? { env } : {}),
      });
      started.push(worker);
      return worker;
    },
    stopAll: async () => {
      for (const worker of started) await worker.kill('SIGTERM').catch(() => undefined);
    },
  };
}

/** Where to kill: after the run's n-th activity (which must be of this type), or any other kill point. */
export type StepBoundary = readonly [n: number, activityType: string] | KillPoint;

/** killAtEachPoint with the next worker from `workers`: SIGKILLs the current one at each boundary in turn. */
export function killAtBoundaries(
  handle: WorkflowHandle,
  first: WorkerProcess,
  workers: CrashWorkers,
  boundaries: StepBoundary[],
) {
  const points = boundaries.map((b) => ('reached' in b ? b : afterActivity(handle, b[0], b[1])));
  return killAtEachPoint({ handle, first, startWorker: workers.start, points });
}
