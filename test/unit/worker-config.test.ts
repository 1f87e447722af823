import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runsInPod, writeInClusterKubeconfig } from '../../activities/kube/client.ts';
import { parseWorkerConfig } from '../../worker/config.ts';
import { assertSupportedNode } from '../../worker/node-version.ts';

test('the worker refuses to start without a named cluster', () => {
  assert.throws(() => parseWorkerConfig([], {}), /no cluster named: pass --kubeconfig/);
});

test('flags win over environment, environment over defaults', () => {
  const config = parseWorkerConfig(['--kubeconfig', '/k', '--task-queue', 'q'], {
    RUNBOOK_TASK_QUEUE: 'env-q',
    TEMPORAL_ADDRESS: 'h:1',
  });
  assert.ok(config !== 'help');
  assert.equal(config.kubeconfigPath, '/k');
  assert.equal(config.taskQueue, 'q');
  assert.equal(config.temporalAddress, 'h:1');
  assert.equal(config.httpPort, 9464);
});

test('bad flags are clear errors', () => {
  assert.throws(
    () => parseWorkerConfig(['--kubeconfig', '/k', '--http-port', 'x'], {}),
    /--http-port: x is not a port/,
  );
  assert.throws(() => parseWorkerConfig(['--kubeconfig', '/k', '--log-level', 'loud'], {}), /--log-level: loud/);
  assert.equal(parseWorkerConfig(['--help'], {}), 'help');
});

test('old Node is refused with the reason', () => {
  assert.throws(() => assertSupportedNode('20.20.2'), /needs Node >= 22 \(found 20.20.2\)/);
  assert.doesNotThrow(() => assertSupportedNode('24.21.0'));
});

test('secret sources: the allowlist comes from flags or environment, with a safe default', () => {
  const byDefault = parseWorkerConfig(['--kubeconfig', '/k'], {});
  assert.ok(byDefault !== 'help');
  assert.deepEqual(byDefault.secretSources, {
    envAllow: ['ANTHROPIC_API_KEY', 'GITHUB_TOKEN', 'RUNBOOK_SECRET_*'],
    secretNamespaces: [],
  });
  const fromEnv = parseWorkerConfig(['--kubeconfig', '/k', '--secret-namespaces', 'vault, shared'], {
    RUNBOOK_SECRET_ENV_ALLOW: 'A_KEY,APP_*',
  });
  assert.ok(fromEnv !== 'help');
  assert.deepEqual(fromEnv.secretSources, { envAllow: ['A_KEY', 'APP_*'], secretNamespaces: ['vault', 'shared'] });
});

test('in a pod, no kubeconfig means the in-cluster config; outside a pod one must be named', () => {
  const podEnv = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
  const inPod = parseWorkerConfig([], podEnv, () => true);
  assert.ok(inPod !== 'help');
  assert.equal(inPod.inCluster, true);
  assert.equal(inPod.kubeconfigPath, undefined);
  // A named kubeconfig wins, in a pod too.
  const named = parseWorkerConfig(['--kubeconfig', '/k'], podEnv, () => true);
  assert.ok(named !== 'help');
  assert.equal(named.inCluster, false);
  assert.equal(named.kubeconfigPath, '/k');
  // Not in a pod: the rule stays.
  assert.throws(() => parseWorkerConfig([], podEnv, () => false), /no cluster named/);
  // A context belongs to a kubeconfig.
  assert.throws(
    () => parseWorkerConfig(['--context', 'prod'], podEnv, () => true),
    /--context names a context of a kubeconfig/,
  );
});

test('runsInPod needs both the service host variable and the mounted token', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sa-'));
  assert.equal(runsInPod({ KUBERNETES_SERVICE_HOST: '10.96.0.1' }, undefined, dir), false);
  writeFileSync(join(dir, 'token'), 't');
  assert.equal(runsInPod({ KUBERNETES_SERVICE_HOST: '10.96.0.1' }, undefined, dir), true);
  assert.equal(runsInPod({}, undefined, dir), false);
  // The default detector, used by parseWorkerConfig: this test machine is no pod.
  assert.throws(
    () => parseWorkerConfig([], { KUBERNETES_SERVICE_HOST: '10.96.0.1' }, (env) => runsInPod(env, () => false)),
    /no cluster named/,
  );
});

