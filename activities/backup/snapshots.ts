// VolumeSnapshots of the namespace's PVCs (CSI snapshot API, snapshot.storage.k8s.io/v1): which class,
// deterministic names (a retried run creates none twice), create-or-get, wait for readyToUse;
// recreating PVCs from them on restore; deleting them with the backups retention deletes.
import { createHash } from 'node:crypto';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { INVALID_INPUT } from '../../contract/failures.ts';
import {
  type VolumeSnapshotPlan,
  type VolumeSnapshotRecord,
  type VolumesPlan,
  type VolumesResult,
} from '../../contract/types/backup.ts';
import { VOLUME_SNAPSHOT_FAILED } from '../../contract/failures.ts';
import { heartbeat, pollUntil } from '../activity-context.ts';
import { isStatus, kubeCall, toKubeFailure } from '../errors.ts';
import { crdExists } from '../kube/exists.ts';
import type { KubeClients } from '../kube/client.ts';
import { listAllPages, PAGE_SIZE } from '../kube/paginate.ts';

export const SNAPSHOT_GROUP = 'snapshot.storage.k8s.io';
export const SNAPSHOT_VERSION = 'v1';
export const DEFAULT_CLASS_ANNOTATION = 'snapshot.storage.kubernetes.io/is-default-class';
/** Label on every VolumeSnapshot a backup takes (value: labelValue(backup id)); retention selects by it. */
export const BACKUP_ID_LABEL = 'platform-runbooks.io/backup-id';
/** The full backup id (a label value holds at most 63 characters). */
export const BACKUP_ID_ANNOTATION = 'platform-runbooks.io/backup-id';

const shortHash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 8);

/**
 * The VolumeSnapshot name of a PVC in a backup: readable, at most 63 characters, a valid object name,
 * and unique per (backup id, PVC) through a hash of both (backup ids may hold upper case and dots).
 */
