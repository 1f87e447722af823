// The TaskRun controller end to end: real dev server, in-process worker with real activities,
// real local cluster (kwok completes Job pods; an image ending in :fail exits 1, one ending in
// :broken never finishes). Also: a Job deleted while the controller was down, search attributes.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, type WorkflowHandle } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { ensureSearchAttributes, ensureTaskRunController } from '../../client/taskrun-controller.ts';
import { createActivities } from '../../activities/index.ts';
import { registry } from '../../activities/metrics.ts';
import { createRunbookWorker } from '../../worker/worker.ts';
import { taskRunControllerQuery, taskRunQuery, type CleanupReport } from '../../contract/messages.ts';
import { TASKRUN_SEARCH_ATTRIBUTES } from '../../contract/types/taskrun.ts';
import { testActivityDeps, useTestCluster, uniqueNamespace, type TestCluster } from '../helpers/cluster.ts';
import { installTaskRunCrd, startControllerWorkflow } from '../helpers/taskrun.ts';
import { eventually } from '../helpers/eventually.ts';
import { uniqueTaskQueue, useTestTemporal, workflowBundle } from '../helpers/temporal.ts';
import { applyObjects } from '../helpers/apply-objects.ts';
import { claimOn, volumeFor } from '../helpers/static-volume.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const namespace = uniqueNamespace('taskruns');
const taskQueue = uniqueTaskQueue('taskruns-it');
let controller: WorkflowHandle;

const controllerConfig = (image: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'taskrun-controller-config', namespace },
  data: {
    'config.yaml': [
      'agent:',
      `  image: ${image}`,
      '  resources:',
      '    requests: {cpu: 100m, memory: 128Mi}',
      '  workspaceMountPath: /workspace',
      'job:',
      '  backoffLimit: 0',
      '  ttlSecondsAfterFinished: 3600',
      'maxConcurrentTasks: 50',
      'secrets:',
      '  name: orchestrator-secrets',
      '  env:',
      '  - {name: ANTHROPIC_API_KEY, key: ANTHROPIC_API_KEY}',
      '  - {name: GITHUB_TOKEN, key: GITHUB_TOKEN}',
      '',
    ].join('\n'),
  },
});

const taskRun = (
  name: string,
  spec: Record<string, unknown> = {},
  ns = namespace,
  labels: Record<string, string> = {},
) => ({
  apiVersion: 'orchestrator.io/v1',
  kind: 'TaskRun',
  metadata: { name, namespace: ns, labels },
  spec: { service: 'auth-service', taskId: `task-${name}`, prompt: `do ${name}`, ...spec },
});

async function getJson<T>(cluster: TestCluster, args: string[]): Promise<T> {
  return JSON.parse(await cluster.kubectl([...args, '-o', 'json'])) as T;
}

