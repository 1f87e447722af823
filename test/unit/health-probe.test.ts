// The local stand-in for the orchestrator's /health (activities/health-probe.ts), against a fake API
// server: which pods it reads, what it answers, and where the worker allows it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException, type V1Pod, type V1Service } from '@kubernetes/client-node';
import {
  imageVersion,
  localStandinRefusal,
  probeLocalStandin,
  UNHEALTHY_IMAGE_TAG,
} from '../../activities/health-probe.ts';
import type { KubeClients } from '../../activities/kube/client.ts';
import { platformHealthActivities } from '../../activities/platform-health.ts';
import type { ActivityDeps } from '../../activities/deps.ts';
import { parseWorkerConfig } from '../../worker/config.ts';

const service: V1Service = {
  metadata: {
    name: 'orchestrator',
    namespace: 'orchestrator',
    labels: { 'app.kubernetes.io/instance': 'orchestrator' },
  },
  spec: {
    selector: { 'app.kubernetes.io/name': 'orchestrator', 'app.kubernetes.io/instance': 'orchestrator' },
    ports: [{ port: 80, targetPort: 'http' }],
  },
} as V1Service;

function pod(name: string, image: string, created: string, over: { ready?: boolean; deleting?: boolean } = {}): V1Pod {
  return {
    metadata: {
      name,
      creationTimestamp: new Date(created),
      ...(over.deleting ? { deletionTimestamp: new Date(created) } : {}),
    },
    spec: {
      containers: [
        { name: 'sidecar', image: 'example/sidecar:9' },
        { name: 'orchestrator', image, ports: [{ name: 'http', containerPort: 8080 }] },
      ],
    },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: over.ready === false ? 'False' : 'True' }] },
  } as V1Pod;
}

function fakeKube(services: V1Service[], pods: V1Pod[], calls: string[] = []): KubeClients {
  const notFound = new ApiException(404, 'not found', '{"kind":"Status","code":404}', {});
  return {
    core: {
      readNamespacedService: async ({ name }: { name: string }) => {
        calls.push(`read svc ${name}`);
        const found = services.find((s) => s.metadata?.name === name);
        if (!found) throw notFound;
        return found;
      },
      listNamespacedService: async ({ labelSelector }: { labelSelector: string }) => {
        calls.push(`list svc ${labelSelector}`);
        const [key, value] = labelSelector.split('=');
        return { items: services.filter((s) => s.metadata?.labels?.[key!] === value) };
      },
      listNamespacedPod: async ({ labelSelector }: { labelSelector: string }) => {
        calls.push(`list pods ${labelSelector}`);
        return { items: pods };
      },
      connectGetNamespacedServiceProxyWithPath: async () => {
        calls.push('service proxy');
        throw new Error('no endpoints');
      },
    },
  } as unknown as KubeClients;
}

test("the stand-in answers /health as the operations guide documents it, with the Ready pods' image tag", async () => {
  const calls: string[] = [];
  const report = await probeLocalStandin(
    fakeKube([service], [pod('orchestrator-a', 'ghcr.io/example/orchestrator:1.0.0', '2026-11-28T10:00:00Z')], calls),
    'orchestrator',
    'orchestrator',
    '/health',
  );
  assert.equal(report.checked, true);
  assert.equal(report.via, 'local-standin');
  assert.equal(report.ok, true);
  assert.equal(report.statusCode, 200);
  const body = report.body as { status: string; version: string; timestamp: string };
  assert.equal(body.status, 'healthy');
  assert.equal(body.version, '1.0.0');
  assert.ok(!Number.isNaN(Date.parse(body.timestamp)), body.timestamp);
  assert.deepEqual(Object.keys(body), ['status', 'version', 'timestamp']);
  assert.match(
    report.detail,
    /local stand-in for service proxy orchestrator\/orchestrator\/health answered 200 \(pod orchestrator-a, image ghcr.io\/example\/orchestrator:1.0.0\)/,
  );
  assert.deepEqual(calls, [
    'read svc orchestrator',
    'list pods app.kubernetes.io/name=orchestrator,app.kubernetes.io/instance=orchestrator',
  ]);
});

test('mid-rollout it answers for the newest Ready pod; unready and terminating pods are not endpoints', async () => {
  const pods = [
    pod('old', 'ghcr.io/example/orchestrator:1.0.0', '2026-11-28T10:00:00Z'),
    pod('new', 'ghcr.io/example/orchestrator:1.1.0', '2026-11-28T11:00:00Z'),
    pod('newer-unready', 'ghcr.io/example/orchestrator:1.2.0', '2026-11-28T12:00:00Z', { ready: false }),
    pod('newest-terminating', 'ghcr.io/example/orchestrator:1.3.0', '2026-11-28T13:00:00Z', { deleting: true }),
  ];
  const report = await probeLocalStandin(fakeKube([service], pods), 'orchestrator', 'orchestrator', '/health');
  assert.equal((report.body as { version: string }).version, '1.1.0');
});