export function snapshotName(backupId: string, pvc: string): string {
  const readable = `${backupId}-${pvc}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 54)
    .replace(/-+$/, '');
  return `${readable || 'backup'}-${shortHash(`${backupId}\0${pvc}`)}`;
}

/** A label value naming the backup (<= 63 characters, alphanumeric at both ends). */
export function backupLabelValue(backupId: string): string {
  if (/^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/.test(backupId)) return backupId;
  const safe = backupId
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 54)
    .replace(/[^A-Za-z0-9]+$/, '');
  return `${safe || 'backup'}-${shortHash(backupId)}`;
}

export interface SnapshotClassInfo {
  name: string;
  annotations?: Record<string, string>;
}

/**
 * Which VolumeSnapshotClass to use: the one named in the input (it must exist), else the one annotated
 * as the default, else the only one. Anything else is a reason to skip, said in words.
 */
export function selectSnapshotClass(
  classes: SnapshotClassInfo[],
  requested?: string,
): { name: string } | { skippedReason: string } {
  if (requested) {
    if (classes.some((c) => c.name === requested)) return { name: requested };
    throw ApplicationFailure.create({
      type: INVALID_INPUT,
      nonRetryable: true,
      message: `volumeSnapshotClass: VolumeSnapshotClass ${requested} does not exist (classes: ${classes.map((c) => c.name).join(', ') || 'none'})`,
    });
  }
  if (!classes.length) return { skippedReason: 'no VolumeSnapshotClass exists' };
  const defaults = classes.filter((c) => c.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true');
  if (defaults.length === 1) return { name: defaults[0]!.name };
  if (defaults.length > 1)
    return {
      skippedReason: `${defaults.length} VolumeSnapshotClasses are marked as the default (${defaults.map((c) => c.name).join(', ')}): name one in volumeSnapshotClass`,
    };
  if (classes.length === 1) return { name: classes[0]!.name };
  return {
    skippedReason: `${classes.length} VolumeSnapshotClasses and none is the default (${classes.map((c) => c.name).join(', ')}): name one in volumeSnapshotClass`,
  };
}

async function listPvcs(kube: KubeClients, namespace: string): Promise<V1PersistentVolumeClaim[]> {
  return kubeCall(`list PVCs in ${namespace}`, () =>
    listAllPages((cont) =>
      kube.core.listNamespacedPersistentVolumeClaim({ namespace, limit: PAGE_SIZE, _continue: cont }),
    ),
  );
}

const snapshotApi = { group: SNAPSHOT_GROUP, version: SNAPSHOT_VERSION };

/** Read-only: how many PVCs, whether they can be snapshotted, and with which class (or why not). */
export async function volumeSnapshotPlan(
  kube: KubeClients,
  namespace: string,
  requestedClass?: string,
): Promise<VolumeSnapshotPlan> {
  const pvcs = (await listPvcs(kube, namespace)).length;
  if (!(await crdExists(kube, `volumesnapshots.${SNAPSHOT_GROUP}`))) {
    if (requestedClass)
      throw classless(requestedClass, 'there is no VolumeSnapshot CRD (snapshot.storage.k8s.io) on this cluster');
    return { pvcs, snapshotted: 0, skippedReason: 'no VolumeSnapshot CRD (snapshot.storage.k8s.io) on this cluster' };
  }
  if (!(await crdExists(kube, `volumesnapshotclasses.${SNAPSHOT_GROUP}`))) {
    if (requestedClass) throw classless(requestedClass, 'there is no VolumeSnapshotClass CRD on this cluster');
    return { pvcs, snapshotted: 0, skippedReason: 'no VolumeSnapshotClass CRD on this cluster' };
  }
  const list = (await kubeCall('list VolumeSnapshotClasses', () =>
    kube.custom.listClusterCustomObject({ ...snapshotApi, plural: 'volumesnapshotclasses' }),
  )) as { items: { metadata?: { name?: string; annotations?: Record<string, string> } }[] };
  const classes = list.items.map((c) => ({
    name: c.metadata?.name ?? '',
    ...(c.metadata?.annotations ? { annotations: c.metadata.annotations } : {}),
  }));
  const selected = selectSnapshotClass(classes, requestedClass);
  if ('skippedReason' in selected) return { pvcs, snapshotted: 0, skippedReason: selected.skippedReason };
  if (!pvcs)
    return { pvcs, snapshotted: 0, volumeSnapshotClass: selected.name, skippedReason: `no PVC in ${namespace}` };
  return { pvcs, snapshotted: 0, volumeSnapshotClass: selected.name };
}

const classless = (name: string, why: string) =>
  ApplicationFailure.create({
    type: INVALID_INPUT,
    nonRetryable: true,
    message: `volumeSnapshotClass: ${name} was named, but ${why}`,
  });

interface SnapshotObject {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: { source?: { persistentVolumeClaimName?: string }; volumeSnapshotClassName?: string };
  status?: { readyToUse?: boolean; restoreSize?: string; error?: { message?: string } };
}

export interface SnapshotRequest {
  backupId: string;
  namespace: string;
  volumeSnapshotClass: string;
  timeoutSeconds: number;
}

/** The VolumeSnapshot body of one PVC. */
export function snapshotBody(
  req: Pick<SnapshotRequest, 'backupId' | 'namespace' | 'volumeSnapshotClass'>,
  pvc: string,
): SnapshotObject & { apiVersion: string; kind: string } {
  return {
    apiVersion: `${SNAPSHOT_GROUP}/${SNAPSHOT_VERSION}`,
    kind: 'VolumeSnapshot',
    metadata: {
      name: snapshotName(req.backupId, pvc),
      namespace: req.namespace,
      labels: {
        [BACKUP_ID_LABEL]: backupLabelValue(req.backupId),
        'app.kubernetes.io/managed-by': 'platform-runbooks',
      },
      annotations: { [BACKUP_ID_ANNOTATION]: req.backupId },
    },
    spec: { volumeSnapshotClassName: req.volumeSnapshotClass, source: { persistentVolumeClaimName: pvc } },
  };
}

/** Creates (or finds, on 409) one VolumeSnapshot per Bound PVC, waits until all are readyToUse. */
export async function snapshotVolumes(kube: KubeClients, req: SnapshotRequest): Promise<VolumeSnapshotPlan> {
  const pvcs = await listPvcs(kube, req.namespace);
  const skippedPvcs: { pvc: string; reason: string }[] = [];
  const records: VolumeSnapshotRecord[] = [];
  for (const pvc of pvcs) {
    const name = pvc.metadata?.name ?? '';
    if (pvc.metadata?.deletionTimestamp) {
      skippedPvcs.push({ pvc: name, reason: 'being deleted' });
      continue;
    }
    if (pvc.status?.phase !== 'Bound') {
      skippedPvcs.push({ pvc: name, reason: `not Bound (${pvc.status?.phase ?? 'no phase'}): nothing to snapshot` });
      continue;
    }
    const body = snapshotBody(req, name);
    const what = `create VolumeSnapshot ${req.namespace}/${body.metadata!.name}`;
    try {
      await kube.custom.createNamespacedCustomObject({
        ...snapshotApi,
        plural: 'volumesnapshots',
        namespace: req.namespace,
        body,
      });
    } catch (err) {
      if (!isStatus(err, 409)) throw toKubeFailure(err, what);
      // Created by an earlier attempt of this backup: it must be the snapshot of the same PVC.
      const existing = await readSnapshot(kube, req.namespace, body.metadata!.name!);
      if (existing?.spec?.source?.persistentVolumeClaimName !== name) {
        throw ApplicationFailure.create({
          type: VOLUME_SNAPSHOT_FAILED,
          nonRetryable: true,
          message: `${what}: a VolumeSnapshot of that name exists with another source (${existing?.spec?.source?.persistentVolumeClaimName ?? 'none'})`,
        });
      }
    }
    heartbeat({ snapshot: body.metadata!.name });
    records.push({
      name: body.metadata!.name!,
      namespace: req.namespace,
      pvc: name,
      size: pvc.spec?.resources?.requests?.storage ?? pvc.status?.capacity?.storage ?? '',
      storageClass: pvc.spec?.storageClassName ?? null,
      accessModes: pvc.spec?.accessModes ?? [],
      ...(pvc.spec?.volumeMode ? { volumeMode: pvc.spec.volumeMode } : {}),
      volumeSnapshotClass: req.volumeSnapshotClass,
      readyToUse: false,
    });
  }
  if (records.length) await waitReady(kube, req, records);
  return {
    pvcs: pvcs.length,
    snapshotted: records.length,
    volumeSnapshotClass: req.volumeSnapshotClass,
    snapshots: records,
    ...(skippedPvcs.length ? { skippedPvcs } : {}),
  };
}

async function readSnapshot(kube: KubeClients, namespace: string, name: string): Promise<SnapshotObject | undefined> {
  try {
    return (await kube.custom.getNamespacedCustomObject({
      ...snapshotApi,
      plural: 'volumesnapshots',
      namespace,
      name,
    })) as SnapshotObject;
  } catch (err) {
    if (isStatus(err, 404)) return undefined;
    throw toKubeFailure(err, `read VolumeSnapshot ${namespace}/${name}`);
  }
}

/** Polls until every snapshot is readyToUse (records are updated in place); an error status fails at once. */
async function waitReady(kube: KubeClients, req: SnapshotRequest, records: VolumeSnapshotRecord[]): Promise<void> {
  await pollUntil({
    what: 'VolumeSnapshots readyToUse',
    timeoutMs: req.timeoutSeconds * 1000,
    intervalMs: 1000,
    check: async () => {
      for (const r of records.filter((x) => !x.readyToUse)) {
        const s = await readSnapshot(kube, req.namespace, r.name);
        if (!s)
          throw ApplicationFailure.create({
            type: VOLUME_SNAPSHOT_FAILED,
            nonRetryable: false,
            message: `VolumeSnapshot ${req.namespace}/${r.name} disappeared while waiting for it`,
          });
        if (s.status?.error?.message && !s.status.readyToUse) {
          throw ApplicationFailure.create({
            type: VOLUME_SNAPSHOT_FAILED,
            nonRetryable: true,
            message: `VolumeSnapshot ${req.namespace}/${r.name} (PVC ${r.pvc}): ${s.status.error.message}`,
          });
        }
        if (s.status?.readyToUse === true) {
          r.readyToUse = true;
          if (s.status.restoreSize) r.restoreSize = s.status.restoreSize;
        }
      }
      const waiting = records.filter((x) => !x.readyToUse).map((x) => x.name);
      return waiting.length ? { progress: { waitingFor: waiting } } : { done: undefined };
    },
    onTimeout: (last) =>
      ApplicationFailure.create({
        type: VOLUME_SNAPSHOT_FAILED,
        nonRetryable: true,
        message: `VolumeSnapshots not readyToUse after ${req.timeoutSeconds}s: ${((last as { waitingFor?: string[] } | undefined)?.waitingFor ?? []).join(', ')}`,
      }),
  });
}

/** The PVC recreated from a snapshot record, in the target namespace. */
export function pvcFromSnapshot(r: VolumeSnapshotRecord, namespace: string) {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: r.pvc, namespace },
    spec: {
      accessModes: r.accessModes.length ? r.accessModes : ['ReadWriteOnce'],
      resources: { requests: { storage: r.size || r.restoreSize || '1Gi' } },
      ...(r.storageClass !== null ? { storageClassName: r.storageClass } : {}),
      ...(r.volumeMode ? { volumeMode: r.volumeMode } : {}),
      dataSource: { apiGroup: SNAPSHOT_GROUP, kind: 'VolumeSnapshot', name: r.name },
    },
  } satisfies V1PersistentVolumeClaim;
}

/** Read-only: which PVCs a restore would recreate, which exist, and which snapshots are gone. */
export async function planVolumes(
  kube: KubeClients,
  snapshots: VolumeSnapshotRecord[],
  targetNamespace: string,
): Promise<VolumesPlan> {
  // A namespace that does not exist (yet) lists no PVCs.
  const existingPvcs = new Set((await listPvcs(kube, targetNamespace)).map((p) => p.metadata?.name ?? ''));
  const snapshotApiThere = await crdExists(kube, `volumesnapshots.${SNAPSHOT_GROUP}`);
  const unavailable: VolumesPlan['unavailable'] = [];
  let existing = 0;
  for (const r of snapshots) {
    if (existingPvcs.has(r.pvc)) {
      existing++;
      continue;
    }
    if (r.namespace !== targetNamespace) {
      unavailable.push({
        pvc: r.pvc,
        snapshot: `${r.namespace}/${r.name}`,
        reason: `the snapshot is in ${r.namespace}; a PVC's dataSource names a VolumeSnapshot of its own namespace`,
      });
    } else if (!snapshotApiThere || !(await readSnapshot(kube, r.namespace, r.name))) {
      unavailable.push({
        pvc: r.pvc,
        snapshot: `${r.namespace}/${r.name}`,
        reason: 'the VolumeSnapshot no longer exists',
      });
    }
  }
  return { total: snapshots.length, existing, unavailable };
}

