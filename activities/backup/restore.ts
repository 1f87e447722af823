// restorePlatform's activities: verify a backup completely before anything is written, plan what a
// restore would do, restore one kind at a time (create; an existing object is skipped or updated),
// and count what is there afterwards.
import {
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import {
  CLUSTER_NAMESPACES,
  clusterNamespaceMessage,
  type BackupKind,
  type KindRestoreResult,
  type RestorePlan,
  type VerifiedBackup,
} from '../../contract/types/backup.ts';
import { BACKUP_INVALID } from '../../contract/failures.ts';
import { INVALID_INPUT } from '../../contract/failures.ts';
import { RESTORE_PENDING_ANNOTATION, RESTORED_FROM_ANNOTATION } from '../../contract/types/taskrun.ts';
import type { ActivityDeps } from '../deps.ts';
import { cancellationSignal, heartbeat } from '../activity-context.ts';
import { forEachStreamed } from '../stream-concurrency.ts';
import { isStatus, kubeCall, toKubeFailure } from '../errors.ts';
import { FIELD_MANAGER } from '../kube/apply.ts';
import type { KubeClients } from '../kube/client.ts';
import { listAllPages, PAGE_SIZE } from '../kube/paginate.ts';
import { listTaskRuns, TASKRUN, taskRunPath } from '../kube/taskruns.ts';
import { ageDecrypt } from './age.ts';
import { resolveHmacKey, resolveIdentity } from './keys.ts';
import { crdExists, namespaceExists } from '../kube/exists.ts';
import { decodeJsonLines, decodeJsonLinesStream } from './codec.ts';
import type { Manifest } from './manifest.ts';
import { backupFileChunks, openBackup, readBackupFile, storeRoot, verifyBackupFile } from './store.ts';
import { helmValuesMismatch } from './write.ts';

export interface BackupRef {
  backupId: string;
  include: Record<BackupKind, boolean>;
}

type Obj = KubernetesObject & { status?: unknown };

/** A backup's directory and its authenticated manifest. */
export interface OpenedBackup {
  dir: string;
  manifest: Manifest;
}

export async function open(deps: ActivityDeps, ref: BackupRef): Promise<OpenedBackup> {
  const key = await resolveHmacKey(deps);
  return openBackup(storeRoot(deps), ref.backupId, key);
}

/** The objects of one kind, checksum-verified and decrypted. */
export async function loadKind(
  deps: ActivityDeps,
  ref: BackupRef,
  { dir, manifest }: OpenedBackup,
  kind: BackupKind,
  identity?: string,
): Promise<Obj[]> {
  const info = manifest.files.find((f) => f.kind === kind);
  if (!info) return [];
  let data: Uint8Array = await readBackupFile(dir, info, ref.backupId);
  if (info.encrypted) {
    data = await ageDecrypt(data, identity ?? (await resolveIdentity(deps)), `backup ${ref.backupId}: ${info.file}`);
  }
  let objects: Obj[];
  try {
    objects = decodeJsonLines<Obj>(data);
  } catch {
    throw ApplicationFailure.create({
      type: BACKUP_INVALID,
      nonRetryable: true,
      message: `backup ${ref.backupId}: ${info.file} does not decode`,
    });
  }
  if (objects.length !== info.count) {
    throw ApplicationFailure.create({
      type: BACKUP_INVALID,
      nonRetryable: true,
      message: `backup ${ref.backupId}: ${info.file} holds ${objects.length} objects, the manifest says ${info.count}`,
    });
  }
  return objects;
}

/**
 * The objects of one kind, one at a time as the file is read (a kind's objects are never all in memory):
 * checksum-verified first (backupFileChunks); the count is checked at the end. The encrypted kinds (a
 * namespace's Secrets and release records) are decrypted whole (loadKind).
 */
export async function* kindObjects(
  deps: ActivityDeps,
  ref: BackupRef,
  { dir, manifest }: OpenedBackup,
  kind: BackupKind,
  identity?: string,
): AsyncGenerator<Obj> {
  const info = manifest.files.find((f) => f.kind === kind);
  if (!info) return;
  if (info.encrypted) {
    yield* await loadKind(deps, ref, { dir, manifest }, kind, identity);
    return;
  }
  const invalid = (message: string) =>
    ApplicationFailure.create({
      type: BACKUP_INVALID,
      nonRetryable: true,
      message: `backup ${ref.backupId}: ${message}`,
    });
  let count = 0;
  const objects = decodeJsonLinesStream<Obj>(backupFileChunks(dir, info, ref.backupId));
  for (;;) {
    let next: IteratorResult<Obj>;
    try {
      next = await objects.next();
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err; // the checksum's
      throw invalid(`${info.file} does not decode`);
    }
    if (next.done) break;
    count++;
    yield next.value;
  }
  if (count !== info.count) throw invalid(`${info.file} holds ${count} objects, the manifest says ${info.count}`);
}

const kindsOf = (ref: BackupRef, m: Manifest) => m.files.map((f) => f.kind).filter((k) => ref.include[k]);

/** HMAC, every checksum, and that every encrypted file decrypts: nothing is written before this passes. */
export async function verifyBackup(deps: ActivityDeps, ref: BackupRef): Promise<VerifiedBackup> {
  const { dir, manifest } = await open(deps, ref);
  const needsIdentity = manifest.files.some((f) => f.encrypted && ref.include[f.kind]);
  const identity = needsIdentity ? await resolveIdentity(deps) : undefined;
  for (const info of manifest.files) {
    if (info.encrypted && !ref.include[info.kind]) await verifyBackupFile(dir, info, ref.backupId);
    else if (!info.encrypted) {
      // Every line decodes and the count is the manifest's: read through, one object at a time.
      const objects = kindObjects(deps, ref, { dir, manifest }, info.kind);
      while (!(await objects.next()).done);
    } else {
      const objects = await loadKind(deps, ref, { dir, manifest }, info.kind, identity);
      // The manifest holds the values' digest only: the values are in the (now decrypted) release records.
      const mismatch =
        info.kind === 'helmReleases' && manifest.helm ? helmValuesMismatch(manifest.helm, objects) : undefined;
      if (mismatch)
        throw ApplicationFailure.create({
          type: BACKUP_INVALID,
          nonRetryable: true,
          message: `backup ${ref.backupId}: ${mismatch}`,
        });
    }
    heartbeat({ verified: info.file });
  }
  return {
    id: manifest.id,
    createdAt: manifest.createdAt,
    cluster: manifest.cluster,
    sourceNamespace: manifest.namespace,
    counts: manifest.counts,
    filesVerified: manifest.files.length,
  };
}

/** Re-targets a namespaced object. */
function retarget(obj: Obj, kind: BackupKind, namespace: string): Obj {
  return kind === 'crds' ? obj : { ...obj, metadata: { ...obj.metadata, namespace } };
}

/** Names of the objects of a kind in the target namespace, listed page by page (names only). */
async function targetNames(kube: KubeClients, kind: Exclude<BackupKind, 'crds'>, namespace: string) {
  const found = new Set<string>();
  const add = (items: { metadata?: { name?: string } }[]) => {
    for (const i of items) if (i.metadata?.name) found.add(i.metadata.name);
    heartbeat({ listing: kind });
  };
  if (kind === 'taskRuns') {
    // A missing CRD (not there yet): no TaskRun exists.
    await listTaskRuns<{ metadata?: { name?: string } }>(kube, namespace, {
      crdMissing: 'empty',
      keep: false,
      onPage: add,
    });
    return found;
  }
  const page = async (
    cont: string | undefined,
  ): Promise<{ items: { metadata?: { name?: string } }[]; metadata?: { _continue?: string } }> => {
    const common = { namespace, limit: PAGE_SIZE, _continue: cont };
    if (kind === 'configMaps') return kube.core.listNamespacedConfigMap(common);
    return kube.core.listNamespacedSecret(common); // Secrets, and the Helm release records (Secrets too)
  };
  await kubeCall(`list ${kind} in ${namespace}`, () =>
    listAllPages(async (cont) => {
      const p = await page(cont);
      add(p.items);
      return { items: [] };
    }),
  );
  return found;
}

/** How many of a kind's backed-up objects exist in the target namespace (the backup read as a stream). */
async function countExisting(
  deps: ActivityDeps,
  ref: BackupRef,
  dir: string,
  manifest: Manifest,
  kind: BackupKind,
  namespace: string,
): Promise<number> {
  const { kube } = deps;
  let exists: (name: string) => Promise<boolean> | boolean;
  if (kind === 'crds') exists = (name) => crdExists(kube, name);
  else {
    if (!(await namespaceExists(kube, namespace))) return 0;
    const names = await targetNames(kube, kind, namespace);
    if (!names.size) return 0;
    exists = (name) => names.has(name);
  }
  let found = 0;
  for await (const o of kindObjects(deps, ref, { dir, manifest }, kind))
    if (await exists(o.metadata?.name ?? '')) found++;
  return found;
}

/** The input's schema refuses them already; a backup of one of them (the default target) is refused here. */
function refuseClusterNamespace(namespace: string, fromBackup: boolean): void {
  if (!CLUSTER_NAMESPACES.includes(namespace)) return;
  throw ApplicationFailure.create({
    type: INVALID_INPUT,
    nonRetryable: true,
    message: `targetNamespace: ${namespace} ${clusterNamespaceMessage}${fromBackup ? " (the backup's namespace, the default target: give another targetNamespace)" : ''}`,
  });
}

export async function planRestore(
  deps: ActivityDeps,
  ref: BackupRef & { targetNamespace?: string; existing: 'skip' | 'update' },
): Promise<RestorePlan> {
  const { dir, manifest } = await open(deps, ref);
  const targetNamespace = ref.targetNamespace ?? manifest.namespace;
  refuseClusterNamespace(targetNamespace, ref.targetNamespace === undefined);
  const kinds: RestorePlan['kinds'] = [];
  for (const kind of kindsOf(ref, manifest)) {
    // verifyBackup counted every file's objects: the manifest's count is the file's.
    const total = manifest.files.find((f) => f.kind === kind)!.count;
    const existing = await countExisting(deps, ref, dir, manifest, kind, targetNamespace);
    kinds.push({
      kind,
      total,
      existing,
      action: existing === 0 ? 'create' : ref.existing === 'update' ? 'create-or-update' : 'create-or-skip',
    });
  }
  return { targetNamespace, namespaceExists: await namespaceExists(deps.kube, targetNamespace), kinds };
}

/**
 * TaskRuns come back as the API server wrote them (checksummed, authenticated): its strict field
 * decoding (a second decode of every request, for unknown or duplicate fields) finds nothing there.
 * The schema's validation still runs.
 */
const TRUSTED = 'Ignore';
/** A restore's TaskRun writes: the project's field manager, trusted fields. */
const WRITE_QUERY = `fieldManager=${FIELD_MANAGER}&fieldValidation=${TRUSTED}`;

/**
 * Metadata that the API server owns, or that ties an object to others of its source cluster: never
 * written by a restore. ownerReferences would let the garbage collector delete the restored object (its
 * owner is not in the target, or has another uid); finalizers would wait for an operator that may not be
 * there. Capture drops the server-owned fields; older backups may still hold them.
 */
const DROPPED_METADATA = [
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'managedFields',
  'generation',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'ownerReferences',
  'finalizers',
] as const;

/** A TaskRun's backed-up phase: it is marked restored-from and gets its status written after the create. */
const phaseOf = (obj: Obj) => (obj.status as { phase?: unknown } | undefined)?.phase;

/**
 * What a restore sends for a backed-up object: without status (a subresource) and DROPPED_METADATA. A
 * TaskRun with a phase is marked restored-from the backup (the controller leaves it alone until its status,
 * written next, has a phase); one applied over an existing TaskRun (its status has a phase already) is also
 * marked restore-pending until the status write is done. A TaskRun without a phase is a new task to the
 * controller, as it was in the source.
 */
export function restoreBody(obj: Obj, kind: BackupKind, taskRun?: { backupId: string; updating?: boolean }): Obj {
  const { status: _s, ...rest } = obj;
  const metadata: Record<string, unknown> = { ...obj.metadata };
  for (const field of DROPPED_METADATA) delete metadata[field];
  if (kind === 'taskRuns' && taskRun && phaseOf(obj) !== undefined)
    metadata.annotations = {
      ...(metadata.annotations as Record<string, string> | undefined),
      [RESTORED_FROM_ANNOTATION]: taskRun.backupId,
      ...(taskRun.updating ? { [RESTORE_PENDING_ANNOTATION]: 'true' } : {}),
    };
  return { ...rest, metadata } as Obj;
}

const annotation = (o: Obj | undefined, key: string) => o?.metadata?.annotations?.[key];
/** Marked restore-pending (an update, or a restore of an earlier version) or restored-from without a phase yet. */
const restoreUnfinished = (o: Obj) =>
  annotation(o, RESTORE_PENDING_ANNOTATION) !== undefined ||
  (annotation(o, RESTORED_FROM_ANNOTATION) !== undefined && phaseOf(o) === undefined);

/**
 * Creates one object; on 409 skips it, or updates it by server-side apply. A TaskRun that exists and that
 * the restore has not finished (restoreUnfinished) was created by an earlier attempt (or run) of a restore:
 * it is handed back as created, to get its status (and lose restore-pending). Any other existing TaskRun
 * is skipped (existing: skip) and left alone.
 */
async function createOne(
  kube: KubeClients,
  kind: BackupKind,
  obj: Obj,
  { existing, backupId }: { existing: 'skip' | 'update'; backupId: string },
): Promise<{ outcome: 'created' | 'updated' | 'skipped'; stored?: Obj; notUpdated?: string }> {
  const ns = obj.metadata?.namespace ?? '';
  const what = `restore ${obj.kind} ${ns ? `${ns}/` : ''}${obj.metadata?.name}`;
  const body = restoreBody(obj, kind, { backupId });
  try {
    const stored = await kubeCall(what, async () => {
      // The project's field manager, as for every other write (deployPlatform's applies own the same fields).
      const fieldManager = FIELD_MANAGER;
      // A backed-up CRD is the API server's object as capture read it (spec and all); Obj, any backed-up
      // object, does not name the spec the CRD type requires.
      if (kind === 'crds')
        return kube.apiextensions.createCustomResourceDefinition({
          body: body as V1CustomResourceDefinition,
          fieldManager,
        });
      if (kind === 'configMaps') return kube.core.createNamespacedConfigMap({ namespace: ns, body, fieldManager });
      // Thousands of them: the lean call (json-call.ts).
      if (kind === 'taskRuns') return kube.json('POST', `${taskRunPath(ns)}?${WRITE_QUERY}`, body);
      return kube.core.createNamespacedSecret({ namespace: ns, body, fieldManager });
    });
    return { outcome: 'created', stored: stored as Obj };
  } catch (err) {
    if (!(err instanceof ApplicationFailure && (err.details?.[0] as { httpStatus?: number })?.httpStatus === 409))
      throw err;
  }
  if (kind === 'taskRuns') {
    const current = (await kubeCall(what, () =>
      kube.custom.getNamespacedCustomObject({
        group: TASKRUN.group,
        version: TASKRUN.version,
        plural: TASKRUN.plural,
        namespace: ns,
        name: obj.metadata!.name!,
      }),
    )) as Obj;
    if (restoreUnfinished(current)) return { outcome: 'created', stored: current };
  }
  if (existing === 'skip') return { outcome: 'skipped' };
  if (kind === 'crds') {
    const current = await kubeCall(what, () =>
      kube.apiextensions.readCustomResourceDefinition({ name: obj.metadata!.name! }),
    );
    const reason = crdDowngradeReason(current as CrdLike, obj as CrdLike);
    if (reason) return { outcome: 'skipped', notUpdated: reason };
  }
  const update = kind === 'taskRuns' ? restoreBody(obj, kind, { backupId, updating: true }) : body;
  const stored = await kubeCall(what, () =>
    kube.objects.patch(update, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply),
  );
  return { outcome: 'updated', stored: stored as Obj };
}

/** The chart's version on a CRD (label or annotation), when both sides carry it. */
const CRD_VERSION_KEY = 'app.kubernetes.io/version';

type CrdLike = {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { versions?: { name: string; served?: boolean; schema?: { openAPIV3Schema?: unknown } }[] };
};

/** -1, 0, 1: dotted numeric versions ("v1.4.0", "1.10"); a non-numeric part compares as text. */
function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.replace(/^v/, '').split(/[.+-]/);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const [p, q] = [x[i] ?? '0', y[i] ?? '0'];
    const [m, n] = [Number(p), Number(q)];
    const c = Number.isInteger(m) && Number.isInteger(n) ? Math.sign(m - n) : p < q ? -1 : p > q ? 1 : 0;
    if (c) return c;
  }
  return 0;
}

