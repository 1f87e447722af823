// Secret access in recent events (the guide's `kubectl get events -n orchestrator | grep -i secret`):
// events about a Secret, or whose reason or message names one. Events are not an audit log (who read
// a Secret is only in the API server's audit log): they show mounts that failed, Secrets that went
// missing, and controllers that touched them. Messages are cut short and carry no Secret values.
import type { CoreV1Event } from '@kubernetes/client-node';
import { capWhere, type AuditFinding, type SecretEventsAuditResult } from '../../contract/types/security-audit.ts';
import type { KubeClients } from '../kube/client.ts';
import { kubeCall } from '../errors.ts';
import { namespaceExists } from '../kube/exists.ts';

const eventTime = (e: CoreV1Event) =>
  new Date(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp ?? 0).getTime();

export const mentionsSecret = (e: CoreV1Event) =>
  e.involvedObject?.kind === 'Secret' || /secret/i.test(`${e.reason ?? ''} ${e.message ?? ''}`);

export async function auditSecretEvents(
  kube: KubeClients,
  req: { namespaces: string[]; windowMinutes: number; now?: number },
): Promise<SecretEventsAuditResult> {
  const since = (req.now ?? Date.now()) - req.windowMinutes * 60_000;
  const present: string[] = [];
  const groups = new Map<string, { warning: boolean; reason: string; places: string[]; count: number }>();
  let events = 0;
  for (const ns of [...new Set(req.namespaces)]) {
    if (!(await namespaceExists(kube, ns))) continue;
    present.push(ns);
    const list = await kubeCall(`list events in ${ns}`, () =>
      kube.core.listNamespacedEvent({ namespace: ns, limit: 1000 }),
    );
    for (const e of list.items.filter((x) => mentionsSecret(x) && eventTime(x) >= since)) {
      events++;
      const warning = e.type === 'Warning';
      const key = `${warning}\u0000${e.reason ?? ''}`;
      const g = groups.get(key) ?? { warning, reason: e.reason ?? '(no reason)', places: [], count: 0 };
      g.count += e.count ?? 1;
      g.places.push(
        `${e.involvedObject?.kind ?? '?'} ${ns}/${e.involvedObject?.name ?? '?'}: ${(e.message ?? '').slice(0, 160)}`,
      );
      groups.set(key, g);
    }
  }
  const findings: AuditFinding[] = [...groups.values()].map((g) => ({
    severity: g.warning ? 'medium' : 'low',
    check: g.warning ? 'events.secret-warning' : 'events.secret',
    what: `${g.count} ${g.warning ? 'Warning' : 'Normal'} event(s) ${g.reason} about Secrets in the last ${req.windowMinutes} min`,
    ...capWhere(g.places),
    why: g.warning
      ? 'a Secret a workload needs is missing, unreadable or was changed: a revoked or tampered credential, or a broken rotation'
      : 'Secret activity worth a glance: who created or changed it should be known',
    fix: g.warning
      ? 'check the Secret exists with the expected keys (rotateSecret restores a key from its reference); the API server audit log says who changed it'
      : 'nothing if expected; the API server audit log says who did it',
  }));
  return { namespaces: present, events, findings };
}
