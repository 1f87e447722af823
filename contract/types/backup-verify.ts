// backupAndVerify: the nightly backup followed by a verification restore into a scratch namespace.
// Input schema, the comparison of the restored objects with the backup, and the report.
import { z } from 'zod';
import { k8sName } from './common.ts';
import {
  backupPlatformInputSchema,
  CLUSTER_NAMESPACES,
  workerKeyField,
  type BackupKind,
  type BackupSummary,
  type RetentionResult,
} from './backup.ts';

/** Namespaces that are never used as a scratch namespace (it is deleted at the end). */
const RESERVED_NAMESPACES = CLUSTER_NAMESPACES;

export const backupAndVerifyInputSchema = z
  .object({
    /** backupPlatform's input: the child workflow `<this workflow id>-backup` takes the backup (its id). */
    backup: backupPlatformInputSchema.prefault({}),
    verify: z
      .object({
        /** false: only the backup (as backupPlatform alone). */
        enabled: z.boolean().default(true),
        /**
         * Where the test restore goes; created with an owner label and always deleted at the end (an existing
         * namespace without that label is refused). Default: `<backup namespace>-verify-<hash of the workflow id>`.
         */
        scratchNamespace: k8sName.optional(),
        /**
         * Also restore the Helm release into the scratch namespace: restorePlatform then applies the release's
         * objects too, i.e. starts a second copy of the platform's workloads (with its Secrets) there until the
         * namespace is deleted. Default false: Secrets, ConfigMaps and TaskRuns are verified, the Helm release
         * records are not.
         */
        helmRelease: z.boolean().default(false),
        /** Not an input: the age identity that decrypts the backup's Secrets is the worker's (--backup-identity). */
        identity: workerKeyField('identity'),
        /** Bound of the restore's activities and of the scratch namespace's deletion. */
        timeoutSeconds: z.number().int().min(10).max(86_400).default(1800),
      })
      .strict()
      .default({ enabled: true, helmRelease: false, timeoutSeconds: 1800 }),
  })
  .strict()
  .superRefine((v, ctx) => {
    const scratch = v.verify.scratchNamespace;
    if (scratch === undefined) return;
    if (scratch === v.backup.namespace)
      ctx.addIssue({
        code: 'custom',
        path: ['verify', 'scratchNamespace'],
        message: 'must differ from backup.namespace (the scratch namespace is deleted at the end)',
      });
    if (RESERVED_NAMESPACES.includes(scratch))
      ctx.addIssue({
        code: 'custom',
        path: ['verify', 'scratchNamespace'],
        message: `must not be one of ${RESERVED_NAMESPACES.join(', ')}`,
      });
  });
export type BackupAndVerifyInput = z.input<typeof backupAndVerifyInputSchema>;
export type BackupAndVerifyOptions = z.output<typeof backupAndVerifyInputSchema>;

/** One kind: the backup's objects against the restored ones (by name and content sha256). */
export interface KindComparison {
  kind: BackupKind;
  /** Objects in the backup, in the scratch namespace, and equal in both. */
  backup: number;
  restored: number;
  matching: number;
  /** Names (at most 10 each): in the backup but not restored, restored with other content, restored but not in the backup. */
  missing: string[];
  differing: string[];
  extra: string[];
  equal: boolean;
  /** The live source namespace now, against the backup (changes since it was taken; informational). */
  source: { count: number; changedSinceBackup: number; addedSinceBackup: number; removedSinceBackup: number };
}

export interface RestoreComparison {
  backupId: string;
  sourceNamespace: string;
  targetNamespace: string;
  kinds: KindComparison[];
  /** Every compared kind is equal. */
  equal: boolean;
}

export interface BackupVerifyReport {
  runbook: 'backupAndVerify';
  /** verified: restored and equal; backed-up: verification disabled. A mismatch fails the workflow (BackupVerifyMismatch, this report in its details). */
  outcome: 'verified' | 'backed-up' | 'mismatch';
  backupId: string;
  backup: {
    workflowId: string;
    counts: BackupSummary['counts'];
    reused: boolean;
    createdAt: string;
    retention?: RetentionResult;
  };
  verification?: {
    restoreWorkflowId: string;
    scratchNamespace: string;
    comparison: RestoreComparison;
    /** The scratch namespace was deleted (false: it was already gone). */
    cleanup: { deleted: boolean };
  };
}
