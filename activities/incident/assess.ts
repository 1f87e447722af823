// The blast radius of an incident (read-only): pods, Jobs and TaskRuns running in scope, the
// Secrets those pods mount or reference, their nodes, recent restarts, and the events that look
// like failures. Every list is capped (the report travels through workflow history).
import type { V1Pod } from '@kubernetes/client-node';
import type { BlastRadius } from '../../contract/types/incident.ts';
import type { KubeClients } from '../kube/client.ts';
import { kubeCall } from '../errors.ts';
import { readScopePods, type IncidentScope } from './collect.ts';

const CAP = 100;
const FAILURE_REASONS = /fail|error|backoff|kill|evict|unhealthy|oom|forbidden|denied|invalid/i;

export function secretsOf(pod: V1Pod): string[] {
  const names = new Set<string>();
  for (const v of pod.spec?.volumes ?? []) {
    if (v.secret?.secretName) names.add(v.secret.secretName);
    for (const s of v.projected?.sources ?? []) if (s.secret?.name) names.add(s.secret.name);
  }
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef?.name) names.add(e.valueFrom.secretKeyRef.name);
    for (const e of c.envFrom ?? []) if (e.secretRef?.name) names.add(e.secretRef.name);
  }
  for (const s of pod.spec?.imagePullSecrets ?? []) if (s.name) names.add(s.name);
  return [...names].sort();
}

export async function assessBlastRadius(kube: KubeClients, scope: IncidentScope): Promise<BlastRadius> {
  const { namespace } = scope;
  const truncated: string[] = [];
  const cap = <T>(what: string, list: T[]): T[] => {
    if (list.length > CAP) truncated.push(`${what}: ${list.length} (first ${CAP} listed)`);
    return list.slice(0, CAP);
  };
  const { pods, total } = await readScopePods(kube, scope);
  if (total > pods.length) truncated.push(`pods: ${total} (first ${pods.length} read)`);
  const [jobs, taskRuns, events] = await Promise.all([
    kubeCall(`list Jobs in ${namespace}`, () => kube.batch.listNamespacedJob({ namespace })),
    kube.custom
      .listNamespacedCustomObject({ group: 'orchestrator.io', version: 'v1', namespace, plural: 'taskruns' })
      .then((b) => (b as { items?: { metadata?: { name?: string }; status?: { phase?: string } }[] }).items ?? [])
      .catch(() => []), // no TaskRun CRD: nothing of that kind in scope
    kubeCall(`list events in ${namespace}`, () => kube.core.listNamespacedEvent({ namespace })),
  ]);
  const restarts = pods.flatMap((p) =>
    (p.status?.containerStatuses ?? [])
      .filter((c) => c.restartCount > 0)
      .map((c) => ({ pod: p.metadata?.name ?? '', container: c.name, restarts: c.restartCount })),
  );
  const failures = events.items
    .filter((e) => e.type === 'Warning' || FAILURE_REASONS.test(e.reason ?? ''))
    .map((e) => ({
      object: `${e.involvedObject.kind}/${e.involvedObject.name}`,
      reason: e.reason ?? '',
      message: (e.message ?? '').slice(0, 300),
      count: e.count ?? 1,
      ...(e.lastTimestamp ? { last: new Date(e.lastTimestamp).toISOString() } : {}),
    }));
  return {
    namespace,
    pods: cap(
      'pods',
      pods.map((p) => ({
        name: p.metadata?.name ?? '',
        ...(p.spec?.nodeName ? { node: p.spec.nodeName } : {}),
        ...(p.status?.phase ? { phase: p.status.phase } : {}),
        restarts: (p.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0),
        images: (p.spec?.containers ?? []).map((c) => c.image ?? ''),
      })),
    ),
    jobs: cap(
      'jobs',
      jobs.items
        .filter((j) => (j.status?.active ?? 0) > 0)
        .map((j) => ({ name: j.metadata?.name ?? '', active: j.status?.active ?? 0 })),
    ),
    taskRuns: cap(
      'taskRuns',
      taskRuns
        .filter((t) => t.status?.phase !== 'Succeeded' && t.status?.phase !== 'Failed')
        .map((t) => ({ name: t.metadata?.name ?? '', phase: t.status?.phase ?? 'Pending' })),
    ),
    secrets: cap('secrets', [...new Set(pods.flatMap(secretsOf))].sort()),
    nodes: [...new Set([...scope.nodes, ...pods.map((p) => p.spec?.nodeName).filter((n): n is string => !!n)])]
      .sort()
      .slice(0, CAP),
    restarts: cap('restarts', restarts),
    failureEvents: cap('failureEvents', failures),
    truncated,
  };
}
