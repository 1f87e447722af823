// The mocked restorePlatform activities that the workflow tests of restorePlatform and backupAndVerify
// share: the backup restored is one of BACKUP_COUNTS (test/helpers/backup-mocks.ts).
import { BACKUP_COUNTS } from './backup-mocks.ts';

/** planRestore's kinds: each kind of BACKUP_COUNTS the restore includes, all to be created. */
export function plannedRestoreKinds(include: Record<string, boolean>) {
  return Object.entries(BACKUP_COUNTS)
    .filter(([k]) => include[k])
    .map(([kind, total]) => ({ kind, total, existing: 0, action: 'create' }));
}

/** restorePlatform's writes and count, mocked: every object of an included kind is created, then found. */
export function restoredObjectsMocks() {
  return {
    restoreKind: async (arg: { kind: keyof typeof BACKUP_COUNTS }) => ({
      kind: arg.kind,
      created: BACKUP_COUNTS[arg.kind],
      updated: 0,
      skipped: 0,
    }),
    waitCrdsEstablished: async () => undefined,
    countRestored: async (arg: { include: Record<string, boolean> }) =>
      Object.entries(BACKUP_COUNTS)
        .filter(([k]) => arg.include[k])
        .map(([kind, n]) => ({ kind, expected: n, found: n })),
  };
}
