// Worker configuration from flags, then environment variables, then defaults. The cluster is
// never implicit: a kubeconfig must be named, except in a pod (KUBERNETES_SERVICE_HOST set and the
// service-account token mounted), where no kubeconfig means the cluster the pod runs in.
import { parseArgs } from 'node:util';
import { DEFAULT_FILE_ROOTS } from '../activities/allowed-paths.ts';
import { DEFAULT_BACKUP_KEYS, parseKeyReference, type BackupKeys } from '../activities/backup/keys.ts';
import { runsInPod } from '../activities/kube/client.ts';
import { DEFAULT_SECRET_SOURCE_POLICY, parseList, type SecretSourcePolicy } from '../activities/kube/secret-sources.ts';
import { DEFAULT_TASK_QUEUE } from '../contract/task-queue.ts';

export interface WorkerConfig {
  temporalAddress: string;
  temporalNamespace: string;
  taskQueue: string;
  /** The named kubeconfig; absent when inCluster. */
  kubeconfigPath?: string;
  kubeContext?: string;
  /** In a pod with no kubeconfig named: the in-cluster config (the pod's service account). */
  inCluster: boolean;
  /** TLS to Temporal: off, on with the system roots, or with a client certificate (mTLS) and/or a CA. */
  temporalTls?: TemporalTls;
  /** API key for Temporal (Temporal Cloud), from TEMPORAL_API_KEY only (never a flag: argv is visible). */
  temporalApiKey?: string;
  helmBin: string;
  /** Backup store root (relative to the working directory unless absolute). */
  backupDir: string;
  httpHost: string;
  httpPort: number;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** Directories that input chart paths and values files must lie in (relative to the working directory). */
  fileRoots: string[];
  /** Which env vars and Secret namespaces workflow inputs may name as secret sources. */
  secretSources: SecretSourcePolicy;
  /** The backup keys (HMAC key, age identity) by reference: the worker's, never a workflow input's. */
  backupKeys: BackupKeys;
  /** Answer /health probes with the local stand-in: only for the project's own kwok cluster (npm start turns it on). */
  localHealthStandin: boolean;
  /** A healthUrl may reach link-local addresses (cloud metadata endpoints never). */
  probeAllowLinkLocal: boolean;
  /** How much the worker holds at once: the README's "Worker sizing" table measures each. */
  sizing: WorkerSizing;
}

export interface WorkerSizing {
  /** Workflows kept in the sticky cache (the rest replay their history on their next task). */
  maxCachedWorkflows: number;
  /** Threads that run workflow code (each is a V8 isolate: about 90 MB more each). */
  workflowThreads: number;
  /** Activities run at once (the SDK's default, 100). */
  maxConcurrentActivities: number;
}

/**
 * The defaults: the SDK's, except the cache. The SDK sizes it from the heap limit (about 2,400
 * workflows under Node's 4 GB default); 250 bounds what a busy worker can grow to while holding
 * every long-running workflow (TaskRun controllers, paused upgrades, the lease) many times over.
 */
export const DEFAULT_WORKER_SIZING: WorkerSizing = {
  maxCachedWorkflows: 250,
  workflowThreads: 1,
  maxConcurrentActivities: 100,
};

export interface TemporalTls {
  clientCertPath?: string;
  clientKeyPath?: string;
  serverCaCertPath?: string;
  serverName?: string;
}