test('the in-cluster kubeconfig for helm names the token and CA by file and holds no secret', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-'));
  const path = writeInClusterKubeconfig(
    dir,
    { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' },
    '/sa',
  );
  const kc = JSON.parse(readFileSync(path, 'utf8')) as {
    clusters: { cluster: Record<string, string> }[];
    users: { user: Record<string, string> }[];
  };
  assert.equal(kc.clusters[0]!.cluster.server, 'https://[fd00::1]:6443');
  assert.equal(kc.clusters[0]!.cluster['certificate-authority'], '/sa/ca.crt');
  assert.deepEqual(kc.users[0]!.user, { tokenFile: '/sa/token' });
});

test('Temporal TLS and API key: from the Temporal CLI variables; the key never from a flag', () => {
  const plain = parseWorkerConfig(['--kubeconfig', '/k'], {});
  assert.ok(plain !== 'help');
  assert.equal(plain.temporalTls, undefined);
  const mtls = parseWorkerConfig(['--kubeconfig', '/k'], {
    TEMPORAL_TLS_CLIENT_CERT_PATH: '/c/tls.crt',
    TEMPORAL_TLS_CLIENT_KEY_PATH: '/c/tls.key',
    TEMPORAL_TLS_SERVER_NAME: 'ns.tmprl.cloud',
  });
  assert.ok(mtls !== 'help');
  assert.deepEqual(mtls.temporalTls, {
    clientCertPath: '/c/tls.crt',
    clientKeyPath: '/c/tls.key',
    serverName: 'ns.tmprl.cloud',
  });
  const apiKey = parseWorkerConfig(['--kubeconfig', '/k'], { TEMPORAL_API_KEY: 'k' });
  assert.ok(apiKey !== 'help');
  assert.deepEqual(apiKey.temporalTls, {});
  assert.equal(apiKey.temporalApiKey, 'k');
  assert.throws(() => parseWorkerConfig(['--kubeconfig', '/k', '--api-key', 'k'], {}), /Unknown option '--api-key'/);
  assert.throws(() => parseWorkerConfig(['--kubeconfig', '/k', '--tls-cert-path', '/c'], {}), /go together/);
  const host = parseWorkerConfig(['--kubeconfig', '/k'], { RUNBOOK_HTTP_HOST: '0.0.0.0' });
  assert.ok(host !== 'help');
  assert.equal(host.httpHost, '0.0.0.0');
});

test('/health says the worker runs; /ready waits until it polls its task queue', async () => {
  const { startHttpServer } = await import('../../worker/http.ts');
  const { Registry } = await import('prom-client');
  let state = 'RUNNING';
  let polling = false;
  const { server, port } = await startHttpServer(0, '127.0.0.1', new Registry(), {
    workerState: () => state,
    polling: () => polling,
  });
  try {
    const status = async (path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).status;
    assert.equal(await status('/health'), 200);
    assert.equal(await status('/ready'), 503);
    polling = true;
    assert.equal(await status('/ready'), 200);
    state = 'STOPPING';
    assert.equal(await status('/health'), 503);
    assert.equal(await status('/ready'), 503);
  } finally {
    server.close();
  }
});

test('sizing: defaults, then environment, then flags; bad values are clear errors', () => {
  const byDefault = parseWorkerConfig(['--kubeconfig', '/k'], {});
  assert.ok(byDefault !== 'help');
  assert.deepEqual(byDefault.sizing, { maxCachedWorkflows: 250, workflowThreads: 1, maxConcurrentActivities: 100 });
  const configured = parseWorkerConfig(['--kubeconfig', '/k', '--max-cached-workflows', '40'], {
    RUNBOOK_MAX_CACHED_WORKFLOWS: '500',
    RUNBOOK_WORKFLOW_THREADS: '2',
    RUNBOOK_MAX_CONCURRENT_ACTIVITIES: '20',
  });
  assert.ok(configured !== 'help');
  assert.deepEqual(configured.sizing, { maxCachedWorkflows: 40, workflowThreads: 2, maxConcurrentActivities: 20 });
  assert.throws(
    () => parseWorkerConfig(['--kubeconfig', '/k'], { RUNBOOK_MAX_CACHED_WORKFLOWS: '1' }),
    /--max-cached-workflows: "1" is not a whole number from 2 to 100000/,
  );
  assert.throws(
    () => parseWorkerConfig(['--kubeconfig', '/k', '--workflow-threads', '1.5'], {}),
    /--workflow-threads: "1.5" is not a whole number from 1 to 32/,
  );
  assert.throws(
    () => parseWorkerConfig(['--kubeconfig', '/k', '--max-concurrent-activities', 'lots'], {}),
    /--max-concurrent-activities: "lots" is not a whole number/,
  );
});
