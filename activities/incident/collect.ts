// The reads of incident evidence: pods in scope, their logs (current and previous container), the
// namespace's events, their nodes and owners, the service account's RBAC (bindings, roles, and
// SubjectAccessReviews of what it may do), Secret and ConfigMap metadata. Read-only; Secret values
// never leave this file (only key names), and neither does a Secret's last-applied annotation.
import { RbacAuthorizationV1Api, type V1ObjectMeta, type V1Pod } from '@kubernetes/client-node';
import type { KubeClients } from '../kube/client.ts';
import { kubeCall } from '../errors.ts';
import { heartbeat } from '../activity-context.ts';
import { serviceAccountMay } from '../kube/access-review.ts';

export interface IncidentScope {
  namespace: string;
  podSelector?: string;
  nodes: string[];
  serviceAccount: string;
}

/** Pods in scope at most (the rest are named as truncated): evidence must finish during an incident. */
export const MAX_PODS = 200;
const LOG_LIMIT_BYTES = 1024 * 1024;
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Metadata without managedFields (noise) and without the last-applied annotation (it may hold a Secret's data). */
export function cleanMeta(meta: V1ObjectMeta | undefined): V1ObjectMeta {
  const { managedFields: _m, ...rest } = meta ?? {};
  if (rest.annotations?.[LAST_APPLIED] !== undefined) {
    const { [LAST_APPLIED]: _a, ...annotations } = rest.annotations;
    rest.annotations = annotations;
  }
  return rest;
}

const clean = <T extends { metadata?: V1ObjectMeta }>(o: T): T => ({ ...o, metadata: cleanMeta(o.metadata) });

export async function readScopePods(
  kube: KubeClients,
  scope: IncidentScope,
): Promise<{ pods: V1Pod[]; total: number }> {
  const list = await kubeCall(`list pods in ${scope.namespace}`, () =>
    kube.core.listNamespacedPod({
      namespace: scope.namespace,
      ...(scope.podSelector ? { labelSelector: scope.podSelector } : {}),
    }),
  );
  const pods = list.items.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  return { pods: pods.slice(0, MAX_PODS).map(clean), total: pods.length };
}

export interface ImageRecord {
  pod: string;
  container: string;
  image: string;
  imageID: string;
}

export function imagesOf(pods: V1Pod[]): ImageRecord[] {
  return pods.flatMap((p) =>
    [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])].map((c) => ({
      pod: p.metadata?.name ?? '',
      container: c.name,
      image: c.image,
      imageID: c.imageID,
    })),
  );
}

export interface LogRecord {
  pod: string;
  container: string;
  previous: boolean;
  text?: string;
  error?: string;
}

/** Current and previous logs of every container (a missing previous container is recorded, not an error). */
export async function readLogs(kube: KubeClients, namespace: string, pods: V1Pod[]): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for (const pod of pods) {
    const name = pod.metadata?.name ?? '';
    for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
      for (const previous of [false, true]) {
        try {
          const text = await kube.core.readNamespacedPodLog({
            name,
            namespace,
            container: c.name,
            previous,
            limitBytes: LOG_LIMIT_BYTES,
          });
          out.push({ pod: name, container: c.name, previous, text: String(text ?? '') });
        } catch (err) {
          out.push({
            pod: name,
            container: c.name,
            previous,
            error: ((err as { body?: unknown }).body
              ? String((err as { body?: unknown }).body).slice(0, 500)
              : (err as Error).message
            ).slice(0, 500),
          });
        }
      }
    }
    heartbeat({ logs: name });
  }
  return out;
}

export async function readEvents(kube: KubeClients, namespace: string): Promise<unknown[]> {
  const list = await kubeCall(`list events in ${namespace}`, () => kube.core.listNamespacedEvent({ namespace }));
  return list.items.map(clean);
}

export async function readNodes(kube: KubeClients, names: string[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const name of [...new Set(names)].sort()) {
    try {
      out.push(clean(await kube.core.readNode({ name })));
    } catch (err) {
      out.push({ kind: 'Node', metadata: { name }, error: (err as Error).message.slice(0, 300) });
    }
  }
  return out;
}

/** The ReplicaSets, Deployments and Jobs that own the pods (one level up from a ReplicaSet too). */
export async function readOwners(kube: KubeClients, namespace: string, pods: V1Pod[]): Promise<unknown[]> {
  const seen = new Set<string>();
  const out: unknown[] = [];
  const visit = async (kind: string, name: string): Promise<void> => {
    const key = `${kind}/${name}`;
    if (seen.has(key)) return;
    seen.add(key);
    try {
      const obj =
        kind === 'ReplicaSet'
          ? await kube.apps.readNamespacedReplicaSet({ namespace, name })
          : kind === 'Deployment'
            ? await kube.apps.readNamespacedDeployment({ namespace, name })
            : kind === 'Job'
              ? await kube.batch.readNamespacedJob({ namespace, name })
              : kind === 'StatefulSet'
                ? await kube.apps.readNamespacedStatefulSet({ namespace, name })
                : kind === 'DaemonSet'
                  ? await kube.apps.readNamespacedDaemonSet({ namespace, name })
                  : undefined;
      if (!obj) return;
      out.push({ kind, ...clean(obj) });
      for (const o of obj.metadata?.ownerReferences ?? []) await visit(o.kind, o.name);
    } catch (err) {
      out.push({ kind, metadata: { name, namespace }, error: (err as Error).message.slice(0, 300) });
    }
  };
  for (const p of pods) for (const o of p.metadata?.ownerReferences ?? []) await visit(o.kind, o.name);
  return out;
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}
const namesSa = (subjects: Subject[] | undefined, ns: string, sa: string) =>
  (subjects ?? []).some(
    (s) =>
      (s.kind === 'ServiceAccount' && s.name === sa && s.namespace === ns) ||
      (s.kind === 'Group' && (s.name === 'system:serviceaccounts' || s.name === `system:serviceaccounts:${ns}`)) ||
      (s.kind === 'User' && s.name === `system:serviceaccount:${ns}:${sa}`),
  );