interface TaskRunJson {
  metadata: { uid: string };
  status?: {
    phase?: string;
    jobName?: string;
    startTime?: string;
    completionTime?: string;
    observedGeneration?: number;
    message?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

async function waitPhase(cluster: TestCluster, name: string, phase: string): Promise<TaskRunJson> {
  return eventually(`TaskRun ${name} ${phase}`, async () => {
    const tr = await getJson<TaskRunJson>(cluster, ['get', 'taskrun', name, '-n', namespace]);
    return tr.status?.phase === phase ? tr : undefined;
  });
}

/** The agent image of a TaskRun's Job. */
async function jobImage(cluster: TestCluster, tr: TaskRunJson): Promise<string> {
  const args = [
    'get',
    'job',
    tr.status!.jobName!,
    '-n',
    namespace,
    '-o',
    'jsonpath={.spec.template.spec.containers[0].image}',
  ];
  return (await cluster.kubectl(args)).trim();
}

/** How many Jobs the task has (by the task-id label). */
async function jobCount(cluster: TestCluster, taskId: string): Promise<number> {
  return (await getJson<{ items: unknown[] }>(cluster, ['get', 'jobs', '-n', namespace, '-l', `task-id=${taskId}`]))
    .items.length;
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const value = (
    m?.values as { value: number; labels: Record<string, string | number>; metricName?: string }[] | undefined
  )
    ?.filter(
      (v) =>
        Object.entries(labels).every(([k, val]) => v.labels[k] === val) &&
        (!v.metricName || v.metricName === name || v.metricName.endsWith('_count')),
    )
    .reduce((sum, v) => sum + v.value, 0);
  return value ?? 0;
}

before(async () => {
  const cluster = await testCluster();
  const temporal = await testTemporal();
  await installTaskRunCrd(cluster);
  await cluster.kubectl(['create', 'namespace', namespace]);
  cluster.defer(() => cluster.kubectl(['delete', 'namespace', namespace, '--wait=false']));
  await applyObjects(cluster, controllerConfig('example/claude-agent:1.0.0'));
  const worker = await createRunbookWorker({
    connection: temporal.nativeConnection,
    namespace: temporal.namespace,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities(testActivityDeps(cluster)),
  });
  const running = worker.run();
  temporal.defer(async () => {
    await controller?.terminate('test finished').catch(() => undefined);
    worker.shutdown();
    await running;
  });
  controller = await startControllerWorkflow(temporal, taskQueue, { namespace, resyncSeconds: 30 });
});

test('a TaskRun goes Pending -> Running -> Succeeded; its Job is labelled, owned, gets keys by reference and the workspace claim', async () => {
  const cluster = await testCluster();
  // A PVC binds only to a PersistentVolume made for it.
  const pv = `ws-${namespace}`;
  const workspace = { pv, namespace, claim: 'workspace', storageClassName: '', hostPath: `/tmp/${pv}` };
  await applyObjects(cluster, volumeFor(workspace), claimOn(workspace));
  cluster.defer(() => cluster.kubectl(['delete', 'pv', pv, '--wait=false']));
  await eventually('the workspace PVC to bind', async () =>
    (await cluster.kubectl(['get', 'pvc', 'workspace', '-n', namespace, '-o', 'jsonpath={.status.phase}'])).trim() ===
    'Bound'
      ? true
      : undefined,
  );

  const createdBefore = await metric('taskrun_jobs_created_total', { namespace });
  await applyObjects(cluster, taskRun('ok-1', { workspaceClaim: 'workspace' }));
  const tr = await waitPhase(cluster, 'ok-1', 'Succeeded');
  const status = tr.status!;
  assert.ok(status.jobName?.startsWith('ok-1-'));
  assert.ok(status.startTime && status.completionTime);
  assert.equal(status.observedGeneration, 1);
  assert.deepEqual(
    status.conditions?.map((c) => [c.type, c.status]),
    [
      ['JobCreated', 'True'],
      ['Started', 'True'],
      ['Complete', 'True'],
    ],
  );

  const tracked = await controller.query(taskRunQuery, 'ok-1');
  assert.ok(tracked);
  assert.deepEqual(
    tracked.transitions.map((t) => t.phase),
    ['Pending', 'Running', 'Succeeded'],
  );

  interface JobJson {
    metadata: { labels: Record<string, string>; ownerReferences: { kind: string; uid: string; controller: boolean }[] };
    spec: {
      backoffLimit: number;
      template: {
        spec: {
          containers: {
            image: string;
            env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
            volumeMounts: { name: string; mountPath: string }[];
          }[];
          volumes: { name: string; persistentVolumeClaim?: { claimName: string } }[];
        };
      };
    };
  }
  const job = await getJson<JobJson>(cluster, ['get', 'job', status.jobName!, '-n', namespace]);
  assert.equal(job.metadata.labels.app, 'claude-agent');
  assert.equal(job.metadata.labels['task-id'], 'task-ok-1');
  assert.deepEqual(
    job.metadata.ownerReferences.map((o) => [o.kind, o.uid, o.controller]),
    [['TaskRun', tr.metadata.uid, true]],
  );
  assert.equal(job.spec.backoffLimit, 0);
  const container = job.spec.template.spec.containers[0]!;
  assert.equal(container.image, 'example/claude-agent:1.0.0');
  const key = container.env.find((e) => e.name === 'ANTHROPIC_API_KEY')!;
  assert.deepEqual(key.valueFrom?.secretKeyRef, { name: 'orchestrator-secrets', key: 'ANTHROPIC_API_KEY' });
  assert.equal(key.value, undefined);
  assert.deepEqual(
    container.volumeMounts.find((m) => m.name === 'workspace'),
    { name: 'workspace', mountPath: '/workspace' },
  );
  assert.equal(
    job.spec.template.spec.volumes.find((v) => v.name === 'workspace')?.persistentVolumeClaim?.claimName,
    'workspace',
  );
  const cm = await getJson<{ data: Record<string, string> }>(cluster, [
    'get',
    'configmap',
    status.jobName!,
    '-n',
    namespace,
  ]);
  assert.equal(cm.data.prompt, 'do ok-1');
  assert.equal(await jobCount(cluster, 'task-ok-1'), 1);

  // The controller's writes name their field manager (kubectl get --show-managed-fields), not "unknown".
  const managers = async (kind: string, name: string) => {
    const o = await getJson<{ metadata: { managedFields?: { manager: string; subresource?: string }[] } }>(cluster, [
      'get',
      kind,
      name,
      '-n',
      namespace,
      '--show-managed-fields',
    ]);
    return (o.metadata.managedFields ?? []).map((f) => `${f.manager}${f.subresource ? `/${f.subresource}` : ''}`);
  };
  assert.ok((await managers('taskrun', 'ok-1')).includes('platform-runbooks/status'));
  assert.ok((await managers('job', status.jobName!)).includes('platform-runbooks'));
  assert.ok((await managers('configmap', status.jobName!)).includes('platform-runbooks'));

  assert.equal((await metric('taskrun_jobs_created_total', { namespace })) - createdBefore, 1);
  assert.ok((await metric('taskrun_reconciliations_total', { namespace })) >= 2);
  assert.ok((await metric('taskrun_reconciliation_duration_seconds', { namespace })) >= 2);
  const metricsText = await registry.metrics();
  for (const name of [
    'taskrun_reconciliations_total',
    'taskrun_reconciliation_duration_seconds',
    'taskrun_jobs_created_total',
    'taskrun_jobs_failed_total',
    'taskrun_active_tasks',
  ]) {
    assert.match(metricsText, new RegExp(`^# TYPE ${name} `, 'm'));
  }
});

test('a Job whose image fails makes its TaskRun Failed, with the reason, and counts in taskrun_jobs_failed_total', async () => {
  const cluster = await testCluster();
  const failedBefore = await metric('taskrun_jobs_failed_total', { namespace });
  await applyObjects(cluster, taskRun('bad-1', { agentImage: 'example/claude-agent:fail' }));
  const tr = await waitPhase(cluster, 'bad-1', 'Failed');
  assert.match(tr.status?.message ?? '', /BackoffLimitExceeded|failed/i);
  assert.deepEqual(tr.status?.conditions?.find((c) => c.type === 'Complete')?.status, 'False');
  assert.equal((await metric('taskrun_jobs_failed_total', { namespace })) - failedBefore, 1);
  const tracked = await controller.query(taskRunQuery, 'bad-1');
  assert.equal(tracked?.phase, 'Failed');
  assert.equal(tracked?.transitions.at(-1)?.phase, 'Failed');
});

test('a changed controller ConfigMap applies to the next Jobs', async () => {
  const cluster = await testCluster();
  await applyObjects(cluster, controllerConfig('example/claude-agent:2.0.0'));
  await applyObjects(cluster, taskRun('ok-2'));
  const tr = await waitPhase(cluster, 'ok-2', 'Succeeded');
  assert.equal(await jobImage(cluster, tr), 'example/claude-agent:2.0.0');
});

test('a mistyped controller ConfigMap (maxConcurrentTasks: "20") is reported, naming the field; the last good config stays in use until it is fixed', async () => {
  const cluster = await testCluster();
  const good = controllerConfig('example/claude-agent:2.0.0');
  const bad = {
    ...good,
    data: {
      'config.yaml': controllerConfig('example/claude-agent:3.0.0').data['config.yaml'].replace(
        'maxConcurrentTasks: 50',
        'maxConcurrentTasks: "20"',
      ),
    },
  };
  await applyObjects(cluster, bad);
  const reported = await eventually('the config error', async () => {
    const s = await controller.query(taskRunControllerQuery);
    return s.config?.error ? s.config : undefined;
  });
  assert.match(reported.error!, /maxConcurrentTasks: .*expected number/);
  assert.equal(reported.maxConcurrentTasks, 50, 'the last good value, not the default 10');
  await applyObjects(cluster, taskRun('ok-3'));
  const tr = await waitPhase(cluster, 'ok-3', 'Succeeded');
  assert.equal(await jobImage(cluster, tr), 'example/claude-agent:2.0.0', 'the last good config');
  await applyObjects(cluster, good);
  await eventually('the error to clear', async () =>
    (await controller.query(taskRunControllerQuery)).config?.error === undefined ? true : undefined,
  );
});

test('a deleted TaskRun ends its tracking; owner references remove its Job and ConfigMap', async () => {
  const cluster = await testCluster();
  await applyObjects(cluster, taskRun('gone-1'));
  const tr = await waitPhase(cluster, 'gone-1', 'Succeeded');
  assert.ok(await controller.query(taskRunQuery, 'gone-1'));
  await cluster.kubectl(['delete', 'taskrun', 'gone-1', '-n', namespace]);
  await eventually('tracking to end', async () =>
    (await controller.query(taskRunQuery, 'gone-1')) === null ? true : undefined,
  );
  await eventually('the Job and ConfigMap to be garbage-collected', async () => {
    const left = await cluster.kubectl([
      'get',
      'job,configmap',
      '-n',
      namespace,
      '--field-selector',
      `metadata.name=${tr.status!.jobName}`,
      '-o',
      'name',
    ]);
    return left.trim() === '' ? true : undefined;
  });
  const summary = await controller.query(taskRunControllerQuery);
  assert.equal(summary.namespace, namespace);
  assert.ok(!('gone-1' in summary.byPhase));
});

test('a Job deleted while the controller was down: the restarted controller fails its TaskRun (outcome not seen), never a second Job', async () => {
  const cluster = await testCluster();
  const temporal = await testTemporal();
  // ":broken": the agent pod never finishes, so the TaskRun stays Running.
  await applyObjects(cluster, taskRun('lost-1', { agentImage: 'example/claude-agent:broken' }));
  const running = await waitPhase(cluster, 'lost-1', 'Running');
  const jobName = running.status!.jobName!;

  await controller.terminate('simulated controller outage');
  await cluster.kubectl(['delete', 'job', jobName, '-n', namespace, '--wait=true']);
  // Started afresh (no carried state), as client/taskrun-controller.ts does: with its search attributes.
  const workflowId = controller.workflowId;
  await ensureTaskRunController(temporal.client, { taskQueue, input: { namespace, resyncSeconds: 30 }, workflowId });
  controller = temporal.client.workflow.getHandle(workflowId);

  const failed = await waitPhase(cluster, 'lost-1', 'Failed');
  assert.match(
    failed.status?.message ?? '',
    new RegExp(`agent Job ${jobName} no longer exists and its outcome was not seen`),
  );
  assert.equal(failed.status?.jobName, jobName);
  const complete = failed.status?.conditions?.find((c) => c.type === 'Complete');
  assert.deepEqual([complete?.status, complete?.reason], ['False', 'JobLost']);
  assert.equal((await controller.query(taskRunQuery, 'lost-1'))?.phase, 'Failed');
  const summary = await controller.query(taskRunControllerQuery);
  assert.deepEqual(summary.finished, { Succeeded: 0, Failed: 1 });
  assert.equal(summary.tracked, 0, 'the TaskRuns that finished before the outage are not followed again');
  assert.equal(await controller.query(taskRunQuery, 'ok-1'), null);
  await sleep(2_000);
  assert.equal(await jobCount(cluster, 'task-lost-1'), 0, 'no second Job');
});

test('search attributes: ensured idempotently, upserted by the controller, found by a list query', async () => {
  const cluster = await testCluster();
  const temporal = await testTemporal();
  // The dev server registers them at launch: ensuring again adds nothing.
  assert.deepEqual(await ensureSearchAttributes(temporal.client), {
    added: [],
    present: Object.keys(TASKRUN_SEARCH_ATTRIBUTES),
  });
  await assert.rejects(
    ensureSearchAttributes(temporal.client, { TaskRunsActive: 'Keyword' }),
    /TaskRunsActive exists in Temporal namespace default with type Int, not Keyword/,
  );
  await assert.rejects(
    ensureSearchAttributes(new Client({ connection: temporal.client.connection, namespace: 'no-such-namespace' })),
    /cannot list the search attributes of Temporal namespace no-such-namespace: .*temporal operator search-attribute create/,
  );

  const listed = (query: string) =>
    eventually(query, async () => {
      for await (const wf of temporal.client.workflow.list({
        query: `WorkflowId = '${controller.workflowId}' AND TaskRunNamespace = '${namespace}' AND ${query}`,
      }))
        return wf;
      return undefined;
    });
  await applyObjects(cluster, taskRun('sa-1', { agentImage: 'example/claude-agent:broken' }));
  await waitPhase(cluster, 'sa-1', 'Running');
  // The TaskRun's status can show Running before the controller's state does (the status write
  // completes, then a workflow task counts it), so wait for the attributes of the Running TaskRun.
  const found = await listed('TaskRunsActive = 1 AND TaskRunsPending = 0');
  assert.equal(found.status.name, 'RUNNING');
  const d = await controller.describe();
  assert.equal(d.typedSearchAttributes.get(defineSearchAttributeKey('TaskRunsActive', SearchAttributeType.INT)), 1);
  assert.equal(d.typedSearchAttributes.get(defineSearchAttributeKey('TaskRunsPending', SearchAttributeType.INT)), 0);
  await cluster.kubectl(['delete', 'taskrun', 'sa-1', '-n', namespace]);
  await listed('TaskRunsActive = 0');
});

test('cleanupTaskRuns deletes old Succeeded and Failed TaskRuns by their ages, never those labelled keep', async () => {
  const cluster = await testCluster();
  const temporal = await testTemporal();
  // A namespace of its own, without a controller: statuses are set by hand.
  const ns = uniqueNamespace('cleanup');
  await cluster.kubectl(['create', 'namespace', ns]);
  cluster.defer(() => cluster.kubectl(['delete', 'namespace', ns, '--wait=false']));
  const day = 24 * 3600 * 1000;
  const ago = (ms: number) => new Date(Date.now() - ms).toISOString().replace(/\.\d+Z$/, 'Z');
  const runs: [string, string, number, boolean][] = [
    ['ok-old', 'Succeeded', 8 * day, false],
    ['ok-recent', 'Succeeded', 2 * day, false],
    ['ok-old-keep', 'Succeeded', 30 * day, true],
    ['bad-old', 'Failed', 4 * day, false],
    ['bad-recent', 'Failed', 1 * day, false],
    ['running', 'Running', 30 * day, false],
  ];
  await applyObjects(
    cluster,
    ...runs.map(([name, , , keep]) => taskRun(name, {}, ns, keep ? { 'taskrun.orchestrator.io/keep': 'true' } : {})),
  );
  for (const [name, phase, age] of runs) {
    await cluster.kubectl([
      'patch',
      'taskrun',
      name,
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { phase, ...(phase === 'Running' ? {} : { completionTime: ago(age) }) } }),
    ]);
  }
  const run = (input: Record<string, unknown>) =>
    temporal.client.workflow.execute('cleanupTaskRuns', {
      taskQueue,
      workflowId: uniqueTaskQueue('cleanup'),
      args: [{ namespace: ns, ...input }],
    }) as Promise<CleanupReport>;

  const dry = await run({ dryRun: true });
  assert.deepEqual(
    [dry.deleted, dry.deletedByPhase, dry.samples.deleted.sort()],
    [2, { Succeeded: 1, Failed: 1 }, ['bad-old', 'ok-old']],
  );
  assert.equal((await cluster.kubectl(['get', 'taskruns', '-n', ns, '-o', 'name'])).trim().split('\n').length, 6);

  const report = await run({});
  assert.deepEqual(
    [report.deleted, report.alreadyGone, report.scanned, report.samples.deleted.sort()],
    [2, 0, 6, ['bad-old', 'ok-old']],
  );
  assert.deepEqual(
    [report.kept, report.samples.kept],
    [1, [{ name: 'ok-old-keep', reason: 'labelled taskrun.orchestrator.io/keep' }]],
  );
  const left = async () =>
    (await cluster.kubectl(['get', 'taskruns', '-n', ns, '-o', 'jsonpath={.items[*].metadata.name}']))
      .trim()
      .split(' ')
      .sort();
  assert.deepEqual(await left(), ['bad-recent', 'ok-old-keep', 'ok-recent', 'running']);

  // Ages are configurable (seconds): with 0, every finished TaskRun but the kept one goes.
  const all = await run({ succeededMaxAgeSeconds: 0, failedMaxAgeSeconds: 0 });
  assert.deepEqual([all.deleted, all.samples.deleted.sort()], [2, ['bad-recent', 'ok-recent']]);
  assert.deepEqual(await left(), ['ok-old-keep', 'running']);
});
