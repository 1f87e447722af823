// What activities are given by the worker: an explicit cluster connection and a logger.
import type { Logger } from 'pino';
import type { KubeClients, KubeTarget } from './kube/client.ts';
import type { BackupKeys } from './backup/keys.ts';
import type { SecretSourcePolicy } from './kube/secret-sources.ts';

export interface ActivityDeps {
  kube: KubeClients;
  logger: Logger;
  /** The same cluster as `kube`, for tools that take a kubeconfig (helm). */
  kubeTarget: KubeTarget;
  /** The helm 4 binary. */
  helmBin: string;
  /** Relative chart paths and values files are resolved against this directory. */
  workdir: string;
  /** Directories (relative to workdir) that input chart paths and values files must lie in (default DEFAULT_FILE_ROOTS). */
  fileRoots?: string[];
  /** Backup store root (relative to workdir); default .data/backups. */
  backupDir?: string;
  /** Incident evidence root (relative to workdir), one directory per incident; default .data/incidents. */
  incidentDir?: string;
  /**
   * The backup keys (manifest HMAC key, age identity), by reference: the worker's configuration, never a
   * workflow input (default DEFAULT_BACKUP_KEYS: env RUNBOOK_BACKUP_HMAC_KEY, RUNBOOK_BACKUP_AGE_IDENTITY).
   */
  backupKeys?: Partial<BackupKeys>;
  /** Which env vars and namespaces workflow inputs may name as secret sources (default DEFAULT_SECRET_SOURCE_POLICY). */
  secretSources?: SecretSourcePolicy;
  /**
   * Answer /health probes of the service proxy with the local stand-in (activities/health-probe.ts):
   * only on the project's own kwok cluster, whose pods never answer HTTP (worker --local-health-standin).
   */
  localHealthStandin?: boolean;
  /** A healthUrl may reach link-local addresses (169.254.0.0/16, fe80::/10; metadata endpoints never): worker --probe-allow-link-local. */
  probeAllowLinkLocal?: boolean;
}
