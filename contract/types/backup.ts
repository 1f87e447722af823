// backupPlatform / restorePlatform: input schemas, reports and failure types. Shared by the
// workflows (validation), the activities (types) and client/schedules.ts (the nightly input).
import { z } from 'zod';
import { leaseOptionsSchema } from './lease.ts';
import { k8sName } from './common.ts';

/** The kinds a backup holds, in restore (dependency) order after the namespace. */
export const BACKUP_KINDS = ['crds', 'secrets', 'configMaps', 'helmReleases', 'taskRuns'] as const;
export type BackupKind = (typeof BACKUP_KINDS)[number];
/** Kinds whose files are age-encrypted (helm release records hold the chart values). */
export const ENCRYPTED_KINDS: readonly BackupKind[] = ['secrets', 'helmReleases'];

/** An age X25519 or post-quantum hybrid recipient (a public key; not secret). */
const ageRecipient = z.string().regex(/^age1[0-9a-z]{20,}$/, 'must be an age recipient (age1...)');
/**
 * The backup keys are the worker's configuration (--backup-hmac-key, --backup-identity), never an input: a
 * caller who picked the key could make a forged backup verify. An input naming one fails validation.
 */
export const workerKeyField = (field: 'hmacKey' | 'identity') =>
  (
    z.unknown().refine((v) => v === undefined, {
      error: `is the worker's configuration now, not an input (the worker's ${field === 'hmacKey' ? '--backup-hmac-key' : '--backup-identity'} flag): remove it`,
      // A refinement (not z.never): its issue does not abort, so a union around the schema (upgradePlatform's backup) still names the field.
    }) as unknown as z.ZodType<undefined>
  ).optional();

const includeSchema = z
  .object({
    crds: z.boolean().default(true),
    secrets: z.boolean().default(true),
    configMaps: z.boolean().default(true),
    helmReleases: z.boolean().default(true),
    taskRuns: z.boolean().default(true),
  })
  .strict();
const ALL_INCLUDED = { crds: true, secrets: true, configMaps: true, helmReleases: true, taskRuns: true };

export const retentionSchema = z
  .object({
    /** Keep the newest N backups (the one just written counts). */
    keepLast: z.number().int().min(1).max(10_000).optional(),
    /** Delete backups older than this many days. */
    maxAgeDays: z.number().min(0).max(36_500).optional(),
  })
  .strict();
export type Retention = z.infer<typeof retentionSchema>;

export const backupPlatformInputSchema = z
  .object({
    namespace: k8sName.default('orchestrator'),
    release: k8sName.default('orchestrator'),
    /** Label selector applied to ConfigMaps, Secrets and TaskRuns (e.g. "team=a"). */
    labelSelector: z.string().max(1000).optional(),
    include: includeSchema.default(ALL_INCLUDED),
    /** age recipients (public keys) that can decrypt the Secrets. */
    recipients: z.array(ageRecipient).default([]),
    /** ...or read them from a ConfigMap key (one recipient a line, # comments). */
    recipientsFrom: z
      .object({
        configMap: z.object({ name: k8sName, key: z.string().min(1), namespace: k8sName.optional() }).strict(),
      })
      .strict()
      .optional(),
    /** Not an input: the manifest HMAC key is the worker's (--backup-hmac-key). */
    hmacKey: workerKeyField('hmacKey'),
    retention: retentionSchema.optional(),
    /**
     * The VolumeSnapshotClass for the PVC snapshots; default: the one annotated
     * snapshot.storage.kubernetes.io/is-default-class=true, else the only one.
     */
    volumeSnapshotClass: z
      .string()
      .max(253)
      .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a VolumeSnapshotClass name (RFC 1123 subdomain)')
      .optional(),
    timeoutSeconds: z.number().int().min(10).max(86_400).default(1800),
  })
  .strict()
  .superRefine((v, ctx) => {
    const encrypted = ENCRYPTED_KINDS.filter((k) => v.include[k]);
    if (encrypted.length && !v.recipients.length && !v.recipientsFrom) {
      ctx.addIssue({
        code: 'custom',
        path: ['recipients'],
        message: `Secrets are never written in plain text: give age recipients (recipients or recipientsFrom), or exclude ${encrypted.map((k) => `include.${k}`).join(' and ')}`,
      });
    }
  });
export type BackupPlatformInput = z.input<typeof backupPlatformInputSchema>;
export type BackupPlatformOptions = z.output<typeof backupPlatformInputSchema>;

/** One PVC's VolumeSnapshot, as the manifest records it (enough to recreate the PVC from it). */
export interface VolumeSnapshotRecord {
  /** The VolumeSnapshot's name (deterministic: backup id + PVC name). */
  name: string;
  namespace: string;
  pvc: string;
  /** The PVC's requested storage (e.g. "1Gi"). */
  size: string;
  storageClass: string | null;
  accessModes: string[];
  volumeMode?: string;
  volumeSnapshotClass: string;
  readyToUse: boolean;
  /** status.restoreSize, when the snapshotter reports it. */
  restoreSize?: string;
}

export interface VolumeSnapshotPlan {
  pvcs: number;
  snapshotted: number;
  /** Why PVCs were not snapshotted (no VolumeSnapshot CRD, no VolumeSnapshotClass...). */
  skippedReason?: string;
  /** The class the snapshots use (when they are taken). */
  volumeSnapshotClass?: string;
  /** The snapshots taken (after the snapshot step). */
  snapshots?: VolumeSnapshotRecord[];
  /** PVCs left out, each with why (e.g. not Bound). */
  skippedPvcs?: { pvc: string; reason: string }[];
}

