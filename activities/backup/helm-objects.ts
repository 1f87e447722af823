// The objects of a restored Helm release: the release records (sh.helm.release.v1.* Secrets) bring back
// `helm history`, but not the Deployment, Service... of the chart. Those are in the deployed revision's
// manifest; they are applied server-side with Helm's own field manager ("helm", as Helm 4 applies), so a
// later `helm upgrade` owns the same fields and continues the revisions.
import { gunzipSync } from 'node:zlib';
import { PatchStrategy, type KubernetesObject, type V1APIResourceList, type V1Secret } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { parseAllDocuments } from 'yaml';
import { type HelmObjectsPlan, type HelmObjectsResult } from '../../contract/types/backup.ts';
import { BACKUP_INVALID } from '../../contract/failures.ts';
import { KUBE_NOT_FOUND } from '../../contract/failures.ts';
import { cancellationSignal, heartbeat } from '../activity-context.ts';
import { isStatus, kubeCall, toKubeFailure } from '../errors.ts';
import type { KubeClients } from '../kube/client.ts';
import { FIELD_MANAGER } from '../kube/apply.ts';

/** Helm's field manager for server-side apply (Helm 4). */
export const HELM_FIELD_MANAGER = 'helm';
/** Ownership metadata Helm adds to every object it creates (not part of the stored manifest). */
export const HELM_MANAGED_BY = { label: 'app.kubernetes.io/managed-by', value: 'Helm' } as const;
export const HELM_RELEASE_NAME_ANNOTATION = 'meta.helm.sh/release-name';
export const HELM_RELEASE_NAMESPACE_ANNOTATION = 'meta.helm.sh/release-namespace';

type Obj = KubernetesObject & Record<string, unknown>;

/** A release record (a sh.helm.release.v1.* Secret), as far as decoding it reads. */
export type ReleaseRecord = Pick<V1Secret, 'metadata' | 'data'>;

export interface ReleaseRevision {
  name: string;
  revision: number;
  status: string;
  namespace: string;
  manifest: string;
}

/** Decodes a release record Secret: data.release is base64 (the Secret's) of base64(gzip(JSON)). */
export function decodeReleaseRecord(
  secret: ReleaseRecord,
  what = secret.metadata?.name ?? 'release record',
): ReleaseRevision {
  const payload = secret.data?.release;
  if (!payload) throw invalid(`${what}: the release record has no data.release`);
  try {
    let raw = Buffer.from(Buffer.from(payload, 'base64').toString('utf8'), 'base64');
    if (raw[0] === 0x1f && raw[1] === 0x8b) raw = gunzipSync(raw);
    const rel = JSON.parse(raw.toString('utf8')) as {
      name?: string;
      version?: number;
      namespace?: string;
      manifest?: string;
      info?: { status?: string };
    };
    return {
      name: rel.name ?? '',
      revision: rel.version ?? 0,
      status: rel.info?.status ?? '',
      namespace: rel.namespace ?? '',
      manifest: rel.manifest ?? '',
    };
  } catch (err) {
    throw invalid(`${what}: the release record does not decode (${(err as Error).message})`);
  }
}

/** The user-supplied values of a release record (its config; none stored: {}). */
export function releaseConfig(secret: ReleaseRecord): Record<string, unknown> {
  const what = secret.metadata?.name ?? 'release record';
  try {
    let raw = Buffer.from(Buffer.from(secret.data?.release ?? '', 'base64').toString('utf8'), 'base64');
    if (raw[0] === 0x1f && raw[1] === 0x8b) raw = gunzipSync(raw);
    const config = (JSON.parse(raw.toString('utf8')) as { config?: Record<string, unknown> | null }).config;
    return config && typeof config === 'object' ? config : {};
  } catch (err) {
    throw invalid(`${what}: the release record does not decode (${(err as Error).message})`);
  }
}

