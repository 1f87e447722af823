// The kwok nodes of the rolling-maintenance tests (integration and crash): three nodes of the test's
// own (labelled and tainted, so that no other test's pods land there), a namespace with a Deployment
// (4 replicas, emptyDir) and a DaemonSet on them, and the node "upgrade" (the kubelet version patched).
import { CORDONED_BY_ANNOTATION } from '../../activities/drain/index.ts';
import { uniqueNamespace, type TestCluster } from './cluster.ts';
import type { TestTemporal } from './temporal.ts';
import { applyObjects } from './apply-objects.ts';
import { addNodes, kwokNode, onTaintedNodes } from './kwok-nodes.ts';
import { deployment } from './workloads.ts';
import type { WorkflowHandle } from '@temporalio/client';
import { rollingMaintenanceStateQuery } from '../../contract/rolling-maintenance-messages.ts';
import { eventually } from './eventually.ts';

export const LABEL = 'platform-runbooks.io/rolling-test';
export const TARGET = 'v1.38.0';

/** Three tainted kwok nodes labelled LABEL=id, a namespace id with a Deployment (4 replicas) and a DaemonSet on them. */
export async function rollingFixture(cluster: TestCluster, id: string): Promise<string[]> {
  const { kubectl, defer } = cluster;
  const names = [1, 2, 3].map((i) => `${id}-${i}`);
  const taint = { key: LABEL, value: id };
  await kubectl(['create', 'namespace', id]);
  defer(() => kubectl(['delete', 'namespace', id, '--wait=false']));
  await addNodes(
    cluster,
    names.map((name) => kwokNode(name, taint, { labelled: true })),
  );
  const spec = {
    ...onTaintedNodes(taint),
    containers: [
      { name: 'app', image: 'example/orchestrator:1', volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] },
    ],
    volumes: [{ name: 'scratch', emptyDir: {} }],
  };
  await applyObjects(cluster, deployment('orchestrator', id, 4, spec), {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: id },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: {
        metadata: { labels: { app: 'agent' } },
        spec: { ...spec, volumes: [], containers: [{ name: 'agent', image: 'example/agent:1' }] },
      },
    },
  });
  await kubectl(['rollout', 'status', 'deployment/orchestrator', '-n', id, '--timeout=90s']);
  await kubectl(['rollout', 'status', 'daemonset/agent', '-n', id, '--timeout=90s']);
  return names;
}

export async function nodeFacts(cluster: TestCluster, name: string) {
  const n = JSON.parse(await cluster.kubectl(['get', 'node', name, '-o', 'json'])) as {
    metadata: { annotations?: Record<string, string> };
    spec: { unschedulable?: boolean };
    status: { nodeInfo: { kubeletVersion: string }; conditions: { type: string; status: string }[] };
  };
  return {
    cordoned: n.spec.unschedulable === true,
    mark: n.metadata.annotations?.[CORDONED_BY_ANNOTATION],
    ready: n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'),
    kubeletVersion: n.status.nodeInfo.kubeletVersion,
  };
}

/** The node "upgraded": its kubelet reports the target version (what a real node does after the upgrade). */
export const upgradeNode = (cluster: TestCluster, name: string) =>
  cluster.kubectl([
    'patch',
    'node',
    name,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status: { nodeInfo: { kubeletVersion: TARGET } } }),
  ]);

export const rollingInput = (id: string) => ({
  selector: `${LABEL}=${id}`,
  upgraded: { kubeletVersion: TARGET, nodeDone: true, timeoutSeconds: 180 },
  health: { namespace: id, timeoutSeconds: 90 },
});

/** The rolling tests' start: the test Temporal server and cluster, and the fixture under a namespace id of the prefix. */
export async function rollingSetup(
  testTemporal: () => Promise<TestTemporal>,
  testCluster: () => Promise<TestCluster>,
  prefix: string,
) {
  const temporal = await testTemporal();
  const cluster = await testCluster();
  const id = uniqueNamespace(prefix);
  return { temporal, cluster, id, names: await rollingFixture(cluster, id) };
}

/** Waits until the node is due for its upgrade: the run has drained it and waits. */
export const upgradeDue = (handle: WorkflowHandle, node: string) =>
  eventually(
    `${node} waiting for its upgrade`,
    async () =>
      (await handle.query(rollingMaintenanceStateQuery)).nodes.find((n) => n.node === node)?.phase ===
      'waiting-for-upgrade',
    120_000,
    250,
  );
