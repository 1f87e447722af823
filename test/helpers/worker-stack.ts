// The setup most integration files share: the test Temporal server and cluster, one in-process
// worker with the real activities on a task queue of its own, and the file's namespaces and
// directories removed at the end.
import { rmSync } from 'node:fs';
import type { ActivityDeps } from '../../activities/deps.ts';
import { createActivities } from '../../activities/index.ts';
import { testActivityDeps, type TestCluster } from './cluster.ts';
import { runTestWorker, type TestTemporal } from './temporal.ts';

export interface WorkerStack {
  temporal: TestTemporal;
  cluster: TestCluster;
  /** The worker's task queue. */
  taskQueue: string;
  /** The worker's activity dependencies (for calling an activity directly). */
  deps: ActivityDeps;
}

export interface WorkerStackOptions {
  /** Prefix of the task queue's name. */
  prefix: string;
  /** Activity dependencies besides the test cluster's (e.g. the backup store and keys). */
  deps?: Partial<ActivityDeps>;
  /** Namespaces the file makes: deleted at the end (without waiting; one never made is no error). */
  namespaces?: string[];
  /** Directories the file writes (e.g. a backup store): removed at the end, after the namespaces. */
  dirs?: string[];
}

/** Call in a before hook, with the accessors of useTestTemporal and useTestCluster. */
export async function startWorkerStack(
  testTemporal: () => Promise<TestTemporal>,
  testCluster: () => Promise<TestCluster>,
  options: WorkerStackOptions,
): Promise<WorkerStack> {
  const temporal = await testTemporal();
  const cluster = await testCluster();
  const deps: ActivityDeps = { ...testActivityDeps(cluster), ...options.deps };
  const taskQueue = await runTestWorker(temporal, createActivities(deps), options.prefix);
  cluster.defer(async () => {
    for (const ns of options.namespaces ?? [])
      await cluster.kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
    for (const dir of options.dirs ?? []) rmSync(dir, { recursive: true, force: true });
  });
  return { temporal, cluster, taskQueue, deps };
}
