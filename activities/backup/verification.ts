// Activities of the verification restore (backupAndVerify) and of upgradePlatform's pre-upgrade backup:
// the scratch namespace's life (created with an owner label; deleted only when that label matches), the
// comparison of a restored backup with the backup itself and with the live source namespace (a sha256 per
// object, computed here: Secret values never leave this file), and the default backup recipients.
import { createHash } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { INVALID_INPUT, KUBE_CONFLICT, WAIT_TIMEOUT } from '../../contract/failures.ts';
import type { BackupKind } from '../../contract/types/backup.ts';
import type { KindComparison, RestoreComparison } from '../../contract/types/backup-verify.ts';
import { RESTORED_FROM_ANNOTATION } from '../../contract/types/taskrun.ts';
import type { ActivityDeps } from '../deps.ts';
import { heartbeat, pollUntil } from '../activity-context.ts';
import { readIfExists, unlessStatus } from '../kube/exists.ts';
import type { KubeClients } from '../kube/client.ts';
import { parseRecipients } from './age.ts';
import { resolveHmacKey, resolveIdentity } from './keys.ts';
import { captureTaskRuns, readConfigMaps, readSecrets } from './capture.ts';
import { canonicalJson } from './codec.ts';
import { kindObjects } from './restore.ts';
import { openBackup, storeRoot } from './store.ts';

/** Labels of a scratch namespace: only a namespace carrying its owner's token is ever deleted. */
export const SCRATCH_LABEL = 'platform-runbooks.io/scratch';
export const SCRATCH_OWNER_LABEL = 'platform-runbooks.io/scratch-owner';
/** Not the project's apply field manager, so that restorePlatform's namespace apply never drops the labels. */
const SCRATCH_FIELD_MANAGER = 'platform-runbooks-verify';
/** The kinds a verification restore compares (the CRD is cluster-scoped and is not restored into a scratch namespace). */
export const COMPARED_KINDS: readonly BackupKind[] = ['secrets', 'configMaps', 'helmReleases', 'taskRuns'];
/** Names listed per kind and difference class in a report. */
const MAX_NAMES = 10;

type Obj = KubernetesObject & Record<string, unknown>;

/**
 * sha256 of what a restore must reproduce: labels, annotations, and the kind's content (Secret data
 * included, as a hash only). A TaskRun's restored-from annotation is the restore's own mark (it names the
 * backup), left out on both sides.
 */
