// Backup manifests for the tests of the backup store (reading, verifying, retention) that write
// manifest.json files of their own instead of taking a backup.
import { FORMAT_VERSION, type Manifest } from '../../activities/backup/manifest.ts';

/** The manifest of an empty backup `id` of the orchestrator namespace (no files, Helm release or snapshots); `over` sets what a test is about. */
export function emptyBackupManifest(id: string, over: Partial<Manifest> = {}): Manifest {
  return {
    formatVersion: FORMAT_VERSION,
    id,
    createdAt: '2026-11-26T02:00:00.000Z',
    cluster: 'https://127.0.0.1:6443',
    namespace: 'orchestrator',
    series: 'backupPlatform',
    counts: {},
    files: [],
    helm: null,
    volumeSnapshots: { pvcs: 0, snapshotted: 0 },
    recipients: [],
    tools: {},
    ...over,
  };
}
