// Node readiness and cordon state (the guide's `kubectl get nodes` / `kubectl top nodes`).
import type { V1Node } from '@kubernetes/client-node';
import type { NodeHealth, NodesReport } from '../../contract/types/platform-health.ts';
import type { KubeClients } from './client.ts';
import { kubeCall } from '../errors.ts';
import { listAllPages, PAGE_SIZE } from './paginate.ts';

export function nodeHealth(node: V1Node): NodeHealth {
  const readyCondition = node.status?.conditions?.find((c) => c.type === 'Ready');
  const ready = readyCondition?.status === 'True';
  const allocatable = node.status?.allocatable ?? {};
  return {
    name: node.metadata?.name ?? '',
    ready,
    cordoned: node.spec?.unschedulable === true,
    ...(ready ? {} : { reason: readyCondition?.reason ?? readyCondition?.message ?? 'no Ready condition' }),
    allocatable: { cpu: allocatable.cpu ?? '0', memory: allocatable.memory ?? '0', pods: allocatable.pods ?? '0' },
  };
}

export async function readNodes(kube: KubeClients): Promise<NodesReport> {
  const nodes = await kubeCall('list nodes', () =>
    listAllPages((cont) => kube.core.listNode({ limit: PAGE_SIZE, _continue: cont })),
  );
  const health = nodes.map(nodeHealth).sort((a, b) => a.name.localeCompare(b.name));
  return {
    total: health.length,
    ready: health.filter((n) => n.ready).length,
    notReady: health.filter((n) => !n.ready).map((n) => n.name),
    cordoned: health.filter((n) => n.cordoned).map((n) => n.name),
    nodes: health,
  };
}
