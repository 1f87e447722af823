// The backup and restore activities. Key material (the HMAC key, the age identity) is resolved here
// from references and never returned; recipients are public keys.
import type { BackupKind, BackupPlan, BackupSummary, KindRestoreResult, RestorePlan, Retention, VerifiedBackup } from '../../workflows/types/backup.ts';
import type { SecretSource } from '../../workflows/types/secret-ref.ts';
import type { ActivityDeps } from '../deps.ts';
import type { HelmDeps } from '../helm/deps.ts';
import { helmStatus } from '../helm/release.ts';
import { resolveSecretSource } from '../kube/secrets.ts';
import { kubeCall } from '../errors.ts';
import { parseRecipients } from './age.ts';
import { countTaskRuns, readConfigMaps, readCrd, readSecrets, volumeSnapshotPlan, type CaptureScope } from './capture.ts';
import { countRestored, planRestore, restoreKind, verifyBackup, type BackupRef } from './restore.ts';
import { applyRetention, backupIdFor, storeRoot } from './store.ts';
import { writeBackup } from './write.ts';

export interface BackupRequest extends CaptureScope {
  workflowId: string;
  release: string;
  recipients: string[];
  recipientsFrom?: { configMap: { name: string; key: string; namespace?: string } };
  hmacKey: SecretSource;
}

async function recipientsOf(deps: ActivityDeps, req: BackupRequest): Promise<string[]> {
  const from = req.recipientsFrom?.configMap;
  if (!from) return req.recipients;
  const namespace = from.namespace ?? req.namespace;
  const cm = await kubeCall(`read ConfigMap ${namespace}/${from.name} (age recipients)`, () => deps.kube.core.readNamespacedConfigMap({ namespace, name: from.name }));
  return [...req.recipients, ...parseRecipients(cm.data?.[from.key] ?? '')];
}

export function backupActivities(deps: ActivityDeps, helm: HelmDeps) {
  return {
    /** Read-only: what a backup will capture (counts), the Helm release, and whether PVCs can be snapshotted. */
    async planBackup(req: CaptureScope & { release: string }): Promise<BackupPlan> {
      const { kube } = deps;
      const [crds, secrets, configMaps, taskRuns, status, volumeSnapshots] = await Promise.all([
        req.include.crds ? readCrd(kube) : undefined,
        req.include.secrets || req.include.helmReleases ? readSecrets(kube, req) : undefined,
        req.include.configMaps ? readConfigMaps(kube, req) : undefined,
        req.include.taskRuns ? countTaskRuns(kube, req) : undefined,
        req.include.helmReleases ? helmStatus(helm, { release: req.release, namespace: req.namespace }) : null,
        volumeSnapshotPlan(kube, req.namespace),
      ]);
      const counts: BackupPlan['counts'] = {
        ...(crds ? { crds: crds.length } : {}),
        ...(secrets && req.include.secrets ? { secrets: secrets.secrets.length } : {}),
        ...(secrets && req.include.helmReleases ? { helmReleases: secrets.helmReleases.length } : {}),
        ...(configMaps ? { configMaps: configMaps.length } : {}),
        ...(taskRuns !== undefined ? { taskRuns } : {}),
      };
      return {
        namespace: req.namespace, counts,
        helmRelease: status ? { name: status.name, revision: status.revision, chart: status.chart, chartVersion: status.chartVersion } : null,
        volumeSnapshots,
      };
    },

    /** Captures and writes the backup (id derived from the workflow ID); reuses a complete one. */
    async writeBackup(req: BackupRequest): Promise<BackupSummary> {
      const hmacKey = await resolveSecretSource(deps.kube, req.hmacKey, req.namespace);
      const recipients = await recipientsOf(deps, req);
      return writeBackup(deps, helm, hmacKey, { ...req, backupId: backupIdFor(req.workflowId), recipients });
    },

    /** Deletes backups beyond keepLast / older than maxAgeDays; never the one just written. */
    async applyBackupRetention(req: { policy: Retention; protect?: string }): Promise<{ kept: string[]; deleted: string[] }> {
      const result = await applyRetention(storeRoot(deps), req.policy, req.protect);
      if (result.deleted.length) deps.logger.info({ deleted: result.deleted }, 'backups deleted by retention');
      return result;
    },

    verifyBackup: (req: BackupRef): Promise<VerifiedBackup> => verifyBackup(deps, req),
    planRestore: (req: BackupRef & { targetNamespace?: string; existing: 'skip' | 'update' }): Promise<RestorePlan> => planRestore(deps, req),
    restoreKind: (req: BackupRef & { kind: BackupKind; targetNamespace: string; existing: 'skip' | 'update' }): Promise<KindRestoreResult> => restoreKind(deps, req),
    countRestored: (req: BackupRef & { targetNamespace: string }) => countRestored(deps, req),
  };
}

export { backupIdFor };
