// Pods of a namespace, their readiness, restarts and requested resources.
import type { V1Pod } from '@kubernetes/client-node';
import type { PodHealth, PodsReport } from '../../contract/types/platform-health.ts';
import type { KubeClients } from './client.ts';
import { namespaceExists } from './exists.ts';
import { kubeCall } from '../errors.ts';
import { listAllPages, PAGE_SIZE } from './paginate.ts';
import { parseQuantity } from './quantity.ts';

export function podHealth(pod: V1Pod): PodHealth {
  const statuses = pod.status?.containerStatuses ?? [];
  const phase = pod.status?.phase ?? 'Unknown';
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const waiting = statuses.find((s) => s.state?.waiting?.reason)?.state?.waiting?.reason;
  const terminated = statuses.find((s) => s.state?.terminated?.reason)?.state?.terminated?.reason;
  const reason = ready || phase === 'Succeeded' ? undefined : (waiting ?? terminated ?? pod.status?.reason);
  return {
    name: pod.metadata?.name ?? '',
    phase,
    ready,
    restarts: statuses.reduce((sum, s) => sum + (s.restartCount ?? 0), 0),
    ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}),
    ...(reason ? { reason } : {}),
  };
}

function requested(pods: V1Pod[]): PodsReport['requested'] {
  let cpu = 0;
  let memory = 0;
  for (const pod of pods) {
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
    for (const container of pod.spec?.containers ?? []) {
      const requests = container.resources?.requests ?? {};
      cpu += requests.cpu ? parseQuantity(requests.cpu) || 0 : 0;
      memory += requests.memory ? parseQuantity(requests.memory) || 0 : 0;
    }
  }
  return { cpuMillis: Math.round(cpu * 1000), memoryBytes: Math.round(memory) };
}

export async function readPods(kube: KubeClients, namespace: string): Promise<PodsReport> {
  const exists = await namespaceExists(kube, namespace);
  const pods = exists
    ? await kubeCall(`list pods in ${namespace}`, () =>
        listAllPages((cont) => kube.core.listNamespacedPod({ namespace, limit: PAGE_SIZE, _continue: cont })),
      )
    : [];
  const health = pods.map(podHealth).sort((a, b) => a.name.localeCompare(b.name));
  return {
    namespace,
    namespaceExists: exists,
    total: health.length,
    ready: health.filter((p) => p.ready).length,
    pods: health,
    requested: requested(pods),
  };
}
