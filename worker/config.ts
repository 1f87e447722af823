// Worker configuration from flags, then environment variables, then defaults. The cluster is
// never implicit: a kubeconfig must be named.
import { parseArgs } from 'node:util';
import { DEFAULT_FILE_ROOTS } from '../activities/allowed-paths.ts';
import { DEFAULT_SECRET_SOURCE_POLICY, parseList, type SecretSourcePolicy } from '../activities/kube/secret-sources.ts';

export interface WorkerConfig {
  temporalAddress: string;
  temporalNamespace: string;
  taskQueue: string;
  kubeconfigPath: string;
  kubeContext?: string;
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
  /** Answer /health probes with the local stand-in: only for the project's own kwok cluster (npm start turns it on). */
  localHealthStandin: boolean;
}

export const WORKER_HELP = `Usage: npm run worker -- --kubeconfig FILE [options]

Runs the platform-runbooks Temporal worker (workflows + activities).

Options (environment variable in brackets):
  --kubeconfig FILE        kubeconfig of the cluster the runbooks act on [RUNBOOK_KUBECONFIG] (required)
  --context NAME           context in that kubeconfig [RUNBOOK_KUBE_CONTEXT] (default: its current context)
  --helm-bin PATH          the helm 4 binary [RUNBOOK_HELM_BIN] (default: helm on PATH)
  --backup-dir DIR         backup store [RUNBOOK_BACKUP_DIR] (default .data/backups)
  --temporal-address H:P   Temporal frontend [TEMPORAL_ADDRESS] (default 127.0.0.1:7233)
  --namespace NAME         Temporal namespace [TEMPORAL_NAMESPACE] (default "default")
  --task-queue NAME        task queue [RUNBOOK_TASK_QUEUE] (default "runbooks")
  --http-port PORT         /metrics and /health [RUNBOOK_HTTP_PORT] (default 9464; 0 picks a free port)
  --secret-env-allow LIST  env vars that inputs may name as secret sources, comma-separated, NAME or
                           PREFIX* [RUNBOOK_SECRET_ENV_ALLOW] (default ANTHROPIC_API_KEY,GITHUB_TOKEN,RUNBOOK_SECRET_*);
                           the worker's own credentials (RUNBOOK_BACKUP_*, TEMPORAL_*, ...) never are
  --secret-namespaces LIST namespaces whose Secrets inputs may name as sources, besides the namespace
                           written [RUNBOOK_SECRET_NAMESPACES] (default none)
  --local-health-standin   the local kwok cluster's pods never answer HTTP: answer /health probes from the
                           image its Ready pods run (tag :unhealthy answers 503) [RUNBOOK_LOCAL_HEALTH=1];
                           refused for any other cluster (npm start turns it on for its local cluster)
  --file-roots LIST        directories that input chart paths and valuesFiles must lie in, symlinks
                           resolved [RUNBOOK_FILE_ROOTS] (default charts,values)
  --log-level LEVEL        trace|debug|info|warn|error [LOG_LEVEL] (default info)
  -h, --help               this help
`;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

export function parseWorkerConfig(argv: string[], env: NodeJS.ProcessEnv): WorkerConfig | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      'helm-bin': { type: 'string' },
      'backup-dir': { type: 'string' },
      'temporal-address': { type: 'string' },
      namespace: { type: 'string' },
      'task-queue': { type: 'string' },
      'http-port': { type: 'string' },
      'log-level': { type: 'string' },
      'secret-env-allow': { type: 'string' },
      'file-roots': { type: 'string' },
      'secret-namespaces': { type: 'string' },
      'local-health-standin': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';

  const kubeconfigPath = values.kubeconfig ?? env.RUNBOOK_KUBECONFIG;
  if (!kubeconfigPath) {
    throw new Error('no cluster named: pass --kubeconfig FILE (or set RUNBOOK_KUBECONFIG). The worker never falls back to ~/.kube/config; `npm start` passes the local cluster\'s kubeconfig.');
  }
  const httpPort = Number(values['http-port'] ?? env.RUNBOOK_HTTP_PORT ?? 9464);
  if (!Number.isInteger(httpPort) || httpPort < 0 || httpPort > 65535) throw new Error(`--http-port: ${values['http-port']} is not a port number`);
  const logLevel = (values['log-level'] ?? env.LOG_LEVEL ?? 'info') as WorkerConfig['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) throw new Error(`--log-level: ${logLevel} is not one of ${LOG_LEVELS.join(', ')}`);
  const kubeContext = values.context ?? env.RUNBOOK_KUBE_CONTEXT;

  return {
    temporalAddress: values['temporal-address'] ?? env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    temporalNamespace: values.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: values['task-queue'] ?? env.RUNBOOK_TASK_QUEUE ?? 'runbooks',
    kubeconfigPath,
    helmBin: values['helm-bin'] ?? env.RUNBOOK_HELM_BIN ?? 'helm',
    backupDir: values['backup-dir'] ?? env.RUNBOOK_BACKUP_DIR ?? '.data/backups',
    ...(kubeContext ? { kubeContext } : {}),
    httpHost: '127.0.0.1',
    httpPort,
    logLevel,
    fileRoots: parseList(values['file-roots'] ?? env.RUNBOOK_FILE_ROOTS) ?? DEFAULT_FILE_ROOTS,
    secretSources: {
      envAllow: parseList(values['secret-env-allow'] ?? env.RUNBOOK_SECRET_ENV_ALLOW) ?? DEFAULT_SECRET_SOURCE_POLICY.envAllow,
      secretNamespaces: parseList(values['secret-namespaces'] ?? env.RUNBOOK_SECRET_NAMESPACES) ?? DEFAULT_SECRET_SOURCE_POLICY.secretNamespaces,
    },
    localHealthStandin: values['local-health-standin'] ?? ['1', 'true'].includes(env.RUNBOOK_LOCAL_HEALTH ?? ''),
  };
}