/** Recreates the missing PVCs from their snapshots; existing PVCs are skipped, unusable snapshots reported. */
export async function restoreVolumes(
  kube: KubeClients,
  snapshots: VolumeSnapshotRecord[],
  targetNamespace: string,
): Promise<VolumesResult> {
  const plan = await planVolumes(kube, snapshots, targetNamespace);
  const unavailable = new Set(plan.unavailable.map((u) => u.pvc));
  const result: VolumesResult = { created: [], skipped: [], unavailable: plan.unavailable };
  for (const r of snapshots) {
    if (unavailable.has(r.pvc)) continue;
    try {
      await kube.core.createNamespacedPersistentVolumeClaim({
        namespace: targetNamespace,
        body: pvcFromSnapshot(r, targetNamespace),
        fieldManager: 'platform-runbooks',
      });
      result.created.push(r.pvc);
    } catch (err) {
      if (!isStatus(err, 409))
        throw toKubeFailure(err, `create PVC ${targetNamespace}/${r.pvc} from VolumeSnapshot ${r.name}`);
      result.skipped.push(r.pvc);
    }
    heartbeat({ pvc: r.pvc });
  }
  return result;
}

/** Deletes the VolumeSnapshots of the given backups (by their label, in every namespace). */
export async function deleteBackupSnapshots(kube: KubeClients, backupIds: string[]): Promise<string[]> {
  if (!backupIds.length || !(await crdExists(kube, `volumesnapshots.${SNAPSHOT_GROUP}`))) return [];
  const deleted: string[] = [];
  for (const id of backupIds) {
    const list = (await kubeCall(`list VolumeSnapshots of backup ${id}`, () =>
      kube.custom.listClusterCustomObject({
        ...snapshotApi,
        plural: 'volumesnapshots',
        labelSelector: `${BACKUP_ID_LABEL}=${backupLabelValue(id)}`,
      }),
    )) as { items: SnapshotObject[] };
    for (const s of list.items) {
      // The label value is shortened for long ids: the annotation holds the full id.
      if (s.metadata?.annotations?.[BACKUP_ID_ANNOTATION] !== id) continue;
      const { name = '', namespace = '' } = s.metadata;
      try {
        await kube.custom.deleteNamespacedCustomObject({ ...snapshotApi, plural: 'volumesnapshots', namespace, name });
      } catch (err) {
        if (!isStatus(err, 404)) throw toKubeFailure(err, `delete VolumeSnapshot ${namespace}/${name}`);
      }
      deleted.push(`${namespace}/${name}`);
    }
  }
  return deleted;
}