export function objectDigest(kind: BackupKind, obj: Obj): string {
  const { labels, annotations } = obj.metadata ?? {};
  const { [RESTORED_FROM_ANNOTATION]: _mark, ...kept } = annotations ?? {};
  const content = {
    labels: labels ?? {},
    annotations: kind === 'taskRuns' ? kept : (annotations ?? {}),
    type: obj.type,
    immutable: obj.immutable,
    data: obj.data ?? {},
    binaryData: obj.binaryData ?? {},
    spec: obj.spec,
    ...(kind === 'taskRuns' ? { status: obj.status } : {}),
  };
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

type Digests = Map<string, string>;

const digestsOf = (kind: BackupKind, objects: Obj[]): Digests =>
  new Map(objects.map((o) => [o.metadata?.name ?? '', objectDigest(kind, o)]));

/** Digests of the objects of every compared kind in a namespace, read as a backup would read them. */
async function namespaceDigests(
  kube: KubeClients,
  namespace: string,
  kinds: readonly BackupKind[],
  labelSelector?: string,
): Promise<Map<BackupKind, Digests>> {
  const scope = {
    namespace,
    include: { crds: false, secrets: true, configMaps: true, helmReleases: true, taskRuns: true },
    ...(labelSelector ? { labelSelector } : {}),
  };
  const result = new Map<BackupKind, Digests>();
  if (kinds.includes('secrets') || kinds.includes('helmReleases')) {
    const { secrets, helmReleases } = await readSecrets(kube, scope);
    result.set('secrets', digestsOf('secrets', secrets));
    result.set('helmReleases', digestsOf('helmReleases', helmReleases));
  }
  if (kinds.includes('configMaps'))
    result.set('configMaps', digestsOf('configMaps', await readConfigMaps(kube, scope)));
  if (kinds.includes('taskRuns')) {
    // Page by page: digests are kept, the TaskRuns are not.
    const digests: Digests = new Map();
    await captureTaskRuns(kube, scope, async (page) => {
      for (const o of page) digests.set(o.metadata?.name ?? '', objectDigest('taskRuns', o));
    });
    result.set('taskRuns', digests);
  }
  heartbeat({ fingerprinted: namespace });
  return result;
}

function diff(
  expected: Digests,
  actual: Digests,
): { matching: number; missing: string[]; differing: string[]; extra: string[] } {
  const missing: string[] = [];
  const differing: string[] = [];
  let matching = 0;
  for (const [name, digest] of expected) {
    const other = actual.get(name);
    if (other === undefined) missing.push(name);
    else if (other !== digest) differing.push(name);
    else matching++;
  }
  const extra = [...actual.keys()].filter((name) => !expected.has(name));
  return { matching, missing: missing.sort(), differing: differing.sort(), extra: extra.sort() };
}

const cap = (names: string[]) => names.slice(0, MAX_NAMES);

export interface CompareRequest {
  backupId: string;
  include: Record<BackupKind, boolean>;
  /** The scratch namespace the backup was restored into. */
  targetNamespace: string;
  /** The live namespace the backup was taken of, and the backup's label selector. */
  sourceNamespace: string;
  labelSelector?: string;
}

/**
 * Compares, per kind, the backup's objects (checksums verified, decrypted here) with the restored ones
 * (must be equal: this decides the verification), and the live source namespace with the backup (changes
 * since the backup was taken: informational). Returns counts and names only.
 */
export async function compareRestoredBackup(deps: ActivityDeps, req: CompareRequest): Promise<RestoreComparison> {
  const hmacKey = await resolveHmacKey(deps);
  const { dir, manifest } = await openBackup(storeRoot(deps), req.backupId, hmacKey);
  const kinds = COMPARED_KINDS.filter((k) => req.include[k] && manifest.files.some((f) => f.kind === k));
  let identity: string | undefined;
  const backup = new Map<BackupKind, Digests>();
  for (const kind of kinds) {
    const info = manifest.files.find((f) => f.kind === kind)!;
    if (info.encrypted) identity ??= await resolveIdentity(deps);
    // Read as a stream (the encrypted kinds, a namespace's few objects, are decrypted whole): digests are kept.
    const digests: Digests = new Map();
    for await (const o of kindObjects(deps, req, { dir, manifest }, kind, identity))
      digests.set(o.metadata?.name ?? '', objectDigest(kind, o as Obj));
    backup.set(kind, digests);
    heartbeat({ read: info.file });
  }
  const restored = await namespaceDigests(deps.kube, req.targetNamespace, kinds);
  const source = await namespaceDigests(deps.kube, req.sourceNamespace, kinds, req.labelSelector);
  const result: KindComparison[] = kinds.map((kind) => {
    const expected = backup.get(kind)!;
    const d = diff(expected, restored.get(kind) ?? new Map());
    const s = diff(expected, source.get(kind) ?? new Map());
    return {
      kind,
      backup: expected.size,
      restored: restored.get(kind)?.size ?? 0,
      matching: d.matching,
      missing: cap(d.missing),
      differing: cap(d.differing),
      extra: cap(d.extra),
      equal: d.matching === expected.size && d.extra.length === 0,
      source: {
        count: source.get(kind)?.size ?? 0,
        changedSinceBackup: s.differing.length,
        addedSinceBackup: s.extra.length,
        removedSinceBackup: s.missing.length,
      },
    };
  });
  return {
    backupId: req.backupId,
    targetNamespace: req.targetNamespace,
    sourceNamespace: req.sourceNamespace,
    kinds: result,
    equal: result.every((k) => k.equal),
  };
}

const refuse = (message: string) => ApplicationFailure.create({ type: INVALID_INPUT, message, nonRetryable: true });

const readNamespace = (kube: KubeClients, name: string) =>
  readIfExists(`namespace ${name}`, () => kube.core.readNamespace({ name }));

/** Creates the scratch namespace with its owner label; an existing one is reused only when it carries that label. */
export async function prepareScratchNamespace(
  deps: ActivityDeps,
  req: { name: string; owner: string },
): Promise<{ name: string; created: boolean }> {
  const { kube } = deps;
  let ns = await readNamespace(kube, req.name);
  let created = false;
  if (!ns) {
    const body = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: req.name, labels: { [SCRATCH_LABEL]: 'true', [SCRATCH_OWNER_LABEL]: req.owner } },
    };
    // 409: another attempt created it a moment ago; its owner label decides below.
    ns = await unlessStatus(`create namespace ${req.name}`, [409], () =>
      kube.core.createNamespace({ body, fieldManager: SCRATCH_FIELD_MANAGER }),
    );
    created = ns !== undefined;
    ns ??= await readNamespace(kube, req.name);
  }
  if (ns?.metadata?.labels?.[SCRATCH_OWNER_LABEL] !== req.owner) {
    throw refuse(
      `namespace ${req.name} exists and is not this verification's scratch namespace (label ${SCRATCH_OWNER_LABEL}=${req.owner}): choose another verify.scratchNamespace`,
    );
  }
  if (ns.metadata?.deletionTimestamp) {
    throw ApplicationFailure.create({
      type: KUBE_CONFLICT,
      message: `scratch namespace ${req.name} is still being deleted`,
      nonRetryable: false,
    });
  }
  return { name: req.name, created };
}