export interface SaBinding {
  kind: 'RoleBinding' | 'ClusterRoleBinding';
  namespace?: string;
  name: string;
  roleRef: { kind: string; name: string };
  /** One of Kubernetes' default bindings (label kubernetes.io/bootstrapping: rbac-defaults), e.g. to every service account. */
  builtIn?: boolean;
}
const builtIn = (meta: V1ObjectMeta | undefined) => meta?.labels?.['kubernetes.io/bootstrapping'] === 'rbac-defaults';

/** Every binding that names the service account (directly, or through its groups). */
export async function readSaBindings(
  kube: KubeClients,
  namespace: string,
  sa: string,
): Promise<{ bindings: SaBinding[]; objects: unknown[] }> {
  const rbac = kube.config.makeApiClient(RbacAuthorizationV1Api);
  const [crbs, rbs] = await Promise.all([
    kubeCall('list ClusterRoleBindings', () => rbac.listClusterRoleBinding()),
    kubeCall('list RoleBindings', () => rbac.listRoleBindingForAllNamespaces()),
  ]);
  const objects: unknown[] = [];
  const bindings: SaBinding[] = [];
  for (const b of crbs.items.filter((x) => namesSa(x.subjects, namespace, sa))) {
    bindings.push({
      kind: 'ClusterRoleBinding',
      name: b.metadata?.name ?? '',
      roleRef: { kind: b.roleRef.kind, name: b.roleRef.name },
      ...(builtIn(b.metadata) ? { builtIn: true } : {}),
    });
    objects.push({ kind: 'ClusterRoleBinding', ...clean(b) });
  }
  for (const b of rbs.items.filter((x) => namesSa(x.subjects, namespace, sa))) {
    bindings.push({
      kind: 'RoleBinding',
      namespace: b.metadata?.namespace ?? '',
      name: b.metadata?.name ?? '',
      roleRef: { kind: b.roleRef.kind, name: b.roleRef.name },
      ...(builtIn(b.metadata) ? { builtIn: true } : {}),
    });
    objects.push({ kind: 'RoleBinding', ...clean(b) });
  }
  for (const b of bindings) {
    try {
      const role =
        b.roleRef.kind === 'ClusterRole'
          ? await rbac.readClusterRole({ name: b.roleRef.name })
          : await rbac.readNamespacedRole({ namespace: b.namespace ?? namespace, name: b.roleRef.name });
      objects.push({ kind: b.roleRef.kind, ...clean(role) });
    } catch (err) {
      objects.push({
        kind: b.roleRef.kind,
        metadata: { name: b.roleRef.name },
        error: (err as Error).message.slice(0, 300),
      });
    }
  }
  return { bindings, objects };
}

/** What the guide's `kubectl auth can-i --list --as=system:serviceaccount:NS:SA` asks, as SubjectAccessReviews. */
export const ACCESS_CHECKS: { verb: string; group: string; resource: string; clusterWide?: boolean }[] = [
  { verb: 'get', group: '', resource: 'secrets' },
  { verb: 'list', group: '', resource: 'secrets' },
  { verb: 'create', group: '', resource: 'pods' },
  { verb: 'create', group: '', resource: 'pods/exec' },
  { verb: 'create', group: 'batch', resource: 'jobs' },
  { verb: 'delete', group: 'batch', resource: 'jobs' },
  { verb: 'update', group: 'orchestrator.io', resource: 'taskruns' },
  { verb: 'list', group: '', resource: 'configmaps' },
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'rolebindings' },
  { verb: 'list', group: '', resource: 'secrets', clusterWide: true },
  { verb: 'create', group: '', resource: 'pods', clusterWide: true },
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', clusterWide: true },
  { verb: '*', group: '*', resource: '*', clusterWide: true },
];

export async function reviewAccess(
  kube: KubeClients,
  namespace: string,
  sa: string,
): Promise<{ verb: string; resource: string; namespace: string; allowed: boolean }[]> {
  const allowed = await serviceAccountMay(kube, namespace, sa, ACCESS_CHECKS);
  return ACCESS_CHECKS.map((c, i) => {
    const resource = `${c.resource}${c.group && c.group !== '*' ? `.${c.group}` : ''}`;
    return {
      verb: c.verb,
      resource,
      namespace: c.clusterWide ? '*' : namespace,
      allowed: allowed[i]!,
    };
  });
}

/** Secrets: metadata and key names only. */
export async function readSecretMetadata(kube: KubeClients, namespace: string): Promise<unknown[]> {
  const list = await kubeCall(`list Secrets in ${namespace}`, () => kube.core.listNamespacedSecret({ namespace }));
  return list.items.map((s) => ({
    kind: 'Secret',
    type: s.type,
    metadata: cleanMeta(s.metadata),
    keys: Object.keys(s.data ?? {}).sort(),
  }));
}

export async function readConfigMapMetadata(kube: KubeClients, namespace: string): Promise<unknown[]> {
  const list = await kubeCall(`list ConfigMaps in ${namespace}`, () =>
    kube.core.listNamespacedConfigMap({ namespace }),
  );
  return list.items.map((c) => ({
    kind: 'ConfigMap',
    metadata: cleanMeta(c.metadata),
    keys: [...Object.keys(c.data ?? {}), ...Object.keys(c.binaryData ?? {})].sort(),
  }));
}
