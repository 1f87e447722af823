// Integrity after recovery: the running images are the ones the Helm release declares (by digest
// where the release pins one), the service account's bindings are the chart's, and nothing in
// scope lacks a known owner (the release's workloads, or the TaskRun controller's agent Jobs).
import { parseAllDocuments } from 'yaml';
import type { IntegrityReport } from '../../contract/types/incident.ts';
import type { KubeClients } from '../kube/client.ts';
import type { HelmDeps } from '../helm/deps.ts';
import { runHelm } from '../helm/run.ts';
import { AGENT_SELECTOR } from '../kube/jobs.ts';
import { kubeCall } from '../errors.ts';
import { readSaBindings, type SaBinding } from './collect.ts';

interface ManifestObject {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: Record<string, unknown>;
  subjects?: { kind: string; name: string; namespace?: string }[];
  roleRef?: { kind: string; name: string };
}

export async function releaseManifest(helm: HelmDeps, release: string, namespace: string): Promise<ManifestObject[]> {
  const { stdout } = await runHelm(helm, ['get', 'manifest', release, '-n', namespace], {
    what: `read manifest of ${namespace}/${release}`,
  });
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as ManifestObject | null)
    .filter((o): o is ManifestObject => !!o && typeof o === 'object');
}

const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'];

function declaredImages(objects: ManifestObject[]): string[] {
  const images = new Set<string>();
  for (const o of objects.filter((x) => WORKLOADS.includes(x.kind ?? ''))) {
    const pod = (
      o.spec?.template as
        { spec?: { containers?: { image?: string }[]; initContainers?: { image?: string }[] } } | undefined
    )?.spec;
    for (const c of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])]) if (c.image) images.add(c.image);
  }
  return [...images].sort();
}

/** A running container matches a declared image: by digest when the declaration pins one, else by reference. */
export function imageMatches(declared: string, running: { image: string; imageID: string }): boolean {
  const at = declared.indexOf('@sha256:');
  if (at >= 0) return running.imageID.endsWith(declared.slice(at + 1)) || running.image === declared;
  const strip = (s: string) => s.replace(/^docker\.io\/(library\/)?/, '');
  return strip(running.image) === strip(declared);
}

const bindingKey = (b: { kind: string; namespace?: string; name: string }) =>
  `${b.kind} ${b.namespace ? `${b.namespace}/` : ''}${b.name}`;

export async function verifyIntegrity(
  kube: KubeClients,
  helm: HelmDeps,
  req: { namespace: string; release: string; serviceAccount: string },
): Promise<IntegrityReport> {
  const { namespace } = req;
  const manifest = await releaseManifest(helm, req.release, namespace);
  const declared = declaredImages(manifest);
  const pods = await kubeCall(`list pods in ${namespace}`, () => kube.core.listNamespacedPod({ namespace }));
  const agents = new Set(
    (
      await kubeCall(`list agent pods in ${namespace}`, () =>
        kube.core.listNamespacedPod({ namespace, labelSelector: AGENT_SELECTOR }),
      )
    ).items.map((p) => p.metadata?.name),
  );
  const workloads = new Set(
    manifest.filter((o) => WORKLOADS.includes(o.kind ?? '')).map((o) => o.metadata?.name ?? ''),
  );

  const images: IntegrityReport['images'] = [];
  const unknown: string[] = [];
  for (const pod of pods.items) {
    const name = pod.metadata?.name ?? '';
    if (agents.has(name) || pod.metadata?.deletionTimestamp) continue; // agent Jobs run the controller's configured image
    const owner = pod.metadata?.ownerReferences?.[0];
    const ownedByRelease = owner && [...workloads].some((w) => owner.name === w || owner.name.startsWith(`${w}-`));
    if (!ownedByRelease) {
      unknown.push(
        `Pod ${namespace}/${name}${owner ? ` (owner ${owner.kind} ${owner.name}, not the release's)` : ' (no owner)'}`,
      );
      continue;
    }
    for (const c of pod.status?.containerStatuses ?? []) {
      const ok = declared.some((d) => imageMatches(d, c));
      images.push({
        pod: name,
        container: c.name,
        running: c.imageID ? `${c.image} (${c.imageID})` : c.image,
        declared,
        ok,
      });
    }
  }

  // Kubernetes' own default bindings (to every service account) are not the chart's to grant.
  const actual = (await readSaBindings(kube, namespace, req.serviceAccount)).bindings.filter((b) => !b.builtIn);
  const chart: SaBinding[] = manifest
    .filter(
      (o) =>
        (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') &&
        (o.subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === req.serviceAccount),
    )
    .map((o) => ({
      kind: o.kind as SaBinding['kind'],
      ...(o.kind === 'RoleBinding' ? { namespace: o.metadata?.namespace ?? namespace } : {}),
      name: o.metadata?.name ?? '',
      roleRef: { kind: o.roleRef?.kind ?? '', name: o.roleRef?.name ?? '' },
    }));
  const chartKeys = new Set(chart.map(bindingKey));
  const actualKeys = new Set(actual.map(bindingKey));
  const extra = [...actualKeys].filter((k) => !chartKeys.has(k)).sort();
  const missing = [...chartKeys].filter((k) => !actualKeys.has(k)).sort();
  for (const e of extra) unknown.push(`${e} (binds ${req.serviceAccount}; not in the chart)`);
  const rbacOk = extra.length === 0 && missing.length === 0;
  return {
    ok: images.every((i) => i.ok) && rbacOk && unknown.length === 0,
    images,
    rbac: { ok: rbacOk, extra, missing },
    unknown,
  };
}