export const WORKER_HELP = `Usage: npm run worker -- --kubeconfig FILE [options]     (in a pod: --kubeconfig may be left out)

Runs the platform-runbooks Temporal worker (workflows + activities).

Options (environment variable in brackets):
  --kubeconfig FILE        kubeconfig of the cluster the runbooks act on [RUNBOOK_KUBECONFIG] (required,
                           except in a pod: there, without it, the cluster the pod runs in, through
                           the pod's service account)
  --context NAME           context in that kubeconfig [RUNBOOK_KUBE_CONTEXT] (default: its current context)
  --helm-bin PATH          the helm 4 binary [RUNBOOK_HELM_BIN] (default: helm on PATH)
  --backup-dir DIR         backup store [RUNBOOK_BACKUP_DIR] (default .data/backups)
  --backup-hmac-key REF    the key that signs and authenticates backup manifests: an env var NAME (or
                           env:NAME) or secret:NAMESPACE/NAME/KEY [RUNBOOK_BACKUP_HMAC_KEY_FROM]
                           (default env:RUNBOOK_BACKUP_HMAC_KEY); workflow inputs cannot name a key
  --backup-identity REF    the age identity that decrypts restores, as above [RUNBOOK_BACKUP_AGE_IDENTITY_FROM]
                           (default env:RUNBOOK_BACKUP_AGE_IDENTITY)
  --temporal-address H:P   Temporal frontend [TEMPORAL_ADDRESS] (default 127.0.0.1:7233)
  --namespace NAME         Temporal namespace [TEMPORAL_NAMESPACE] (default "default")
  --tls                    TLS to Temporal with the system's roots [TEMPORAL_TLS=1] (implied by the options
                           below and by an API key)
  --tls-cert-path FILE     client certificate (mTLS) [TEMPORAL_TLS_CLIENT_CERT_PATH]
  --tls-key-path FILE      its private key [TEMPORAL_TLS_CLIENT_KEY_PATH]
  --tls-ca-path FILE       CA of the Temporal server [TEMPORAL_TLS_SERVER_CA_CERT_PATH]
  --tls-server-name NAME   server name to verify [TEMPORAL_TLS_SERVER_NAME]
                           API key (Temporal Cloud): environment only [TEMPORAL_API_KEY]
  --task-queue NAME        task queue [RUNBOOK_TASK_QUEUE] (default "runbooks")
  --http-port PORT         /metrics, /health and /ready [RUNBOOK_HTTP_PORT] (default 9464; 0 picks a free port)
  --http-host ADDR         address they listen on [RUNBOOK_HTTP_HOST] (default 127.0.0.1; 0.0.0.0 in a pod)
  --secret-env-allow LIST  env vars that inputs may name as secret sources, comma-separated, NAME or
                           PREFIX* [RUNBOOK_SECRET_ENV_ALLOW] (default ANTHROPIC_API_KEY,GITHUB_TOKEN,RUNBOOK_SECRET_*);
                           the worker's own credentials (RUNBOOK_BACKUP_*, TEMPORAL_*, ...) never are
  --secret-namespaces LIST namespaces whose Secrets inputs may name as sources, besides the namespace
                           written [RUNBOOK_SECRET_NAMESPACES] (default none)
  --local-health-standin   the local kwok cluster's pods never answer HTTP: answer /health probes from the
                           image its Ready pods run (tag :unhealthy answers 503) [RUNBOOK_LOCAL_HEALTH=1];
                           refused for any other cluster (npm start turns it on for its local cluster)
  --probe-allow-link-local a workflow's healthUrl may reach link-local addresses (169.254.0.0/16, fe80::/10)
                           [RUNBOOK_PROBE_ALLOW_LINK_LOCAL=1] (default: refused; cloud metadata addresses and
                           hosts are refused always; redirects are never followed)
  --file-roots LIST        directories that input chart paths and valuesFiles must lie in, symlinks
                           resolved [RUNBOOK_FILE_ROOTS] (default charts,values)
  --max-cached-workflows N workflows kept in memory between tasks [RUNBOOK_MAX_CACHED_WORKFLOWS]
                           (default 250; at least 2: fewer replay their history on every task)
  --workflow-threads N     threads running workflow code [RUNBOOK_WORKFLOW_THREADS] (default 1; each
                           one more costs about 90 MB)
  --max-concurrent-activities N
                           activities run at once [RUNBOOK_MAX_CONCURRENT_ACTIVITIES] (default 100)
  --log-level LEVEL        trace|debug|info|warn|error [LOG_LEVEL] (default info)
  -h, --help               this help
`;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

