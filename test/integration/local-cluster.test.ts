// The local kwok cluster really behaves as the runbooks' tests expect: nodes Ready, Deployments
// get ready replicas, Jobs complete, and the simulated failures of kwok-stages.yaml happen.
// Needs the tools (npm run tools -- kwok etcd kubernetes): without them it FAILS, it never skips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLocalCluster, kubectl, type LocalCluster } from '../../scripts/stack/local-cluster.ts';
import { freePort } from '../../scripts/stack/ports.ts';
import { toolPath } from '../../scripts/stack/tools.ts';
import { eventually } from '../helpers/eventually.ts';

const deployment = (name: string, image: string, replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image }] } },
  },
});

const job = (name: string, image: string) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name },
  spec: {
    backoffLimit: 0, // fail on the first failed pod instead of retrying with back-off
    template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image }] } },
  },
});

type Pod = {
  status: {
    phase: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { state: Record<string, { exitCode?: number; reason?: string }> }[];
  };
};

async function podsOf(kubeconfig: string, selector: string): Promise<Pod[]> {
  return (JSON.parse(await kubectl(kubeconfig, ['get', 'pods', '-l', selector, '-o', 'json'])) as { items: Pod[] })
    .items;
}

/** mtime of ~/.kube/config, or 'absent': the cluster must never touch it. */
function userKubeconfigStamp(): string {
  try {
    return String(statSync(join(homedir(), '.kube', 'config')).mtimeMs);
  } catch {
    return 'absent';
  }
}

void test('local kwok cluster: nodes, deployments, jobs and simulated failures', { timeout: 240_000 }, async (t) => {
  for (const tool of [
    'kwokctl',
    'kwok',
    'etcd',
    'kube-apiserver',
    'kube-controller-manager',
    'kube-scheduler',
    'kubectl',
  ]) {
    toolPath(tool); // throws "tool 'x' is not installed: run npm run tools -- ..." when missing
  }
  const kubeStamp = userKubeconfigStamp();
  const dataDir = mkdtempSync(join(tmpdir(), 'local-cluster-test-'));
  const apiserverPort = await freePort();
  const made: { cluster?: LocalCluster } = {};
  t.after(async () => {
    await made.cluster?.delete(); // before removing its dir, or its processes would be orphaned
    rmSync(dataDir, { recursive: true, force: true });
  });

  const started = Date.now();
  const cluster = (made.cluster = await createLocalCluster({ name: 'lc-test', dataDir, nodes: 3, apiserverPort }));
  t.diagnostic(`cluster created and Ready in ${Date.now() - started} ms`);
  assert.equal(cluster.action, 'created');
  assert.equal(cluster.server, `https://127.0.0.1:${apiserverPort}`);
  const kc = cluster.kubeconfigPath;

  const nodes = JSON.parse(await kubectl(kc, ['get', 'nodes', '-o', 'json'])) as {
    items: { status: { conditions: { type: string; status: string }[] } }[];
  };
  assert.equal(nodes.items.length, 3);
  for (const n of nodes.items) assert.ok(n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'));

  // Calling it again reuses the running cluster.
  assert.equal((await createLocalCluster({ name: 'lc-test', dataDir, nodes: 3 })).action, 'reused');

  const manifests = [
    deployment('ok', 'x:1', 2),
    deployment('broken', 'x:broken', 1),
    job('job-ok', 'x:1'),
    job('job-fail', 'x:fail'),
  ];
  await kubectl(kc, ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }));
  const applied = Date.now();

  await Promise.all([
    kubectl(kc, ['wait', 'deployment/ok', '--for=jsonpath={.status.readyReplicas}=2', '--timeout=60s']),
    kubectl(kc, ['wait', 'job/job-ok', '--for=condition=Complete', '--timeout=60s']),
    kubectl(kc, ['wait', 'job/job-fail', '--for=condition=Failed', '--timeout=60s']),
  ]);
  const [okPod] = await podsOf(kc, 'job-name=job-ok');
  assert.equal(okPod?.status.phase, 'Succeeded');
  assert.equal(okPod?.status.containerStatuses?.[0]?.state.terminated?.exitCode, 0);
  const [failPod] = await podsOf(kc, 'job-name=job-fail');
  assert.equal(failPod?.status.phase, 'Failed');
  assert.equal(failPod?.status.containerStatuses?.[0]?.state.terminated?.exitCode, 1);

  // The broken Deployment: its pod crash-loops, and it still has no ready replica 15 s later.
  const brokenPod = await eventually('the broken pod to crash-loop', async () =>
    (await podsOf(kc, 'app=broken')).find(
      (p) => p.status.containerStatuses?.[0]?.state.waiting?.reason === 'CrashLoopBackOff',
    ),
  );
  assert.equal(brokenPod.status.phase, 'Running');
  assert.ok(brokenPod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'False'));
  await sleep(Math.max(0, 15_000 - (Date.now() - applied)));
  const broken = JSON.parse(await kubectl(kc, ['get', 'deployment', 'broken', '-o', 'json'])) as {
    status: { readyReplicas?: number };
  };
  assert.equal(broken.status.readyReplicas ?? 0, 0);

  // Stopped, then asked for again (npm start run a second time): started, with its state.
  await cluster.stop();
  const again = await createLocalCluster({ name: 'lc-test', dataDir });
  assert.equal(again.action, 'started');
  assert.equal(again.server, cluster.server);
  await kubectl(kc, ['wait', 'deployment/ok', '--for=jsonpath={.status.readyReplicas}=2', '--timeout=30s']);
  assert.equal((await podsOf(kc, 'job-name=job-ok'))[0]?.status.phase, 'Succeeded');

  assert.equal(userKubeconfigStamp(), kubeStamp, '~/.kube/config must not be touched');
});
