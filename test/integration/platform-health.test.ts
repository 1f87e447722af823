// platformHealth end to end: real dev server, real worker with real activities, real local cluster.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createActivities } from '../../activities/index.ts';
import type { PlatformHealthReport } from '../../contract/messages.ts';
import { createRunbookWorker } from '../../worker/worker.ts';
import { testActivityDeps, useTestCluster, uniqueNamespace } from '../helpers/cluster.ts';
import { eventually } from '../helpers/eventually.ts';
import { startProbeServer } from '../helpers/http-probe-server.ts';
import { uniqueTaskQueue, useTestTemporal, workflowBundle } from '../helpers/temporal.ts';
import { applyObjects } from '../helpers/apply-objects.ts';
import { setTaskRunStatus } from '../helpers/taskrun-objects.ts';
import { addNodes, kwokNode } from '../helpers/kwok-nodes.ts';

const crdFile = fileURLToPath(new URL('../../charts/orchestrator/crds/taskruns.orchestrator.io.yaml', import.meta.url));
const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const namespace = uniqueNamespace('health');
let cordoned = '';
let probe: Awaited<ReturnType<typeof startProbeServer>>;

const pod = (name: string, image: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace },
  spec: { containers: [{ name: 'app', image, resources: { requests: { cpu: '100m', memory: '64Mi' } } }] },
});
const taskRun = (name: string) => ({
  apiVersion: 'orchestrator.io/v1',
  kind: 'TaskRun',
  metadata: { name, namespace },
  spec: { service: 'auth-service', taskId: name, prompt: 'do it' },
});

before(async () => {
  const cluster = await testCluster();
  const { kubectl, defer } = cluster;
  probe = await startProbeServer();
  defer(() => probe.close());
  await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=platform-runbooks', '-f', crdFile]); // the runbooks' own manager: earlier files applied it so
  await kubectl(['wait', '--for=condition=Established', 'crd/taskruns.orchestrator.io', '--timeout=60s']);
  await kubectl(['create', 'namespace', namespace]);
  defer(() => kubectl(['delete', 'namespace', namespace, '--wait=false']));
  const objects = [
    pod('healthy-app', 'example/app:1'),
    pod('broken-app', 'example/app:broken'),
    taskRun('t-ok'),
    taskRun('t-bad'),
    taskRun('t-new'),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'orchestrator', namespace },
      spec: { selector: { app: 'orchestrator' }, ports: [{ port: 80, targetPort: 8080 }] },
    },
  ];
  await applyObjects(cluster, ...objects);
  for (const [name, phase] of [
    ['t-ok', 'Succeeded'],
    ['t-bad', 'Failed'],
  ]) {
    await setTaskRunStatus(cluster, namespace, name!, { phase });
  }
  // A cordoned node of its own: the cluster's first node may be another file's, uncordoned or deleted meanwhile.
  cordoned = `${namespace}-cordoned`;
  await addNodes(cluster, [kwokNode(cordoned, { key: 'platform-health', value: namespace }, { unschedulable: true })]);
  await kubectl(['wait', '--for=condition=Ready', 'pod/healthy-app', '-n', namespace, '--timeout=60s']);
  await eventually(
    'broken-app to crash-loop',
    async () =>
      (
        await kubectl([
          'get',
          'pod',
          'broken-app',
          '-n',
          namespace,
          '-o',
          'jsonpath={.status.containerStatuses[0].state.waiting.reason}',
        ])
      ).trim() || undefined,
  );
});

async function runHealth(input: Record<string, unknown>): Promise<PlatformHealthReport> {
  const temporal = await testTemporal();
  const taskQueue = uniqueTaskQueue('health-it');
  const worker = await createRunbookWorker({
    connection: temporal.nativeConnection,
    namespace: temporal.namespace,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities(testActivityDeps(await testCluster())),
  });
  return worker.runUntil(
    temporal.client.workflow.execute('platformHealth', {
      taskQueue,
      workflowId: uniqueTaskQueue('platformHealth'),
      args: [input],
    }),
  );
}

test('reports nodes, cordon state, pod readiness, TaskRun phases and a healthy /health', async () => {
  const report = await runHealth({ namespace, healthUrl: probe.url('/health') });

  assert.equal(report.cluster.version, 'v1.37.2');
  // Other test files add and cordon kwok nodes of their own on the shared cluster: ours are among them.
  assert.ok(report.nodes.total >= 3, `${report.nodes.total} nodes`);
  assert.ok(report.nodes.ready >= 3, `${report.nodes.ready} Ready`);
  assert.ok(report.nodes.cordoned.includes(cordoned), report.nodes.cordoned.join(', '));

  assert.equal(report.pods.namespaceExists, true);
  assert.equal(report.pods.total, 2);
  const byName = Object.fromEntries(report.pods.pods.map((p) => [p.name, p]));
  assert.equal(byName['healthy-app']?.ready, true);
  assert.equal(byName['broken-app']?.ready, false);
  assert.equal(byName['broken-app']?.reason, 'CrashLoopBackOff');
  assert.deepEqual(report.pods.requested, { cpuMillis: 200, memoryBytes: 128 * 2 ** 20 });

  assert.deepEqual(report.taskRuns, { crdInstalled: true, total: 3, byPhase: { Succeeded: 1, Failed: 1, Pending: 1 } });
  assert.equal(report.service.ok, true);
  assert.equal(report.service.statusCode, 200);
  assert.deepEqual(report.service.body, { status: 'healthy', version: 'test' });

  assert.equal(report.healthy, false);
  const notAboutNodes = (lines: string[]) => lines.filter((line) => !line.startsWith('nodes '));
  assert.deepEqual(notAboutNodes(report.problems), [`pods not ready in ${namespace}: broken-app (CrashLoopBackOff)`]);
  assert.ok(
    report.warnings.some((w) => w.startsWith('nodes cordoned: ') && w.includes(cordoned)),
    report.warnings.join('; '),
  );
  assert.ok(report.warnings.includes('1 TaskRuns failed'));
});

test('an unhealthy /health (500) is a problem', async () => {
  const report = await runHealth({ namespace, healthUrl: probe.url('/broken') });
  assert.equal(report.service.ok, false);
  assert.equal(report.service.statusCode, 500);
  assert.ok(
    report.problems.some((p) => p.startsWith('orchestrator health check failed')),
    report.problems.join('; '),
  );
});

test('without a URL the service proxy is tried, and the report says plainly why it cannot answer here', async () => {
  const report = await runHealth({ namespace });
  assert.equal(report.service.checked, true);
  assert.equal(report.service.via, 'service-proxy');
  assert.equal(report.service.ok, false);
  assert.match(report.service.detail, /on the local kwok cluster pods are simulated and never answer; pass healthUrl/);
});

test('a namespace that does not exist is reported, not an error', async () => {
  const report = await runHealth({ namespace: uniqueNamespace('absent') });
  assert.equal(report.pods.namespaceExists, false);
  assert.equal(report.service.checked, false);
  assert.ok(report.problems.some((p) => /does not exist: the platform is not deployed/.test(p)));
});