/** `inPod` decides whether the in-cluster config is available (tests pass their own). */
export function parseWorkerConfig(
  argv: string[],
  env: NodeJS.ProcessEnv,
  inPod: (env: NodeJS.ProcessEnv) => boolean = runsInPod,
): WorkerConfig | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      'helm-bin': { type: 'string' },
      'backup-dir': { type: 'string' },
      'backup-hmac-key': { type: 'string' },
      'backup-identity': { type: 'string' },
      'temporal-address': { type: 'string' },
      namespace: { type: 'string' },
      'task-queue': { type: 'string' },
      'http-port': { type: 'string' },
      'http-host': { type: 'string' },
      tls: { type: 'boolean' },
      'tls-cert-path': { type: 'string' },
      'tls-key-path': { type: 'string' },
      'tls-ca-path': { type: 'string' },
      'tls-server-name': { type: 'string' },
      'log-level': { type: 'string' },
      'secret-env-allow': { type: 'string' },
      'file-roots': { type: 'string' },
      'secret-namespaces': { type: 'string' },
      'local-health-standin': { type: 'boolean' },
      'probe-allow-link-local': { type: 'boolean' },
      'max-cached-workflows': { type: 'string' },
      'workflow-threads': { type: 'string' },
      'max-concurrent-activities': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';

  const kubeconfigPath = values.kubeconfig ?? env.RUNBOOK_KUBECONFIG;
  const inCluster = !kubeconfigPath && inPod(env);
  if (!kubeconfigPath && !inCluster) {
    throw new Error(
      "no cluster named: pass --kubeconfig FILE (or set RUNBOOK_KUBECONFIG). The worker never falls back to ~/.kube/config; `npm start` passes the local cluster's kubeconfig.",
    );
  }
  const kubeContextEarly = values.context ?? env.RUNBOOK_KUBE_CONTEXT;
  if (inCluster && kubeContextEarly)
    throw new Error(
      '--context names a context of a kubeconfig: pass --kubeconfig too (in a pod without one, the worker uses the in-cluster config)',
    );
  const tls: TemporalTls = {
    ...optional('clientCertPath', values['tls-cert-path'] ?? env.TEMPORAL_TLS_CLIENT_CERT_PATH),
    ...optional('clientKeyPath', values['tls-key-path'] ?? env.TEMPORAL_TLS_CLIENT_KEY_PATH),
    ...optional('serverCaCertPath', values['tls-ca-path'] ?? env.TEMPORAL_TLS_SERVER_CA_CERT_PATH),
    ...optional('serverName', values['tls-server-name'] ?? env.TEMPORAL_TLS_SERVER_NAME),
  };
  if (Boolean(tls.clientCertPath) !== Boolean(tls.clientKeyPath))
    throw new Error('--tls-cert-path and --tls-key-path go together (a client certificate and its key)');
  const temporalApiKey = env.TEMPORAL_API_KEY || undefined;
  const tlsOn = values.tls ?? ['1', 'true'].includes(env.TEMPORAL_TLS ?? '');
  const temporalTls = tlsOn || Object.keys(tls).length > 0 || temporalApiKey ? tls : undefined;
  const httpPort = Number(values['http-port'] ?? env.RUNBOOK_HTTP_PORT ?? 9464);
  if (!Number.isInteger(httpPort) || httpPort < 0 || httpPort > 65535)
    throw new Error(`--http-port: ${values['http-port']} is not a port number`);
  const logLevel = (values['log-level'] ?? env.LOG_LEVEL ?? 'info') as WorkerConfig['logLevel'];
  if (!LOG_LEVELS.includes(logLevel))
    throw new Error(`--log-level: ${logLevel} is not one of ${LOG_LEVELS.join(', ')}`);
  const kubeContext = values.context ?? env.RUNBOOK_KUBE_CONTEXT;
  const keyRef = (flag: string, value: string | undefined, fallback: BackupKeys[keyof BackupKeys]) =>
    value === undefined ? fallback : parseKeyReference(`--${flag}`, value);
  const backupKeys: BackupKeys = {
    hmacKey: keyRef(
      'backup-hmac-key',
      values['backup-hmac-key'] ?? env.RUNBOOK_BACKUP_HMAC_KEY_FROM,
      DEFAULT_BACKUP_KEYS.hmacKey,
    ),
    identity: keyRef(
      'backup-identity',
      values['backup-identity'] ?? env.RUNBOOK_BACKUP_AGE_IDENTITY_FROM,
      DEFAULT_BACKUP_KEYS.identity,
    ),
  };

  const sizing: WorkerSizing = {
    maxCachedWorkflows: intOption(
      '--max-cached-workflows',
      values['max-cached-workflows'] ?? env.RUNBOOK_MAX_CACHED_WORKFLOWS,
      DEFAULT_WORKER_SIZING.maxCachedWorkflows,
      2,
      100_000,
    ),
    workflowThreads: intOption(
      '--workflow-threads',
      values['workflow-threads'] ?? env.RUNBOOK_WORKFLOW_THREADS,
      DEFAULT_WORKER_SIZING.workflowThreads,
      1,
      32,
    ),
    maxConcurrentActivities: intOption(
      '--max-concurrent-activities',
      values['max-concurrent-activities'] ?? env.RUNBOOK_MAX_CONCURRENT_ACTIVITIES,
      DEFAULT_WORKER_SIZING.maxConcurrentActivities,
      1,
      10_000,
    ),
  };

  return {
    temporalAddress: values['temporal-address'] ?? env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    temporalNamespace: values.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: values['task-queue'] ?? env.RUNBOOK_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
    ...(kubeconfigPath ? { kubeconfigPath } : {}),
    inCluster,
    ...(temporalTls ? { temporalTls } : {}),
    ...(temporalApiKey ? { temporalApiKey } : {}),
    helmBin: values['helm-bin'] ?? env.RUNBOOK_HELM_BIN ?? 'helm',
    backupDir: values['backup-dir'] ?? env.RUNBOOK_BACKUP_DIR ?? '.data/backups',
    ...(kubeContext ? { kubeContext } : {}),
    httpHost: values['http-host'] ?? env.RUNBOOK_HTTP_HOST ?? '127.0.0.1',
    httpPort,
    logLevel,
    fileRoots: parseList(values['file-roots'] ?? env.RUNBOOK_FILE_ROOTS) ?? DEFAULT_FILE_ROOTS,
    secretSources: {
      envAllow:
        parseList(values['secret-env-allow'] ?? env.RUNBOOK_SECRET_ENV_ALLOW) ?? DEFAULT_SECRET_SOURCE_POLICY.envAllow,
      secretNamespaces:
        parseList(values['secret-namespaces'] ?? env.RUNBOOK_SECRET_NAMESPACES) ??
        DEFAULT_SECRET_SOURCE_POLICY.secretNamespaces,
    },
    backupKeys,
    localHealthStandin: values['local-health-standin'] ?? ['1', 'true'].includes(env.RUNBOOK_LOCAL_HEALTH ?? ''),
    probeAllowLinkLocal:
      values['probe-allow-link-local'] ?? ['1', 'true'].includes(env.RUNBOOK_PROBE_ALLOW_LINK_LOCAL ?? ''),
    sizing,
  };
}

/** An integer option in [min, max]; absent or empty: the default. */
function intOption(flag: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new Error(`${flag}: ${JSON.stringify(value)} is not a whole number from ${min} to ${max}`);
  return n;
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value ? ({ [key]: value } as Record<K, string>) : {};
}