/** Every field path a structural schema declares (".spec.priority", ".spec.items[].name"). */
function schemaPaths(schema: unknown, prefix = '', out = new Set<string>()): Set<string> {
  if (!schema || typeof schema !== 'object') return out;
  const s = schema as { properties?: Record<string, unknown>; items?: unknown; additionalProperties?: unknown };
  for (const [name, sub] of Object.entries(s.properties ?? {})) {
    out.add(`${prefix}.${name}`);
    schemaPaths(sub, `${prefix}.${name}`, out);
  }
  if (s.items) schemaPaths(s.items, `${prefix}[]`, out);
  if (s.additionalProperties && typeof s.additionalProperties === 'object')
    schemaPaths(s.additionalProperties, `${prefix}.*`, out);
  return out;
}

/**
 * Why applying the backup's CRD over the cluster's would be a downgrade (or undefined): it would stop
 * serving a version the cluster serves (its objects would become unreadable), carries an older chart
 * version, or its schema of a version both serve lacks fields the cluster's declares (the API server would
 * prune them from stored objects).
 */
export function crdDowngradeReason(stored: CrdLike, backup: CrdLike): string | undefined {
  const served = (c: CrdLike) => new Map((c.spec?.versions ?? []).filter((v) => v.served).map((v) => [v.name, v]));
  const [now, then] = [served(stored), served(backup)];
  const lost = [...now.keys()].filter((v) => !then.has(v));
  if (lost.length) return `the backup's CRD would stop serving ${lost.join(', ')}`;
  const version = (c: CrdLike) => c.metadata?.annotations?.[CRD_VERSION_KEY] ?? c.metadata?.labels?.[CRD_VERSION_KEY];
  const [sv, bv] = [version(stored), version(backup)];
  if (sv && bv && compareVersions(bv, sv) < 0)
    return `the backup's CRD version ${bv} is older than the cluster's ${sv}`;
  for (const [name, v] of now) {
    const theirs = schemaPaths(then.get(name)!.schema?.openAPIV3Schema);
    const missing = [...schemaPaths(v.schema?.openAPIV3Schema)].filter((p) => !theirs.has(p));
    if (missing.length)
      return `the backup's ${name} schema would lose ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more fields` : ''}`;
  }
  return undefined;
}

/** Conflicts a status write tolerates (re-reading each time) before the activity's retry takes over. */
const STATUS_CONFLICT_RETRIES = 10;

/**
 * TaskRun status lives behind the status subresource: written after the object, on its stored version.
 * The PUT carries the TaskRun's identity, resourceVersion and status only: the API server takes every
 * other field from the stored object (~11% less of its CPU than a PUT of the whole object). A conflict
 * (someone wrote the TaskRun in between) re-reads it and writes again: the backed-up status is never skipped.
 */
export async function restoreStatus(kube: KubeClients, stored: Obj, status: unknown): Promise<void> {
  const { namespace: ns, name } = stored.metadata as { namespace: string; name: string };
  const what = `restore status of TaskRun ${ns}/${name}`;
  let current = stored;
  for (let attempt = 1; ; attempt++) {
    const metadata = { name, namespace: ns, resourceVersion: current.metadata?.resourceVersion };
    try {
      await kube.json('PUT', `${taskRunPath(ns, name)}/status?${WRITE_QUERY}`, {
        apiVersion: current.apiVersion,
        kind: current.kind,
        metadata,
        status,
      });
      return;
    } catch (err) {
      if (!isStatus(err, 409) || attempt >= STATUS_CONFLICT_RETRIES) throw toKubeFailure(err, what);
    }
    current = (await kubeCall(what, () => kube.json('GET', taskRunPath(ns, name)))) as Obj;
  }
}

/** The updated TaskRun is complete (status written): the controller may act on it again. */
async function clearRestorePending(kube: KubeClients, stored: Obj): Promise<void> {
  const ns = stored.metadata!.namespace!;
  const name = stored.metadata!.name!;
  await kubeCall(`remove ${RESTORE_PENDING_ANNOTATION} from TaskRun ${ns}/${name}`, () =>
    kube.custom.patchNamespacedCustomObject(
      {
        group: TASKRUN.group,
        version: TASKRUN.version,
        plural: TASKRUN.plural,
        namespace: ns,
        name,
        body: { metadata: { annotations: { [RESTORE_PENDING_ANNOTATION]: null } } },
        fieldManager: FIELD_MANAGER,
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    ),
  );
}

/**
 * Writes in flight. The local cluster tops out near 500 writes a second (TaskRuns: 2,000 creates +
 * 2,000 status writes in 7.6 s at 48 and at 96; 16 took 10 s); the API server's default
 * max-mutating-requests-inflight is 200. A TaskRun is two writes (three when it updates an existing one),
 * each CPU-bound in kube-apiserver (10,000 each: create ~2 ms, status PUT ~3 ms of its CPU; a status merge
 * patch costs more; 96 in flight is no faster than 48: `npm run bench -- restore-steps`).
 */
const CONCURRENCY = 48;

export async function restoreKind(
  deps: ActivityDeps,
  req: BackupRef & { kind: BackupKind; targetNamespace: string; existing: 'skip' | 'update' },
): Promise<KindRestoreResult> {
  refuseClusterNamespace(req.targetNamespace, false);
  const { dir, manifest } = await open(deps, req);
  // Read as the writes go: no more objects held than writes in flight.
  const objects = kindObjects(deps, req, { dir, manifest }, req.kind);
  const total = manifest.files.find((f) => f.kind === req.kind)?.count ?? 0;
  const result: KindRestoreResult = {
    kind: req.kind,
    created: 0,
    updated: 0,
    skipped: 0,
    ...(req.kind === 'taskRuns' ? { statusRestored: 0 } : {}),
  };
  const done = () => result.created + result.updated + result.skipped;
  // Heartbeat on a clock, not per N objects: a slow API server must not look like a dead worker
  // (a heartbeat timeout would start a second attempt while this one still runs).
  const timer = setInterval(() => heartbeat({ kind: req.kind, done: done(), of: total }), 5000);
  const signal = cancellationSignal();
  const restoreOne = async (backedUp: Obj) => {
    signal?.throwIfAborted();
    const obj = retarget(backedUp, req.kind, req.targetNamespace);
    const { outcome, stored, notUpdated } = await createOne(deps.kube, req.kind, obj, req);
    if (notUpdated) {
      (result.notUpdated ??= []).push({ name: obj.metadata?.name ?? '', reason: notUpdated });
      deps.logger.warn(
        { kind: req.kind, name: obj.metadata?.name, reason: notUpdated },
        'restore: existing object not updated',
      );
    }
    if (req.kind === 'taskRuns' && stored) {
      // Status first, then restore-pending's removal: a retry finds the mark and writes both again.
      const withPhase = phaseOf(obj) !== undefined;
      if (withPhase) await restoreStatus(deps.kube, stored, obj.status);
      if (annotation(stored, RESTORE_PENDING_ANNOTATION) !== undefined) await clearRestorePending(deps.kube, stored);
      if (withPhase) result.statusRestored!++;
    }
    result[outcome]++;
  };
  try {
    heartbeat({ kind: req.kind, done: 0, of: total });
    await forEachStreamed(objects, CONCURRENCY, restoreOne);
  } finally {
    clearInterval(timer);
  }
  return result;
}

/** How many of the backed-up objects exist in the target now. */
export async function countRestored(
  deps: ActivityDeps,
  req: BackupRef & { targetNamespace: string },
): Promise<{ kind: BackupKind; expected: number; found: number }[]> {
  const { dir, manifest } = await open(deps, req);
  const counts = [];
  for (const kind of kindsOf(req, manifest)) {
    const expected = manifest.files.find((f) => f.kind === kind)!.count;
    counts.push({ kind, expected, found: await countExisting(deps, req, dir, manifest, kind, req.targetNamespace) });
  }
  return counts;
}
