// upgradePlatform: input schema, the operator's decision, and the report.
import { z } from 'zod';
import { httpUrl, k8sName } from './common.ts';
import { chartSchema, DEFAULT_CHART } from './deploy.ts';
import { backupPlatformInputSchema, type BackupKind, type BackupPlatformOptions } from './backup.ts';
import type { HealthCheckReport } from './platform-health.ts';
import { leaseOptionsSchema } from './lease.ts';

/** The longest a paused upgrade waits for an operator's decision: 7 days. */
export const MAX_DECISION_TIMEOUT_SECONDS = 7 * 24 * 3600;

// backupPlatform's input without namespace/release (always the upgrade's own). The rule "Secrets need
// age recipients" is checked below with backupPlatform's own schema, so both agree.
const { namespace: _namespace, release: _release, ...backupShape } = backupPlatformInputSchema.shape;
export const upgradeBackupSchema = z.object(backupShape).strict();
export type UpgradeBackupOptions = Omit<BackupPlatformOptions, 'namespace' | 'release'>;

export const upgradePlatformInputSchema = z
  .object({
    namespace: k8sName.default('orchestrator'),
    release: k8sName.default('orchestrator'),
    chart: chartSchema.default(DEFAULT_CHART),
    /** New orchestrator image tag (sets values image.tag). */
    imageTag: z
      .string()
      .regex(/^[\w][\w.-]{0,127}$/, 'must be a valid image tag')
      .optional(),
    /** Values merged over the release's current values. */
    values: z.record(z.string(), z.unknown()).default({}),
    valuesFiles: z.array(z.string().min(1)).default([]),
    /** What to do when the rollout or the smoke test fails. */
    onFailure: z.enum(['pause', 'rollback']).default('pause'),
    /** How long a paused upgrade waits for an operator's decision before it rolls back (at most 7 days). */
    decisionTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(MAX_DECISION_TIMEOUT_SECONDS, 'must be at most 604800 (7 days)')
      .default(24 * 3600),
    smokeTest: z
      .object({
        skip: z.boolean().default(false),
        /** Probe this URL instead of /health through the API server's service proxy. */
        healthUrl: httpUrl.optional(),
      })
      .strict()
      .default({ skip: false }),
    timeouts: z
      .object({ rolloutSeconds: z.number().int().min(1).max(7200).default(300) })
      .strict()
      .default({ rolloutSeconds: 300 }),
    /**
     * The pre-upgrade backup: backupPlatform runs as a child workflow (id `<upgrade workflow id>-backup`,
     * so a re-run upgrade reuses its backup) before helm touches anything; a failed backup stops the upgrade.
     * - omitted (default): the nightly backup's recipients are used when some are configured (the worker's
     *   RUNBOOK_BACKUP_RECIPIENTS, else the ConfigMap backup-recipients, key recipients, in the release's
     *   namespace); with none configured, no backup is taken and the report says why.
     * - `{recipients | recipientsFrom, include, labelSelector, retention, timeoutSeconds}`:
     *   backupPlatform's input for the release's namespace; validated up front (Secrets need recipients).
     *   The HMAC key is the worker's (--backup-hmac-key), never an input.
     * - `false`: no backup (only the revision to roll back to is recorded).
     */
    backup: z.union([z.literal(false), upgradeBackupSchema]).optional(),
    /** The maintenance lease (maintenanceLease): wait in line (default) or fail at once when taken. */
    lease: leaseOptionsSchema.default({ wait: true, priority: 0 }),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (!v.backup) return;
    const parsed = backupPlatformInputSchema.safeParse({ ...v.backup, namespace: v.namespace, release: v.release });
    // Field errors are reported by upgradeBackupSchema itself; this adds backupPlatform's cross-field rules.
    for (const issue of parsed.success
      ? []
      : parsed.error.issues.filter((i) => i.code === 'custom' && i.path[0] !== 'hmacKey')) {
      ctx.addIssue({
        code: 'custom',
        path: ['backup', ...issue.path.filter((p) => typeof p !== 'symbol')],
        message: issue.message,
      });
    }
  });

export type UpgradePlatformInput = z.input<typeof upgradePlatformInputSchema>;
export type UpgradePlatformOptions = z.output<typeof upgradePlatformInputSchema>;

export const DECISION_ACTIONS = ['retry', 'rollback', 'abort'] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];

/** The operator's decision on a paused upgrade (Workflow Update `decide`); parsed by its synchronous validator. */
export const decisionSchema = z.object({
  action: z.enum(DECISION_ACTIONS, `must be one of ${DECISION_ACTIONS.join(', ')}`),
  /** Who decided (shown in the report). */
  by: z.string().trim().min(1, "the operator's identity is required"),
  reason: z.string().optional(),
});
export type Decision = z.infer<typeof decisionSchema>;

export interface RevisionRecord {
  revision: number;
  action: 'upgrade' | 'rollback' | 'recover';
  detail: string;
}

export type UpgradePhase = 'running' | 'paused' | 'rolling-back' | 'succeeded' | 'rolled-back' | 'aborted';

export interface UpgradeState {
  phase: UpgradePhase;
  /** Why it paused or rolled back. */
  failure?: string;
  /** ISO time when a paused upgrade rolls back on its own. */
  decisionDeadline?: string;
  decisions: (Decision & { at: string })[];
}

export interface UpgradeReport {
  runbook: 'upgradePlatform';
  outcome: 'succeeded' | 'rolled-back' | 'aborted';
  release: string;
  namespace: string;
  /** The revision before the upgrade: what a rollback returns to. */
  previous: { revision: number; chart: string; status: string };
  /** Stuck release found and recovered in pre-flight, if any. */
  recovery?: { previousStatus: string | null; action: string; revision?: number };
  target: { imageTag?: string; digest?: string };
  /** Every revision this runbook created, in order. */
  revisions: RevisionRecord[];
  failures: string[];
  decisions: (Decision & { at: string })[];
  final: { revision: number; status: string };
  /**
   * The backup taken before the upgrade (what a restore would use; a rollback returns to `previous.revision`),
   * or why none was taken. Absent in upgrades recorded before the pre-upgrade backup existed.
   */
  backup?: UpgradeBackupRecord;
  /** The last smoke test's verdict (judgeHealthProbe): ok, which probe answered, the version it reported. */
  smokeTest?: HealthCheckReport;
}

export type UpgradeBackupRecord =
  | {
      backupId: string;
      workflowId: string;
      counts: Partial<Record<BackupKind, number>>;
      reused: boolean;
      createdAt: string;
    }
  | { skipped: string };