test(`the image tag :${UNHEALTHY_IMAGE_TAG} answers 503 {"status":"unhealthy"}`, async () => {
  const report = await probeLocalStandin(
    fakeKube([service], [pod('p', 'ghcr.io/example/orchestrator:unhealthy', '2026-11-28T10:00:00Z')]),
    'orchestrator',
    'orchestrator',
    '/health',
  );
  assert.equal(report.ok, false);
  assert.equal(report.statusCode, 503);
  assert.equal((report.body as { status: string }).status, 'unhealthy');
  assert.match(report.detail, /answered 503: unhealthy/);
});

test('no Ready pod is a 503 (no endpoints), no Service is nothing to probe, another path a 404', async () => {
  const none = await probeLocalStandin(
    fakeKube([service], [pod('p', 'x:broken', '2026-11-28T10:00:00Z', { ready: false })]),
    'orchestrator',
    'orchestrator',
    '/health',
  );
  assert.deepEqual([none.checked, none.ok, none.statusCode], [true, false, 503]);
  assert.match(none.detail, /no Ready pod behind the Service \(1 pods\)/);
  const absent = await probeLocalStandin(fakeKube([], []), 'orchestrator', 'orchestrator', '/health');
  assert.deepEqual([absent.checked, absent.ok], [false, false]);
  const other = await probeLocalStandin(
    fakeKube([service], [pod('p', 'x:1', '2026-11-28T10:00:00Z')]),
    'orchestrator',
    'orchestrator',
    '/metrics',
  );
  assert.equal(other.statusCode, 404);
});

test('a release not named like the chart: its Service (<release>-orchestrator) is found by the release label', async () => {
  const renamed = {
    ...service,
    metadata: { ...service.metadata, name: 'prod-orchestrator', labels: { 'app.kubernetes.io/instance': 'prod' } },
  } as V1Service;
  const calls: string[] = [];
  const report = await probeLocalStandin(
    fakeKube([renamed], [pod('p', 'x:2.0.0', '2026-11-28T10:00:00Z')], calls),
    'orchestrator',
    'prod',
    '/health',
    'prod',
  );
  assert.equal(report.ok, true);
  assert.equal(report.target, 'local stand-in for service proxy orchestrator/prod-orchestrator/health');
  assert.deepEqual(calls.slice(0, 2), ['read svc prod', 'list svc app.kubernetes.io/instance=prod']);
});

test('imageVersion: tag, digest, or latest', () => {
  assert.equal(imageVersion('ghcr.io/example/orchestrator:1.1.0'), '1.1.0');
  assert.equal(imageVersion('localhost:5000/orchestrator'), 'latest');
  assert.equal(imageVersion('localhost:5000/orchestrator:unhealthy'), 'unhealthy');
  assert.equal(imageVersion('orchestrator@sha256:abc'), 'sha256:abc');
});

test("probeOrchestrator: a healthUrl wins, then the worker's stand-in option, else the service proxy (the default for a real cluster)", async () => {
  const kube = fakeKube([service], [pod('p', 'x:3.0.0', '2026-11-28T10:00:00Z')]);
  const deps = (localHealthStandin?: boolean) =>
    ({ kube, ...(localHealthStandin === undefined ? {} : { localHealthStandin }) }) as unknown as ActivityDeps;
  const req = { namespace: 'orchestrator', serviceName: 'orchestrator', healthPath: '/health' };
  assert.equal((await platformHealthActivities(deps(true)).probeOrchestrator(req)).via, 'local-standin');
  assert.equal((await platformHealthActivities(deps()).probeOrchestrator(req)).via, 'service-proxy');
  assert.equal((await platformHealthActivities(deps(false)).probeOrchestrator(req)).via, 'service-proxy');
  assert.equal(
    (await platformHealthActivities(deps(true)).probeOrchestrator({ ...req, healthUrl: 'http://127.0.0.1:9/health' }))
      .via,
    'url',
  );
});

test('the stand-in is allowed only for a local kwok cluster', () => {
  assert.equal(localStandinRefusal('https://127.0.0.1:32766', 'kwok-platform-runbooks'), undefined);
  assert.equal(localStandinRefusal('https://localhost:6443', 'kwok-test-1'), undefined);
  assert.match(
    localStandinRefusal('https://k8s.prod.example.com', 'kwok-x') ?? '',
    /only for the project's own local kwok cluster/,
  );
  assert.match(localStandinRefusal('https://127.0.0.1:6443', 'prod') ?? '', /context prod/);
  assert.ok(localStandinRefusal(undefined, ''));
});

test('worker config: --local-health-standin or RUNBOOK_LOCAL_HEALTH=1 turns the stand-in on; off by default', () => {
  const on = (argv: string[], env: NodeJS.ProcessEnv) => {
    const c = parseWorkerConfig(['--kubeconfig', '/k', ...argv], env);
    assert.ok(c !== 'help');
    return c.localHealthStandin;
  };
  assert.equal(on([], {}), false);
  assert.equal(on(['--local-health-standin'], {}), true);
  assert.equal(on([], { RUNBOOK_LOCAL_HEALTH: '1' }), true);
  assert.equal(on([], { RUNBOOK_LOCAL_HEALTH: '0' }), false);
});
