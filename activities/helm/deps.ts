// What the Helm activities are given by the worker. The helm binary's path comes in here (activities
// never look tools up themselves), and so does the cluster: there is no fall-back to ~/.kube/config.
import type { Logger } from 'pino';

export interface HelmDeps {
  /** Absolute path of the helm 4 binary. */
  helmBin: string;
  /** kubeconfig of the cluster to act on; passed to every helm call as --kubeconfig. */
  kubeconfigPath: string;
  /** Context of that kubeconfig (--kube-context); the file's current context when omitted. */
  kubeContext?: string;
  logger: Logger;
  /**
   * Directory for helm's cache, config and data (HELM_CACHE_HOME, HELM_CONFIG_HOME, HELM_DATA_HOME) and
   * the Kubernetes discovery cache (KUBECACHEDIR), so that ~/.config/helm, ~/.cache/helm and ~/.kube are
   * never read or written. Default: <os.tmpdir()>/platform-runbooks-helm-<uid>.
   */
  helmHome?: string;
  /** Relative chart paths and values files are resolved against this directory (default: process.cwd()). */
  workdir?: string;
  /** Directories (relative to workdir) that local charts and values files must lie in (default DEFAULT_FILE_ROOTS). */
  fileRoots?: string[];
  /** Interval of activity heartbeats while helm runs (default 5000 ms). */
  heartbeatIntervalMs?: number;
}
