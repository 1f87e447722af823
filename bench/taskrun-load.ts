// What the TaskRun controller benchmarks (reconcile, reconcile-scale) share: the stack with the TaskRun
// CRD served and the real worker, a namespace with the controller's ConfigMap, TaskRuns created in a
// burst, and our controller (taskRunController) started and through its first round.
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { forEachConcurrently } from '../activities/concurrency.ts';
import { applyObjects } from '../test/helpers/apply-objects.ts';
import { controllerConfigMap, failFastControllerConfig } from '../test/helpers/controller-config-map.ts';
import { createTaskRun } from '../test/helpers/taskrun-objects.ts';
import { controllerWorkflowId } from '../contract/types/taskrun.ts';
import { startBenchStack, startBenchWorker, type BenchStack, type BenchWorker } from './stack.ts';

// Not test/helpers/taskrun.ts's: importing it would start the test Temporal runtime and test hooks.
const crdFile = fileURLToPath(new URL('../charts/orchestrator/crds/taskruns.orchestrator.io.yaml', import.meta.url));

/** A fresh stack (3 nodes) with the TaskRun CRD established, and the real worker on task queue bench-<name>. */
export async function startTaskRunBench(
  name: string,
  cluster: Parameters<typeof startBenchStack>[2] = {},
): Promise<{ stack: BenchStack; worker: BenchWorker }> {
  const stack = await startBenchStack(name, 3, cluster);
  await stack.k(['apply', '--server-side', '-f', crdFile]);
  await stack.k(['wait', '--for=condition=Established', 'crd/taskruns.orchestrator.io', '--timeout=60s']);
  return { stack, worker: await startBenchWorker(stack, `bench-${name}`) };
}

/** Creates the namespace with the controller's ConfigMap (failing Jobs are not retried; at most `maxConcurrentTasks` run). */
export async function controllerNamespace(
  stack: BenchStack,
  name: string,
  maxConcurrentTasks: number,
): Promise<string> {
  await stack.k(['create', 'namespace', name]);
  await applyObjects({ kubectl: stack.k }, controllerConfigMap(name, failFastControllerConfig(maxConcurrentTasks)));
  return name;
}

/** Creates one TaskRun of the benches (service bench, its name as the task id). */
export const createBenchTaskRun = (stack: BenchStack, namespace: string, name: string) =>
  createTaskRun(stack, namespace, { name }, { service: 'bench', taskId: name, prompt: `bench task ${name}` });

/** Creates TaskRuns <prefix>0 .. <prefix>(count-1) at once: 50 create calls in flight. */
export function createTaskRunBurst(stack: BenchStack, namespace: string, prefix: string, count: number): Promise<void> {
  const names = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  return forEachConcurrently(names, 50, (name) => createBenchTaskRun(stack, namespace, name));
}

/** Starts our controller for the namespace; returns once its first (snapshot) round is done, or after `waitSeconds`. */
export async function startOurController(
  worker: BenchWorker,
  namespace: string,
  waitSeconds: number,
  options: { resyncSeconds?: number } = {},
): Promise<WorkflowHandleWithFirstExecutionRunId> {
  const handle = await worker.client.workflow.start('taskRunController', {
    taskQueue: worker.taskQueue,
    workflowId: controllerWorkflowId(namespace),
    args: [{ namespace, ...options }],
  });
  for (let i = 0; i < waitSeconds * 20 && (await handle.query<{ rounds: number }>('taskRunController')).rounds < 1; i++)
    await sleep(50);
  return handle;
}
