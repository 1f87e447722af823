// The TaskRun controller's integration setup, shared by test/integration/taskrun-*.test.ts and the
// idle reliability test: the CRD, a namespace with the controller ConfigMap, a worker and the
// controller workflow under its fixed id.
import { fileURLToPath } from 'node:url';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { createActivities } from '../../activities/index.ts';
import { controllerWorkflowId } from '../../contract/types/taskrun.ts';
import { testActivityDeps, type TestCluster } from './cluster.ts';
import { runTestWorker, type TestTemporal } from './temporal.ts';
import { applyObjects } from './apply-objects.ts';

export const TASKRUN_CRD_FILE = fileURLToPath(
  new URL('../../charts/orchestrator/crds/taskruns.orchestrator.io.yaml', import.meta.url),
);

/**
 * Applies the chart's TaskRun CRD (as the runbooks' field manager may own it: --force-conflicts) and waits
 * until it is served. With `fieldManager` 'platform-runbooks' it is applied as deployPlatform applies it.
 */
export async function installTaskRunCrd(cluster: TestCluster, fieldManager?: string): Promise<void> {
  const manager = fieldManager ? [`--field-manager=${fieldManager}`] : [];
  await cluster.kubectl(['apply', '--server-side', '--force-conflicts', ...manager, '-f', TASKRUN_CRD_FILE]);
  await cluster.kubectl(['wait', '--for=condition=Established', 'crd/taskruns.orchestrator.io', '--timeout=60s']);
}

/** Whether the cluster has the TaskRun CRD now. */
export async function taskRunCrdExists(cluster: TestCluster): Promise<boolean> {
  return (await cluster.kubectl(['get', 'crd', 'taskruns.orchestrator.io', '--ignore-not-found', '-o', 'name'])) !== '';
}

/** Deletes the TaskRun CRD (and with it every TaskRun) and waits until it is gone. */
export async function deleteTaskRunCrd(cluster: TestCluster): Promise<void> {
  await cluster.kubectl([
    'delete',
    'crd',
    'taskruns.orchestrator.io',
    '--ignore-not-found',
    '--wait=true',
    '--timeout=60s',
  ]);
}

/** The controller ConfigMap's config.yaml of the tests: small requests (kwok nodes), the given cap. */
export const testControllerConfigYaml = (maxConcurrentTasks: number) =>
  `agent:\n  image: example/claude-agent:1.0.0\n  resources:\n    requests: {cpu: 100m, memory: 128Mi}\nmaxConcurrentTasks: ${maxConcurrentTasks}\n`;

export interface TaskRunControllerSetup {
  namespace: string;
  /** Task queue prefix of the worker. */
  prefix: string;
  maxConcurrentTasks: number;
  resyncSeconds: number;
}

/** CRD, namespace (deleted at the end) with the controller ConfigMap, a worker, and the controller (terminated at the end). */
export async function startTaskRunController(
  cluster: TestCluster,
  temporal: TestTemporal,
  setup: TaskRunControllerSetup,
): Promise<WorkflowHandleWithFirstExecutionRunId> {
  const { namespace } = setup;
  await installTaskRunCrd(cluster);
  await cluster.kubectl(['create', 'namespace', namespace]);
  cluster.defer(() => cluster.kubectl(['delete', 'namespace', namespace, '--wait=false']));
  await applyObjects(cluster, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'taskrun-controller-config', namespace },
    data: { 'config.yaml': testControllerConfigYaml(setup.maxConcurrentTasks) },
  });
  const taskQueue = await runTestWorker(temporal, createActivities(testActivityDeps(cluster)), setup.prefix);
  const controller = await startControllerWorkflow(temporal, taskQueue, {
    namespace,
    resyncSeconds: setup.resyncSeconds,
  });
  temporal.defer(() => controller.terminate('test finished').catch(() => undefined));
  return controller;
}

/** Starts the namespace's TaskRun controller workflow (under its fixed id) on the task queue. */
export function startControllerWorkflow(
  temporal: Pick<TestTemporal, 'client'>,
  taskQueue: string,
  input: { namespace: string; resyncSeconds?: number; chunkSize?: number },
): Promise<WorkflowHandleWithFirstExecutionRunId> {
  return temporal.client.workflow.start('taskRunController', {
    taskQueue,
    workflowId: controllerWorkflowId(input.namespace),
    args: [input],
  });
}

/** `kubectl get` of the namespace's controller ConfigMap with these output flags (e.g. -o json). */
export const getControllerConfigMap = (cluster: Pick<TestCluster, 'kubectl'>, namespace: string, ...output: string[]) =>
  cluster.kubectl(['get', 'configmap', 'taskrun-controller-config', '-n', namespace, ...output]);
