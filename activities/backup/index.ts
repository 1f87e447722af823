// The backup and restore activities. Key material (the HMAC key, the age identity) is the worker's
// configuration (deps.backupKeys, never an input), resolved here and never returned; recipients are public keys.
import type {
  BackupKind,
  BackupPlan,
  BackupSummary,
  HelmObjectsResult,
  KindRestoreResult,
  RestoreCheckKind,
  RestorePlan,
  Retention,
  RetentionResult,
  VerifiedBackup,
  VolumeSnapshotPlan,
  VolumesResult,
} from '../../contract/types/backup.ts';
import type { ActivityDeps } from '../deps.ts';
import type { HelmDeps } from '../helm/deps.ts';
import { helmStatus } from '../helm/release.ts';
import { kubeCall } from '../errors.ts';
import { parseRecipients } from './age.ts';
import { resolveHmacKey } from './keys.ts';
import { countTaskRuns, readConfigMaps, readCrd, readSecrets, type CaptureScope } from './capture.ts';
import { applyHelmObjects, countHelmObjects, planHelmObjects } from './helm-objects.ts';
import { countRestored, loadKind, open, planRestore, restoreKind, verifyBackup, type BackupRef } from './restore.ts';
import {
  deleteBackupSnapshots,
  planVolumes,
  restoreVolumes,
  snapshotVolumes,
  volumeSnapshotPlan,
} from './snapshots.ts';
import { backupIdFor, deleteBackups, planRetention, recordVerification, storeRoot } from './store.ts';
import { writeBackup } from './write.ts';

export interface BackupRequest extends CaptureScope {
  workflowId: string;
  release: string;
  recipients: string[];
  recipientsFrom?: { configMap: { name: string; key: string; namespace?: string } };
  /** The schedule or runbook that takes it (recorded in the manifest: retention acts on one series). */
  series?: string;
  /** The snapshot step's result, for the manifest. */
  volumeSnapshots?: VolumeSnapshotPlan;
}

type TargetRef = BackupRef & { targetNamespace: string };

/** The backup's release records (decrypted) and its source namespace; none when excluded or absent. */
async function releaseRecords(deps: ActivityDeps, ref: BackupRef) {
  const { dir, manifest } = await open(deps, ref);
  if (!ref.include.helmReleases || !manifest.files.some((f) => f.kind === 'helmReleases')) return undefined;
  return { manifest, records: await loadKind(deps, ref, { dir, manifest }, 'helmReleases') };
}

async function recipientsOf(deps: ActivityDeps, req: BackupRequest): Promise<string[]> {
  const from = req.recipientsFrom?.configMap;
  if (!from) return req.recipients;
  const namespace = from.namespace ?? req.namespace;
  const cm = await kubeCall(`read ConfigMap ${namespace}/${from.name} (age recipients)`, () =>
    deps.kube.core.readNamespacedConfigMap({ namespace, name: from.name }),
  );
  return [...req.recipients, ...parseRecipients(cm.data?.[from.key] ?? '')];
}

