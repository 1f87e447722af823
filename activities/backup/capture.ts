// Reads what a backup captures from the cluster: the TaskRun CRD, the namespace's ConfigMaps and
// Secrets, the Helm release records and all TaskRuns (page by page, handed on as they come: a
// namespace's TaskRuns are never all in memory). Objects are stripped of
// server-set fields so they can be created again elsewhere.
import type { KubernetesObject } from '@kubernetes/client-node';
import { heartbeat } from '../activity-context.ts';
import { isStatus, kubeCall, toKubeFailure } from '../errors.ts';
import type { KubeClients } from '../kube/client.ts';
import { listAllPages, PAGE_SIZE } from '../kube/paginate.ts';
import { listTaskRuns, TASKRUN } from '../kube/taskruns.ts';
import type { BackupKind } from '../../contract/types/backup.ts';

export const HELM_RELEASE_TYPE = 'helm.sh/release.v1';
/** Made by Kubernetes in every namespace; restoring them would fight the controllers. */
const GENERATED_CONFIGMAPS = new Set(['kube-root-ca.crt']);
const GENERATED_SECRET_TYPES = new Set(['kubernetes.io/service-account-token']);

export interface CaptureScope {
  namespace: string;
  labelSelector?: string;
  include: Record<BackupKind, boolean>;
}

type Obj = KubernetesObject & Record<string, unknown>;

/** Drops the fields the API server sets (uid, resourceVersion, managedFields...). */
export function cleanObject(obj: Obj, keepStatus: boolean): Obj {
  const {
    uid: _u,
    resourceVersion: _r,
    creationTimestamp: _c,
    managedFields: _m,
    generation: _g,
    selfLink: _s,
    ...metadata
  } = obj.metadata ?? {};
  const { status, ...rest } = obj;
  return { ...rest, metadata, ...(keepStatus && status !== undefined ? { status } : {}) } as Obj;
}

async function listCore<T>(
  what: string,
  page: (cont: string | undefined) => Promise<{ items: T[]; metadata?: { _continue?: string } }>,
): Promise<T[]> {
  return kubeCall(what, () =>
    listAllPages(async (cont) => {
      const p = await page(cont);
      heartbeat({ listing: what });
      return p;
    }),
  );
}

export async function readCrd(kube: KubeClients): Promise<Obj[]> {
  try {
    const crd = await kube.apiextensions.readCustomResourceDefinition({ name: TASKRUN.crdName });
    return [
      cleanObject({ ...crd, apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' } as Obj, false),
    ];
  } catch (err) {
    if (isStatus(err, 404)) return [];
    throw toKubeFailure(err, `read CRD ${TASKRUN.crdName}`);
  }
}

export async function readSecrets(
  kube: KubeClients,
  scope: CaptureScope,
): Promise<{ secrets: Obj[]; helmReleases: Obj[] }> {
  const all = await listCore(`list Secrets in ${scope.namespace}`, (cont) =>
    kube.core.listNamespacedSecret({ namespace: scope.namespace, limit: PAGE_SIZE, _continue: cont }),
  );
  const selected = scope.labelSelector ? await selectorNames(kube, scope) : undefined;
  const secrets: Obj[] = [];
  const helmReleases: Obj[] = [];
  for (const s of all) {
    const obj = cleanObject({ ...s, apiVersion: 'v1', kind: 'Secret' } as Obj, false);
    if (s.type === HELM_RELEASE_TYPE) helmReleases.push(obj);
    else if (!GENERATED_SECRET_TYPES.has(s.type ?? '') && (!selected || selected.has(s.metadata?.name ?? '')))
      secrets.push(obj);
  }
  return { secrets, helmReleases };
}

/** Names of the Secrets matching the label selector (the helm records are kept whatever it says). */
async function selectorNames(kube: KubeClients, scope: CaptureScope): Promise<Set<string>> {
  const items = await listCore(`list Secrets in ${scope.namespace} (${scope.labelSelector})`, (cont) =>
    kube.core.listNamespacedSecret({
      namespace: scope.namespace,
      labelSelector: scope.labelSelector,
      limit: PAGE_SIZE,
      _continue: cont,
    }),
  );
  return new Set(items.map((s) => s.metadata?.name ?? ''));
}

export async function readConfigMaps(kube: KubeClients, scope: CaptureScope): Promise<Obj[]> {
  const items = await listCore(`list ConfigMaps in ${scope.namespace}`, (cont) =>
    kube.core.listNamespacedConfigMap({
      namespace: scope.namespace,
      labelSelector: scope.labelSelector,
      limit: PAGE_SIZE,
      _continue: cont,
    }),
  );
  return items
    .filter((c) => !GENERATED_CONFIGMAPS.has(c.metadata?.name ?? ''))
    .map((c) => cleanObject({ ...c, apiVersion: 'v1', kind: 'ConfigMap' } as Obj, false));
}

/**
 * Every TaskRun, page by page, to `write` (cleaned, with status): the next page is listed once the last is
 * written, so no more than a page is held. The number written.
 */
export async function captureTaskRuns(
  kube: KubeClients,
  scope: CaptureScope,
  write: (page: Obj[]) => Promise<void>,
): Promise<number> {
  const apiVersion = `${TASKRUN.group}/${TASKRUN.version}`;
  const list = await listTaskRuns<Obj>(kube, scope.namespace, {
    crdMissing: 'empty',
    keep: false,
    ...(scope.labelSelector ? { labelSelector: scope.labelSelector } : {}),
    onPage: async (items) => {
      await write(items.map((t) => cleanObject({ ...t, apiVersion, kind: 'TaskRun' }, true)));
      heartbeat({ listing: `TaskRuns in ${scope.namespace}` });
    },
  });
  return list.count;
}

/** Every TaskRun at once (a backup's verification compares them as digests); a backup writes them with captureTaskRuns. */
export async function readTaskRuns(kube: KubeClients, scope: CaptureScope): Promise<Obj[]> {
  const all: Obj[] = [];
  await captureTaskRuns(kube, scope, async (page) => void all.push(...page));
  return all;
}

/**
 * How many TaskRuns a backup will hold, without listing them all: one item plus the server's
 * remainingItemCount (not given with a label selector, or when the CRD is missing: then a full list).
 */
export async function countTaskRuns(kube: KubeClients, scope: CaptureScope): Promise<number> {
  if (!scope.labelSelector) {
    const first = await listTaskRuns(kube, scope.namespace, {
      pageSize: 1,
      maxPages: 1,
      keep: false,
      crdMissing: 'empty',
    });
    if (first.complete) return first.count;
    if (first.remainingItemCount !== undefined) return first.count + first.remainingItemCount;
  }
  return (
    await listTaskRuns(kube, scope.namespace, {
      crdMissing: 'empty',
      keep: false,
      onPage: () => heartbeat({ counting: `TaskRuns in ${scope.namespace}` }),
      ...(scope.labelSelector ? { labelSelector: scope.labelSelector } : {}),
    })
  ).count;
}