/** Deletes the scratch namespace (only with the owner's label) and waits until it is gone. */
export async function deleteScratchNamespace(
  deps: ActivityDeps,
  req: { name: string; owner: string; timeoutSeconds: number },
): Promise<{ name: string; deleted: boolean }> {
  const { kube } = deps;
  const ns = await readNamespace(kube, req.name);
  if (!ns) return { name: req.name, deleted: false };
  if (ns.metadata?.labels?.[SCRATCH_OWNER_LABEL] !== req.owner) {
    throw refuse(
      `refusing to delete namespace ${req.name}: it is not this verification's scratch namespace (label ${SCRATCH_OWNER_LABEL}=${req.owner})`,
    );
  }
  if (!ns.metadata?.deletionTimestamp) {
    await unlessStatus(`delete namespace ${req.name}`, [404], () =>
      kube.core.deleteNamespace({ name: req.name, propagationPolicy: 'Background' }),
    );
  }
  await pollUntil({
    what: `deletion of namespace ${req.name}`,
    timeoutMs: req.timeoutSeconds * 1000,
    intervalMs: 500,
    check: async () => ((await readNamespace(kube, req.name)) ? { progress: { deleting: req.name } } : { done: true }),
    onTimeout: () =>
      ApplicationFailure.create({
        type: WAIT_TIMEOUT,
        message: `namespace ${req.name} was not deleted within ${req.timeoutSeconds} s`,
        nonRetryable: true,
      }),
  });
  return { name: req.name, deleted: true };
}

/**
 * The nightly backup's recipients (public keys), for an upgrade whose input has no backup config: the
 * worker's RUNBOOK_BACKUP_RECIPIENTS, else the ConfigMap backup-recipients (key recipients) of the namespace.
 */
export async function defaultBackupRecipients(
  deps: ActivityDeps,
  req: { namespace: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ recipients: string[]; source: string }> {
  const fromEnv = (env.RUNBOOK_BACKUP_RECIPIENTS ?? '').split(/[\s,]+/).filter(Boolean);
  if (fromEnv.length) return { recipients: fromEnv, source: 'RUNBOOK_BACKUP_RECIPIENTS of the worker' };
  const where = `ConfigMap ${req.namespace}/backup-recipients (key recipients)`;
  const cm = await readIfExists(where, () =>
    deps.kube.core.readNamespacedConfigMap({ namespace: req.namespace, name: 'backup-recipients' }),
  );
  return { recipients: parseRecipients(cm?.data?.recipients ?? ''), source: where };
}

export function verificationActivities(deps: ActivityDeps) {
  return {
    compareRestoredBackup: (req: CompareRequest) => compareRestoredBackup(deps, req),
    prepareScratchNamespace: (req: { name: string; owner: string }) => prepareScratchNamespace(deps, req),
    deleteScratchNamespace: (req: { name: string; owner: string; timeoutSeconds: number }) =>
      deleteScratchNamespace(deps, req),
    defaultBackupRecipients: (req: { namespace: string }) => defaultBackupRecipients(deps, req),
  };
}
