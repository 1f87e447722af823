// Every ApplicationFailure type of the runbooks, in one list: activities raise them, workflows branch
// on them, the CLI names them. Kept free of imports so that every role can load it.

/** Workflow input failed validation; never retried. */
export const INVALID_INPUT = 'InvalidInput';
/** The Kubernetes API or the network is temporarily unavailable (5xx, connection errors, 429, timeouts). */
export const KUBE_UNAVAILABLE = 'KubeUnavailable';
/** The runbook's identity may not do this (403). */
export const KUBE_FORBIDDEN = 'KubeForbidden';
/** A required object or kind does not exist (404). */
export const KUBE_NOT_FOUND = 'KubeNotFound';
/** The API server rejected the object (400, 422). */
export const KUBE_INVALID = 'KubeInvalid';
/** A write conflicted with a concurrent change (409); retrying re-reads and can succeed. */
export const KUBE_CONFLICT = 'KubeConflict';
/** A wait (rollout, CRD Established, pods ready) did not finish in time; the workflow decides what next. */
export const WAIT_TIMEOUT = 'WaitTimeout';
/** A Deployment reported ProgressDeadlineExceeded: its new pods will not become ready. */
export const ROLLOUT_FAILED = 'RolloutFailed';
/** A secret reference (worker env var or Secret key) does not resolve. */
export const SECRET_REF_UNRESOLVED = 'SecretRefUnresolved';
/** A secret source the worker's configuration does not allow (an env var or namespace outside its allowlist). */
export const SECRET_SOURCE_REFUSED = 'SecretSourceRefused';
/** The smoke test's health probe did not answer healthy. */
export const SMOKE_TEST_FAILED = 'SmokeTestFailed';

/** Failure types that a retry cannot fix: activities are proxied with these as non-retryable. */
export const NON_RETRYABLE_TYPES = [
  INVALID_INPUT,
  KUBE_FORBIDDEN,
  KUBE_NOT_FOUND,
  KUBE_INVALID,
  WAIT_TIMEOUT,
  ROLLOUT_FAILED,
  SECRET_REF_UNRESOLVED,
  SECRET_SOURCE_REFUSED,
  SMOKE_TEST_FAILED,
];

/**
 * A Helm release is locked: its latest revision is pending-install/-upgrade/-rollback ("another operation
 * (install/upgrade/rollback) is in progress"), because an operation runs or was interrupted. Retryable,
 * but a retry only helps once that operation ends or recoverStuckRelease has unlocked the release.
 */
export const HELM_RELEASE_LOCKED = 'HelmReleaseLocked';
/**
 * Helm rejected the request: chart or version not found, values schema or template error, an object
 * owned by another release or field manager, unknown release or revision, bad kubeconfig/context. Never retried.
 */
export const HELM_INVALID = 'HelmInvalid';
/**
 * `--wait` ran out of time: the release's resources did not become ready (the release is marked failed).
 * Not retried by the activity: the workflow decides (roll back, or wait longer).
 */
export const HELM_TIMEOUT = 'HelmTimeout';
/** Any other helm failure (e.g. a chart repository that cannot be reached); retryable. */
export const HELM_FAILED = 'HelmFailed';

/** Helm failure types that a retry cannot fix (proxy Helm activities with these as non-retryable). */
export const HELM_NON_RETRYABLE_TYPES = [HELM_INVALID, HELM_TIMEOUT, KUBE_FORBIDDEN];

/** drainNode's plan found pods kubectl drain would refuse to delete (DaemonSet, emptyDir, no controller): nothing was cordoned. */
export const DRAIN_REFUSED = 'DrainRefused';
/** An operator aborted the drain (update drainControl {action: abort}); the node is uncordoned if the drain cordoned it. */
export const DRAIN_ABORTED = 'DrainAborted';
/** An eviction failed for a reason a retry cannot fix (e.g. a pod under more than one PodDisruptionBudget). */
export const EVICTION_FAILED = 'EvictionFailed';
/** The maintenance lease is held by another runbook and the input said `lease: {wait: false}`. */
export const LEASE_TAKEN = 'LeaseTaken';
/** After a node's maintenance the platform did not become healthy in time (orchestrator pods not ready, TaskRuns stuck in Pending). */
export const PLATFORM_UNHEALTHY = 'PlatformUnhealthy';

// Backups, restores and their verification.
/** The restored objects differ from the backup: the backup was written, but it does not restore faithfully. */
export const BACKUP_VERIFY_MISMATCH = 'BackupVerifyMismatch';
/** The verification restore or the comparison failed (the backup itself was written; its cause is attached). */
export const BACKUP_VERIFY_FAILED = 'BackupVerifyFailed';
/** The backup is corrupted or tampered with (HMAC, checksum, decryption): never retried, nothing is written. */
export const BACKUP_INVALID = 'BackupInvalid';
/** No backup with that id in the store. */
export const BACKUP_NOT_FOUND = 'BackupNotFound';
/** A VolumeSnapshot did not become readyToUse in time, or its snapshotter reported an error. */
export const VOLUME_SNAPSHOT_FAILED = 'VolumeSnapshotFailed';
/** The pre-upgrade backup (child workflow backupPlatform) failed: the upgrade stopped before helm ran. */
export const UPGRADE_BACKUP_FAILED = 'UpgradeBackupFailed';
/** The restored objects do not match the backup's counts. */
export const RESTORE_INCOMPLETE = 'RestoreIncomplete';

/** securityAudit: every section (RBAC, workloads, Secret events) failed; the causes are attached. */
export const SECURITY_AUDIT_FAILED = 'SecurityAuditFailed';