/** Per release name, its deployed revision (the newest, should there be several). */
export function deployedRevisions(records: ReleaseRecord[]): ReleaseRevision[] {
  const byName = new Map<string, ReleaseRevision>();
  for (const record of records) {
    const rev = decodeReleaseRecord(record);
    if (rev.status !== 'deployed') continue;
    const seen = byName.get(rev.name);
    if (!seen || seen.revision < rev.revision) byName.set(rev.name, rev);
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The objects of a manifest (multi-document YAML; List kinds flattened), without CRDs (restored separately). */
export function manifestObjects(manifest: string): Obj[] {
  const objects: Obj[] = [];
  for (const doc of parseAllDocuments(manifest)) {
    if (doc.errors.length) throw invalid(`the release manifest does not parse: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as unknown;
    if (!value || typeof value !== 'object') continue;
    const obj = value as Obj;
    const items = obj.kind?.endsWith('List') && Array.isArray(obj.items) ? (obj.items as Obj[]) : [obj];
    for (const item of items) {
      if (!item.kind || !item.apiVersion || !item.metadata?.name) continue;
      if (item.kind === 'CustomResourceDefinition') continue;
      objects.push(item);
    }
  }
  return objects;
}

/**
 * The object as Helm would write it into `namespace`: namespaced objects go there (remap), with Helm's
 * ownership metadata; a RoleBinding's subjects in the source namespace follow it.
 */
export function prepareObject(
  obj: Obj,
  opts: { release: string; sourceNamespace: string; targetNamespace: string; namespaced: boolean },
): Obj {
  const metadata = obj.metadata ?? {};
  const out: Obj = {
    ...obj,
    metadata: {
      ...metadata,
      ...(opts.namespaced ? { namespace: opts.targetNamespace } : {}),
      labels: { ...metadata.labels, [HELM_MANAGED_BY.label]: HELM_MANAGED_BY.value },
      annotations: {
        ...metadata.annotations,
        [HELM_RELEASE_NAME_ANNOTATION]: opts.release,
        [HELM_RELEASE_NAMESPACE_ANNOTATION]: opts.targetNamespace,
      },
    },
  };
  if (!opts.namespaced) delete out.metadata!.namespace;
  if (opts.sourceNamespace !== opts.targetNamespace && Array.isArray(obj.subjects)) {
    out.subjects = (obj.subjects as { namespace?: string }[]).map((s) =>
      s.namespace === opts.sourceNamespace ? { ...s, namespace: opts.targetNamespace } : s,
    );
  }
  return out;
}

/** Namespaced or cluster-scoped, from the API server's discovery (cached per apiVersion). */
export class ScopeResolver {
  readonly #kube: KubeClients;
  readonly #cache = new Map<string, Promise<V1APIResourceList>>();

  constructor(kube: KubeClients) {
    this.#kube = kube;
  }

  async namespaced(apiVersion: string, kind: string): Promise<boolean> {
    let list = this.#cache.get(apiVersion);
    if (!list) {
      const [group, version] = apiVersion.includes('/')
        ? (apiVersion.split('/') as [string, string])
        : ['', apiVersion];
      list = kubeCall(`discover ${apiVersion}`, () =>
        group ? this.#kube.custom.getAPIResources({ group, version }) : this.#kube.core.getAPIResources(),
      );
      this.#cache.set(apiVersion, list);
      list.catch(() => this.#cache.delete(apiVersion));
    }
    let resources: V1APIResourceList;
    try {
      resources = await list;
    } catch (err) {
      if (err instanceof ApplicationFailure && err.type === KUBE_NOT_FOUND) throw noApi(apiVersion, kind);
      throw err;
    }
    const resource = resources.resources.find((r) => r.kind === kind && !r.name.includes('/'));
    if (!resource) throw noApi(apiVersion, kind);
    return resource.namespaced;
  }
}

const noApi = (apiVersion: string, kind: string) =>
  ApplicationFailure.create({
    type: KUBE_NOT_FOUND,
    nonRetryable: true,
    message: `the cluster serves no ${kind} in ${apiVersion} (the chart's object cannot be restored)`,
  });

export interface PreparedObject {
  release: string;
  obj: Obj;
  namespaced: boolean;
}

/** Every object to apply, prepared for the target namespace. */
export async function releaseObjects(
  kube: KubeClients,
  records: ReleaseRecord[],
  sourceNamespace: string,
  targetNamespace: string,
): Promise<{ releases: HelmObjectsPlan['releases']; objects: PreparedObject[] }> {
  const scopes = new ScopeResolver(kube);
  const releases: HelmObjectsPlan['releases'] = [];
  const objects: PreparedObject[] = [];
  for (const rev of deployedRevisions(records)) {
    const list = manifestObjects(rev.manifest);
    releases.push({ name: rev.name, revision: rev.revision, objects: list.length });
    for (const o of list) {
      const namespaced = await scopes.namespaced(o.apiVersion!, o.kind!);
      objects.push({
        release: rev.name,
        namespaced,
        obj: prepareObject(o, { release: rev.name, sourceNamespace, targetNamespace, namespaced }),
      });
    }
  }
  return { releases, objects };
}

const describe = (o: Obj) => `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;

async function readLive(kube: KubeClients, obj: Obj): Promise<KubernetesObject | undefined> {
  try {
    return await kube.objects.read({
      apiVersion: obj.apiVersion!,
      kind: obj.kind!,
      metadata: {
        name: obj.metadata!.name!,
        ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}),
      },
    });
  } catch (err) {
    if (isStatus(err, 404)) return undefined;
    throw toKubeFailure(err, `read ${describe(obj)}`);
  }
}

export async function objectExists(kube: KubeClients, obj: Obj): Promise<boolean> {
  return (await readLive(kube, obj)) !== undefined;
}

type ManagedFieldsEntry = NonNullable<NonNullable<KubernetesObject['metadata']>['managedFields']>[number];

/**
 * The managedFields with which Helm owns what this project's restore wrote: a release object that is
 * also a backed-up ConfigMap or Secret is created by that kind's step (field manager platform-runbooks),
 * with the backed-up values. Left so, a later `helm upgrade` (server-side apply as "helm") would
 * conflict on every field it changes. Those entries become Helm's Apply entries; values are untouched.
 * Undefined when Helm already owns fields of the object or nothing of ours is there.
 */
export function adoptedManagedFields(entries: ManagedFieldsEntry[] | undefined): ManagedFieldsEntry[] | undefined {
  if (!entries?.length || entries.some((e) => e.manager === HELM_FIELD_MANAGER)) return undefined;
  if (!entries.some((e) => e.manager === FIELD_MANAGER && !e.subresource)) return undefined;
  return entries.map((e) =>
    e.manager === FIELD_MANAGER && !e.subresource ? { ...e, manager: HELM_FIELD_MANAGER, operation: 'Apply' } : e,
  );
}

export async function planHelmObjects(
  kube: KubeClients,
  records: ReleaseRecord[],
  sourceNamespace: string,
  targetNamespace: string,
): Promise<HelmObjectsPlan> {
  const { releases, objects } = await releaseObjects(kube, records, sourceNamespace, targetNamespace);
  let existing = 0;
  for (const { obj } of objects) if (await objectExists(kube, obj)) existing++;
  return { releases, total: objects.length, existing };
}

/**
 * Applies the objects: absent ones are created (server-side apply, manager "helm"); existing namespaced
 * ones are skipped or updated as `existing` says; existing cluster-scoped ones are always left alone.
 */
export async function applyHelmObjects(
  kube: KubeClients,
  records: ReleaseRecord[],
  sourceNamespace: string,
  targetNamespace: string,
  existing: 'skip' | 'update',
): Promise<HelmObjectsResult> {
  const { releases, objects } = await releaseObjects(kube, records, sourceNamespace, targetNamespace);
  const result: HelmObjectsResult = { releases, created: 0, updated: 0, skipped: 0, adopted: 0 };
  const signal = cancellationSignal();
  for (const { obj, namespaced } of objects) {
    signal?.throwIfAborted();
    const live = await readLive(kube, obj);
    const exists = live !== undefined;
    const adopted = namespaced ? adoptedManagedFields(live?.metadata?.managedFields) : undefined;
    if (adopted) {
      // Restored by the ConfigMap/Secret step just before (with the backed-up values): hand its fields to Helm.
      await kubeCall(`hand ${describe(obj)} to Helm`, () =>
        kube.objects.patch(
          {
            apiVersion: obj.apiVersion!,
            kind: obj.kind!,
            metadata: {
              name: obj.metadata!.name!,
              namespace: obj.metadata!.namespace!,
              resourceVersion: live!.metadata!.resourceVersion!,
              managedFields: adopted,
            },
          },
          undefined,
          undefined,
          HELM_FIELD_MANAGER,
          undefined,
          PatchStrategy.MergePatch,
        ),
      );
      result.adopted++;
    }
    if (exists && (existing === 'skip' || !namespaced || adopted)) {
      result.skipped++;
      continue;
    }
    await kubeCall(`apply ${describe(obj)}`, () =>
      kube.objects.patch(obj, undefined, undefined, HELM_FIELD_MANAGER, true, PatchStrategy.ServerSideApply),
    );
    result[exists ? 'updated' : 'created']++;
    heartbeat({ applied: describe(obj) });
  }
  return result;
}

/** How many of the release objects exist in the target. */
export async function countHelmObjects(
  kube: KubeClients,
  records: ReleaseRecord[],
  sourceNamespace: string,
  targetNamespace: string,
): Promise<{ expected: number; found: number }> {
  const plan = await planHelmObjects(kube, records, sourceNamespace, targetNamespace);
  return { expected: plan.total, found: plan.existing };
}

const invalid = (message: string) => ApplicationFailure.create({ type: BACKUP_INVALID, nonRetryable: true, message });
