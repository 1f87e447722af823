// Builds the Temporal Worker that runs every runbook. Used by worker/main.ts and by tests,
// which pass mocked activities or a prebuilt workflow bundle (built with RUNBOOK_WORKFLOW_INTERCEPTORS).
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { runbookMetricsSinks } from './runbook-metrics.ts';
import type { WorkerSizing } from './config.ts';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
/** Workflow interceptor modules: every runbook's final phase and run metric (bundled with the workflows). */
export const RUNBOOK_WORKFLOW_INTERCEPTORS = [
  fileURLToPath(new URL('../workflows/runbook-interceptors.ts', import.meta.url)),
];
export const DEFAULT_TASK_QUEUE = 'runbooks';

export interface RunbookWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: object;
  /** A prebuilt bundle (tests build it once per file, with workflowInterceptorModules: RUNBOOK_WORKFLOW_INTERCEPTORS); otherwise the workflows are bundled now. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  identity?: string;
  /** The worker process's sizing (worker/config.ts); tests leave it out and get the SDK's defaults. */
  sizing?: WorkerSizing;
}

export async function createRunbookWorker(opts: RunbookWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: opts.activities,
    sinks: runbookMetricsSinks(),
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: WORKFLOWS_PATH, interceptors: { workflowModules: RUNBOOK_WORKFLOW_INTERCEPTORS } }),
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.sizing ? sizingOptions(opts.sizing) : {}),
    // A cancellation reaches an activity only in the answer to a heartbeat the worker sends, and the
    // SDK sends them at most every 0.8 x heartbeatTimeout (8 s for the TaskRun watch): suspending the
    // controller and its continue-as-new wait for the watch to stop, so they would wait that long.
    maxHeartbeatThrottleInterval: '1 second',
  });
}

function sizingOptions(sizing: WorkerSizing): Partial<WorkerOptions> {
  return {
    maxCachedWorkflows: sizing.maxCachedWorkflows,
    workflowThreadPoolSize: sizing.workflowThreads,
    maxConcurrentActivityTaskExecutions: sizing.maxConcurrentActivities,
    // The SDK's 40 workflow tasks at once, but never more than the cache holds (the SDK requires it).
    maxConcurrentWorkflowTaskExecutions: Math.min(40, sizing.maxCachedWorkflows),
  };
}