export function backupActivities(deps: ActivityDeps, helm: HelmDeps) {
  return {
    /** Read-only: what a backup will capture (counts), the Helm release, and whether PVCs can be snapshotted. */
    async planBackup(req: CaptureScope & { release: string; volumeSnapshotClass?: string }): Promise<BackupPlan> {
      const { kube } = deps;
      const [crds, secrets, configMaps, taskRuns, status, volumeSnapshots] = await Promise.all([
        req.include.crds ? readCrd(kube) : undefined,
        req.include.secrets || req.include.helmReleases ? readSecrets(kube, req) : undefined,
        req.include.configMaps ? readConfigMaps(kube, req) : undefined,
        req.include.taskRuns ? countTaskRuns(kube, req) : undefined,
        req.include.helmReleases ? helmStatus(helm, { release: req.release, namespace: req.namespace }) : null,
        volumeSnapshotPlan(kube, req.namespace, req.volumeSnapshotClass),
      ]);
      const counts: BackupPlan['counts'] = {
        ...(crds ? { crds: crds.length } : {}),
        ...(secrets && req.include.secrets ? { secrets: secrets.secrets.length } : {}),
        ...(secrets && req.include.helmReleases ? { helmReleases: secrets.helmReleases.length } : {}),
        ...(configMaps ? { configMaps: configMaps.length } : {}),
        ...(taskRuns !== undefined ? { taskRuns } : {}),
      };
      return {
        namespace: req.namespace,
        counts,
        helmRelease: status
          ? { name: status.name, revision: status.revision, chart: status.chart, chartVersion: status.chartVersion }
          : null,
        volumeSnapshots,
      };
    },

    /** Captures and writes the backup (id derived from the workflow ID); reuses a complete one. */
    async writeBackup(req: BackupRequest): Promise<BackupSummary> {
      const hmacKey = await resolveHmacKey(deps);
      const recipients = await recipientsOf(deps, req);
      return writeBackup(deps, helm, hmacKey, { ...req, backupId: backupIdFor(req.workflowId), recipients });
    },

    /** One VolumeSnapshot per Bound PVC (names from the backup id), created or found, waited for until readyToUse. */
    async snapshotVolumes(req: {
      workflowId: string;
      namespace: string;
      volumeSnapshotClass: string;
      timeoutSeconds: number;
    }): Promise<VolumeSnapshotPlan> {
      return snapshotVolumes(deps.kube, {
        backupId: backupIdFor(req.workflowId),
        namespace: req.namespace,
        volumeSnapshotClass: req.volumeSnapshotClass,
        timeoutSeconds: req.timeoutSeconds,
      });
    },

    /**
     * Deletes backups beyond keepLast / older than maxAgeDays (and their VolumeSnapshots first) of one series:
     * the namespace and series of the backup just written (`protect`, never deleted), as its authenticated
     * manifest says. Backups whose manifest does not authenticate with the worker's HMAC key are never deleted, nor
     * the newest verified backup of the series.
     */
    async applyBackupRetention(req: {
      policy: Retention;
      protect: string;
      namespace: string;
    }): Promise<RetentionResult> {
      const root = storeRoot(deps);
      const now = Date.now();
      const hmacKey = await resolveHmacKey(deps);
      const plan = await planRetention(root, req.policy, { protect: req.protect, hmacKey }, now);
      // Snapshots before directories: a failure in between leaves the backup, to be retried next time.
      const snapshots = await deleteBackupSnapshots(deps.kube, plan.deleted);
      await deleteBackups(root, plan.deleted, now);
      if (plan.deleted.length)
        deps.logger.info(
          { deleted: plan.deleted, series: plan.series, namespace: plan.namespace, volumeSnapshots: snapshots },
          'backups deleted by retention',
        );
      return {
        kept: plan.kept,
        deleted: plan.deleted,
        ...(plan.series !== undefined ? { series: plan.series } : {}),
        ...(snapshots.length ? { volumeSnapshotsDeleted: snapshots } : {}),
      };
    },

    /** Records that a test restore of the backup compared equal (retention then never deletes the newest such backup of its series). */
    async recordBackupVerified(req: {
      backupId: string;
      namespace: string;
      workflowId: string;
    }): Promise<{ backupId: string; verifiedAt: string }> {
      const hmacKey = await resolveHmacKey(deps);
      const record = await recordVerification(storeRoot(deps), req.backupId, hmacKey, req.workflowId);
      return { backupId: record.backupId, verifiedAt: record.verifiedAt };
    },

    verifyBackup: (req: BackupRef): Promise<VerifiedBackup> => verifyBackup(deps, req),
    /** The kinds' plan, plus the Helm release objects and the PVCs to recreate from snapshots. */
    async planRestore(
      req: BackupRef & { targetNamespace?: string; existing: 'skip' | 'update' },
    ): Promise<RestorePlan> {
      const plan = await planRestore(deps, req);
      const helm = await releaseRecords(deps, req);
      const helmObjects = helm
        ? await planHelmObjects(deps.kube, helm.records, helm.manifest.namespace, plan.targetNamespace)
        : undefined;
      const { manifest } = await open(deps, req);
      const snapshots = manifest.volumeSnapshots.snapshots ?? [];
      const volumes = snapshots.length ? await planVolumes(deps.kube, snapshots, plan.targetNamespace) : undefined;
      return { ...plan, ...(helmObjects ? { helmObjects } : {}), ...(volumes ? { volumes } : {}) };
    },
    restoreKind: (
      req: BackupRef & { kind: BackupKind; targetNamespace: string; existing: 'skip' | 'update' },
    ): Promise<KindRestoreResult> => restoreKind(deps, req),

    /** Applies the objects of the restored releases' deployed revisions (server-side apply, field manager "helm"). */
    async restoreHelmObjects(req: TargetRef & { existing: 'skip' | 'update' }): Promise<HelmObjectsResult> {
      const helm = await releaseRecords(deps, req);
      if (!helm) return { releases: [], created: 0, updated: 0, skipped: 0, adopted: 0 };
      return applyHelmObjects(deps.kube, helm.records, helm.manifest.namespace, req.targetNamespace, req.existing);
    },

    /** Recreates the backup's PVCs from their VolumeSnapshots (existing PVCs are skipped; gone snapshots reported). */
    async restoreVolumes(req: TargetRef): Promise<VolumesResult> {
      const { manifest } = await open(deps, req);
      return restoreVolumes(deps.kube, manifest.volumeSnapshots.snapshots ?? [], req.targetNamespace);
    },

    /** Per kind (and for the Helm release objects): expected and found in the target. */
    async countRestored(req: TargetRef): Promise<{ kind: RestoreCheckKind; expected: number; found: number }[]> {
      const counts: { kind: RestoreCheckKind; expected: number; found: number }[] = await countRestored(deps, req);
      const helm = await releaseRecords(deps, req);
      if (helm)
        counts.push({
          kind: 'helmObjects',
          ...(await countHelmObjects(deps.kube, helm.records, helm.manifest.namespace, req.targetNamespace)),
        });
      return counts;
    },
  };
}

export { backupIdFor };