export interface BackupPlan {
  namespace: string;
  /** Objects per kind that will be captured. */
  counts: Partial<Record<BackupKind, number>>;
  helmRelease: { name: string; revision: number; chart: string; chartVersion: string } | null;
  volumeSnapshots: VolumeSnapshotPlan;
}

export interface BackupFileInfo {
  kind: BackupKind;
  file: string;
  size: number;
  sha256: string;
  encrypted: boolean;
  count: number;
}

export interface BackupSummary {
  id: string;
  dir: string;
  createdAt: string;
  cluster: string;
  namespace: string;
  counts: Partial<Record<BackupKind, number>>;
  files: BackupFileInfo[];
  /** The backup already existed (a retried or re-run workflow with the same id). */
  reused: boolean;
  bytes: number;
}

export interface BackupReport {
  runbook: 'backupPlatform';
  backupId: string;
  plan: BackupPlan;
  /** The PVC snapshots taken (or why none were). */
  volumeSnapshots: VolumeSnapshotPlan;
  backup: BackupSummary;
  retention?: RetentionResult;
}

/** What retention did: it acts on one series (the namespace and the schedule or runbook of the backup just written). */
export interface RetentionResult {
  /** Backups of the series that stay (newest first). */
  kept: string[];
  deleted: string[];
  /** The series acted on; absent when the new backup's manifest names none (then nothing is deleted). */
  series?: string;
  volumeSnapshotsDeleted?: string[];
}

/** The cluster's own namespaces: never a restore's target (nor a scratch namespace). */
export const CLUSTER_NAMESPACES: readonly string[] = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
export const clusterNamespaceMessage = `must not be one of ${CLUSTER_NAMESPACES.join(', ')} (the cluster's own namespaces)`;

export const restorePlatformInputSchema = z
  .object({
    backupId: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'must be a backup id'),
    /**
     * Restore into another namespace (test restores); default: the backed-up namespace. Never one of
     * CLUSTER_NAMESPACES (also not by default: the plan refuses a backup of one of them).
     */
    targetNamespace: k8sName.refine((ns) => !CLUSTER_NAMESPACES.includes(ns), clusterNamespaceMessage).optional(),
    /** Existing objects: skip them (default) or update them (server-side apply). */
    existing: z.enum(['skip', 'update']).default('skip'),
    include: includeSchema.default(ALL_INCLUDED),
    /** Not inputs: the manifest HMAC key and the age identity are the worker's (--backup-hmac-key, --backup-identity). */
    hmacKey: workerKeyField('hmacKey'),
    identity: workerKeyField('identity'),
    dryRun: z.boolean().default(false),
    timeoutSeconds: z.number().int().min(10).max(86_400).default(1800),
    /** The maintenance lease, held by a restore into the live (backed-up) namespace: wait in line (default) or fail at once. */
    lease: leaseOptionsSchema.default({ wait: true, priority: 0 }),
  })
  .strict();
export type RestorePlatformInput = z.input<typeof restorePlatformInputSchema>;
export type RestorePlatformOptions = z.output<typeof restorePlatformInputSchema>;

export interface VerifiedBackup {
  id: string;
  createdAt: string;
  cluster: string;
  sourceNamespace: string;
  counts: Partial<Record<BackupKind, number>>;
  /** Files checked (sha256) and, for encrypted ones, decrypted. */
  filesVerified: number;
}

export interface RestorePlan {
  targetNamespace: string;
  namespaceExists: boolean;
  /** Per kind: objects in the backup, and how many already exist in the cluster. */
  kinds: {
    kind: BackupKind;
    total: number;
    existing: number;
    action: 'create' | 'create-or-skip' | 'create-or-update';
  }[];
  /** The objects of the Helm releases' deployed revisions, applied after their records (when the records are restored). */
  helmObjects?: HelmObjectsPlan;
  /** PVCs to recreate from the backup's VolumeSnapshots. */
  volumes?: VolumesPlan;
}

export interface HelmObjectsPlan {
  releases: { name: string; revision: number; objects: number }[];
  /** Objects that would be applied (CRDs excluded), and how many exist already. */
  total: number;
  existing: number;
}

export interface HelmObjectsResult {
  releases: { name: string; revision: number; objects: number }[];
  created: number;
  updated: number;
  skipped: number;
  /**
   * Existing objects (restored with their backed-up values by the ConfigMap/Secret steps) whose fields
   * were handed to Helm's field manager, so that a later `helm upgrade` does not conflict.
   */
  adopted: number;
}

export interface VolumesPlan {
  /** PVCs with a snapshot in the backup. */
  total: number;
  /** PVCs that exist in the target (skipped). */
  existing: number;
  /** PVCs whose VolumeSnapshot is gone (or unusable from the target namespace): not restorable. */
  unavailable: { pvc: string; snapshot: string; reason: string }[];
}

export interface VolumesResult {
  created: string[];
  skipped: string[];
  unavailable: { pvc: string; snapshot: string; reason: string }[];
}

/** What the check step counts: the backed-up kinds plus the Helm release's objects. */
export type RestoreCheckKind = BackupKind | 'helmObjects';

export interface KindRestoreResult {
  kind: BackupKind;
  created: number;
  updated: number;
  skipped: number;
  statusRestored?: number;
  /** Existing objects that existing: update left as they are (counted as skipped), each with why (e.g. a CRD the backup would downgrade). */
  notUpdated?: { name: string; reason: string }[];
}

export interface RestoreReport {
  runbook: 'restorePlatform';
  backupId: string;
  dryRun: boolean;
  verified: VerifiedBackup;
  plan: RestorePlan;
  restored: KindRestoreResult[];
  helmObjects?: HelmObjectsResult;
  volumes?: VolumesResult;
  verify?: { kind: RestoreCheckKind; expected: number; found: number }[];
}
