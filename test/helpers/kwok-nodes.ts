// Nodes of a test's own on the local (kwok) cluster: tainted key=value, so that no other test's pods
// land there, and labelled with it when the test's own pods are to run there (onTaintedNodes).
import { applyObjects } from './apply-objects.ts';
import type { TestCluster } from './cluster.ts';

export interface NodeTaint {
  key: string;
  value: string;
}

/** A fake node that kwok runs (it makes the node and its pods Ready), tainted NoSchedule. */
export function kwokNode(name: string, taint: NodeTaint, opts: { labelled?: boolean; unschedulable?: boolean } = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { 'kubernetes.io/hostname': name, ...(opts.labelled ? { [taint.key]: taint.value } : {}), type: 'kwok' },
      annotations: { 'kwok.x-k8s.io/node': 'fake' },
    },
    spec: {
      ...(opts.unschedulable === undefined ? {} : { unschedulable: opts.unschedulable }),
      taints: [{ key: taint.key, value: taint.value, effect: 'NoSchedule' }],
    },
  };
}

/** The pod spec fields that put a pod on the labelled nodes of this taint (and tolerate kwok's own taint). */
export function onTaintedNodes(taint: NodeTaint) {
  return {
    nodeSelector: { [taint.key]: taint.value },
    tolerations: [
      { key: taint.key, operator: 'Equal', value: taint.value, effect: 'NoSchedule' },
      { key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' },
    ],
  };
}

/** Adds these nodes (deleted at the end) and waits until kwok has made them Ready. */
export async function addNodes(cluster: TestCluster, nodes: { metadata: { name: string } }[]): Promise<void> {
  const names = nodes.map((n) => n.metadata.name);
  await applyObjects(cluster, ...nodes);
  cluster.defer(() => cluster.kubectl(['delete', 'node', ...names, '--wait=false']));
  await cluster.kubectl(['wait', '--for=condition=Ready', ...names.map((n) => `node/${n}`), '--timeout=60s']);
}
