// Containment and its compensations. Each action leaves a mark on the object it changed (the
// incident id and what it found), so a retried or re-run action records what was there before the
// incident, not what the first attempt left (a Deployment already at 0, a key already blank).
import { NetworkingV1Api, PatchStrategy, setHeaderOptions, type V1NetworkPolicy } from '@kubernetes/client-node';
import { INCIDENT_LABEL, incidentLabelValue, incidentPolicyName } from '../../contract/types/incident.ts';
import type { KubeClients } from '../kube/client.ts';
import { kubeCall } from '../errors.ts';
import { applyObjects } from '../kube/apply.ts';
import { readIfExists, unlessStatus } from '../kube/exists.ts';
import { fingerprint } from '../kube/secrets.ts';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
/** On the Deployment: `<incident id>=<replicas before>`. */
export const SCALED_ANNOTATION = 'platform-runbooks.io/incident-scaled';
/** On the Secret: JSON {incident, keys: {key: fingerprint}} of the values blanked. */
export const BLANKED_ANNOTATION = 'platform-runbooks.io/incident-blanked';

export async function scaleForIncident(
  kube: KubeClients,
  req: { namespace: string; deployment: string; incidentId: string },
): Promise<{ replicas: number; found: boolean }> {
  const { namespace, deployment: name } = req;
  const d = await readIfExists(`Deployment ${namespace}/${name}`, () =>
    kube.apps.readNamespacedDeployment({ namespace, name }),
  );
  if (!d) return { replicas: 0, found: false };
  const mark = d.metadata?.annotations?.[SCALED_ANNOTATION];
  const [markedBy, markedReplicas] = mark?.split('=') ?? [];
  const replicas =
    markedBy === req.incidentId && markedReplicas !== undefined ? Number(markedReplicas) : (d.spec?.replicas ?? 1);
  await kubeCall(`scale Deployment ${namespace}/${name} to 0`, () =>
    kube.apps.patchNamespacedDeployment(
      {
        namespace,
        name,
        body: {
          metadata: { annotations: { [SCALED_ANNOTATION]: `${req.incidentId}=${replicas}` } },
          spec: { replicas: 0 },
        },
      },
      mergePatch,
    ),
  );
  return { replicas, found: true };
}

export async function scaleBack(
  kube: KubeClients,
  req: { namespace: string; deployment: string; replicas: number },
): Promise<{ replicas: number }> {
  const { namespace, deployment: name } = req;
  await kubeCall(`scale Deployment ${namespace}/${name} to ${req.replicas}`, () =>
    kube.apps.patchNamespacedDeployment(
      {
        namespace,
        name,
        body: { metadata: { annotations: { [SCALED_ANNOTATION]: null } }, spec: { replicas: req.replicas } },
      },
      mergePatch,
    ),
  );
  return { replicas: req.replicas };
}

/** Blanks the keys (""), recording each value's fingerprint; values never leave this function. */
export async function blankSecretKeys(
  kube: KubeClients,
  req: { namespace: string; secret: string; keys: string[]; incidentId: string },
): Promise<{ key: string; fingerprint: string; present: boolean }[]> {
  const { namespace, secret: name } = req;
  const s = await readIfExists(`Secret ${namespace}/${name}`, () =>
    kube.core.readNamespacedSecret({ namespace, name }),
  );
  if (!s) return req.keys.map((key) => ({ key, fingerprint: '', present: false }));
  let marked: { incident?: string; keys?: Record<string, string> } = {};
  try {
    marked = JSON.parse(s.metadata?.annotations?.[BLANKED_ANNOTATION] ?? '{}') as typeof marked;
  } catch {
    /* an unreadable mark is not ours */
  }
  const before = marked.incident === req.incidentId ? (marked.keys ?? {}) : {};
  const keys = req.keys.map((key) => {
    const encoded = s.data?.[key];
    const present = encoded !== undefined;
    const fp = before[key] ?? (present ? fingerprint(Buffer.from(encoded, 'base64').toString('utf8')) : '');
    return { key, fingerprint: fp, present: present || before[key] !== undefined };
  });
  const present = keys.filter((k) => k.present);
  if (present.length) {
    await kubeCall(`blank keys of Secret ${namespace}/${name}`, () =>
      kube.core.patchNamespacedSecret(
        {
          namespace,
          name,
          body: {
            metadata: {
              annotations: {
                [BLANKED_ANNOTATION]: JSON.stringify({
                  incident: req.incidentId,
                  keys: Object.fromEntries(present.map((k) => [k.key, k.fingerprint])),
                }),
              },
            },
            data: Object.fromEntries(present.map((k) => [k.key, ''])),
          },
        },
        mergePatch,
      ),
    );
  }
  return keys;
}

export async function clearBlankedMark(kube: KubeClients, req: { namespace: string; secret: string }): Promise<void> {
  await unlessStatus(`unmark Secret ${req.namespace}/${req.secret}`, [404], () =>
    kube.core.patchNamespacedSecret(
      {
        namespace: req.namespace,
        name: req.secret,
        body: { metadata: { annotations: { [BLANKED_ANNOTATION]: null } } },
      },
      mergePatch,
    ),
  );
}

/** matchLabels of an equality-only selector ("a=b,c=d"); undefined for anything else (then the whole namespace is isolated). */
export function equalitySelector(selector: string | undefined): Record<string, string> | undefined {
  if (!selector) return undefined;
  const parts = selector.split(',').map((p) => /^\s*([A-Za-z0-9_./-]+)\s*==?\s*([A-Za-z0-9_.-]*)\s*$/.exec(p));
  if (parts.some((m) => !m)) return undefined;
  return Object.fromEntries(parts.map((m) => [m![1]!, m![2]!]));
}

/** A default-deny NetworkPolicy (no ingress, no egress) for the pods in scope, labelled with the incident id. */
export async function applyDenyAll(
  kube: KubeClients,
  req: { namespace: string; incidentId: string; podSelector?: string },
): Promise<{ name: string }> {
  const name = incidentPolicyName(req.incidentId);
  const matchLabels = equalitySelector(req.podSelector);
  const policy: V1NetworkPolicy = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: req.namespace, labels: { [INCIDENT_LABEL]: incidentLabelValue(req.incidentId) } },
    spec: {
      podSelector: matchLabels ? { matchLabels } : {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: [],
    },
  };
  await applyObjects(kube, [policy]);
  return { name };
}

export async function deleteDenyAll(
  kube: KubeClients,
  req: { namespace: string; name: string },
): Promise<{ deleted: boolean }> {
  const net = kube.config.makeApiClient(NetworkingV1Api);
  const r = await unlessStatus(`delete NetworkPolicy ${req.namespace}/${req.name}`, [404], () =>
    net.deleteNamespacedNetworkPolicy({ namespace: req.namespace, name: req.name }),
  );
  return { deleted: r !== undefined };
}
