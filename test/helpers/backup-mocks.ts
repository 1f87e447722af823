// The mocked backupPlatform activities that several workflow tests share (backupPlatform and
// backupAndVerify on their own, upgradePlatform's pre-upgrade backup in the workflow and Web UI tests).
import type { BackupSummary } from '../../contract/types/backup.ts';

/** An age recipient (public key) for backup inputs; no test decrypts what the mocks "write". */
export const TEST_RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

/** Objects per kind in the mocked orchestrator namespace. */
export const BACKUP_COUNTS = { crds: 1, secrets: 2, helmReleases: 1, configMaps: 1, taskRuns: 3 };

/** writeBackup's summary of a new backup of BACKUP_COUNTS named after the workflow; `over` changes single fields. */
export function writtenBackup(arg: { workflowId: string }, over: Partial<BackupSummary> = {}): BackupSummary {
  return {
    id: arg.workflowId,
    dir: `/b/${arg.workflowId}`,
    createdAt: '2026-11-26T02:00:00Z',
    cluster: 'https://k',
    namespace: 'orchestrator',
    counts: BACKUP_COUNTS,
    files: [],
    reused: false,
    bytes: 100,
    ...over,
  };
}

/** The pre-upgrade backup's activities: no default recipients, a plan without Helm release or PVCs, a written backup. */
export function preUpgradeBackupMocks() {
  return {
    defaultBackupRecipients: async () => ({
      recipients: [],
      source: 'ConfigMap orchestrator/backup-recipients (key recipients)',
    }),
    planBackup: async () => ({
      namespace: 'orchestrator',
      counts: BACKUP_COUNTS,
      helmRelease: null,
      volumeSnapshots: { pvcs: 0, snapshotted: 0 },
    }),
    writeBackup: async (arg: { workflowId: string }) => writtenBackup(arg),
  };
}
