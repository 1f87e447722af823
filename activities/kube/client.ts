// The explicit cluster connection every activity uses. There is no fall-back to
// ~/.kube/config or localhost:8080: the operator names the kubeconfig (and optionally a context).
// The one exception is a worker running in a pod with no kubeconfig named: it acts on the cluster
// it runs in, through its service account (the in-cluster config), and says so when it starts.
import { existsSync, writeFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  AppsV1Api,
  BatchV1Api,
  type Cluster,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  VersionApi,
} from '@kubernetes/client-node';
import { kubeJsonCall, type KubeJsonCall } from './json-call.ts';

export interface KubeTarget {
  /** Path of the kubeconfig file (in a pod: the one written by writeInClusterKubeconfig, for helm). */
  kubeconfigPath: string;
  /** Context to use; the file's current context when omitted. */
  context?: string;
  /** The cluster the pod runs in, through its service account (client-node's in-cluster config). */
  inCluster?: boolean;
}

/** Where Kubernetes mounts a pod's service-account credentials. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Is this process in a pod that can use the in-cluster config? Both signs are needed: the
 * KUBERNETES_SERVICE_HOST variable that every pod gets and the mounted service-account token.
 */
export function runsInPod(
  env: NodeJS.ProcessEnv,
  exists: (path: string) => boolean = existsSync,
  saDir = SERVICE_ACCOUNT_DIR,
): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST) && exists(join(saDir, 'token'));
}

/** The in-cluster config (API server from the pod's environment, the service account's token and CA). */
export function loadInClusterKubeConfig(env: NodeJS.ProcessEnv = process.env): KubeConfig {
  if (!runsInPod(env))
    throw new Error(
      `not in a pod: KUBERNETES_SERVICE_HOST is unset or ${SERVICE_ACCOUNT_DIR}/token is missing; name a kubeconfig`,
    );
  const config = new KubeConfig();
  config.loadFromCluster();
  return config;
}

/**
 * A kubeconfig file for helm that points at the same in-cluster credentials: the token by file
 * (kubelet rotates it; client-go re-reads tokenFile), the CA by file. Contains no secret itself.
 */
export function writeInClusterKubeconfig(
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
  saDir = SERVICE_ACCOUNT_DIR,
): string {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'in-cluster', cluster: { server, 'certificate-authority': join(saDir, 'ca.crt') } }],
    users: [{ name: 'in-cluster', user: { tokenFile: join(saDir, 'token') } }],
    contexts: [{ name: 'in-cluster', context: { cluster: 'in-cluster', user: 'in-cluster' } }],
    'current-context': 'in-cluster',
  };
  const path = join(dir, 'in-cluster.kubeconfig');
  writeFileSync(path, JSON.stringify(kubeconfig, null, 2), { mode: 0o600 });
  return path;
}

export interface KubeClients {
  /** The kubeconfig as loaded: for watches that stay open (each its own connection) and cluster details. */
  config: KubeConfig;
  /**
   * For watches that start and end often (the TaskRun controller's, a few every second): all on one
   * HTTP/2 connection of their own, so that ending one resets a stream instead of closing a TLS
   * connection, and the next needs no handshake (worker and API server CPU).
   */
  watches: KubeConfig;
  core: CoreV1Api;
  apiextensions: ApiextensionsV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  custom: CustomObjectsApi;
  objects: KubernetesObjectApi;
  version: VersionApi;
  /** Lean JSON calls on the same connections, for hot loops (json-call.ts). */
  json: KubeJsonCall;
}

export function loadKubeConfig(target: KubeTarget): KubeConfig {
  if (!existsSync(target.kubeconfigPath)) {
    throw new Error(
      `kubeconfig ${target.kubeconfigPath} does not exist (start the local cluster with \`npm run cluster -- up\`, or pass the kubeconfig of the cluster to act on)`,
    );
  }
  const config = new KubeConfig();
  config.loadFromFile(target.kubeconfigPath);
  if (target.context) {
    if (!config.getContextObject(target.context)) {
      const known =
        config
          .getContexts()
          .map((c) => c.name)
          .join(', ') || 'none';
      throw new Error(`context ${target.context} is not in ${target.kubeconfigPath} (contexts: ${known})`);
    }
    config.setCurrentContext(target.context);
  }
  if (!config.getCurrentCluster()) {
    throw new Error(`kubeconfig ${target.kubeconfigPath} has no current cluster; name a context`);
  }
  return config;
}

const POOLED = Symbol('platform-runbooks.pooled');

/**
 * client-node 2.0.1 builds a new undici Agent (so a new TCP + TLS connection) for every API call:
 * its KubeConfig caches the https.Agent of watches but not createDispatcher's result. Caching that
 * per cluster and user keeps connections alive; on the local cluster 1,000 creates (16 in flight)
 * take 1.6 s instead of 5.4 s. The connections speak HTTP/1.1 unless `http2` (see ConnectionOptions).
 * Guarded: a client-node without the method is left as it is.
 */
export function reuseConnections(config: KubeConfig, options: ConnectionOptions = {}): void {
  const target = config as unknown as {
    createDispatcher?: (cluster: Cluster | null, options: unknown) => unknown;
    createDispatcherOptions?: (cluster: Cluster | null, options: unknown) => { type: string; connect?: object };
    [POOLED]?: true;
  };
  if (typeof target.createDispatcher !== 'function' || target[POOLED]) return;
  if (!options.http2 && typeof target.createDispatcherOptions === 'function') {
    // undici offers h2 in ALPN unless its connector is told not to (createDispatcher builds it from `connect`).
    const build = target.createDispatcherOptions.bind(config);
    target.createDispatcherOptions = (cluster, agentOptions) => {
      const built = build(cluster, agentOptions);
      return built.type === 'agent' ? { ...built, connect: { ...built.connect, allowH2: false } } : built;
    };
  }
  const create = target.createDispatcher.bind(config);
  const dispatchers = new Map<string, unknown>();
  target.createDispatcher = (cluster, options) => {
    const key = JSON.stringify([cluster?.name ?? '', cluster?.server ?? '', config.getCurrentUser()?.name ?? '']);
    if (!dispatchers.has(key)) dispatchers.set(key, create(cluster, options));
    return dispatchers.get(key);
  };
  target[POOLED] = true;
}

export interface ConnectionOptions {
  /**
   * HTTP/2, all calls on one connection (undici's default since v7), instead of HTTP/1.1 with a
   * kept-alive connection per call in flight. HTTP/1.1 is the default: on the local cluster, 5,000
   * TaskRun creates with 48 in flight grew the worker's RSS by 182 MiB over HTTP/2 and by 19 MiB over
   * HTTP/1.1 (status writes 49 vs 12, patches 99 vs 0), at the same CPU (`npm run bench -- restore-steps`).
   */
  http2?: boolean;
}

/** The same cluster and user, as a KubeConfig whose API calls share kept-alive connections. */
function pooledCopy(config: KubeConfig, options: ConnectionOptions): KubeConfig {
  const copy = new KubeConfig();
  copy.loadFromOptions({
    clusters: config.getClusters(),
    users: config.getUsers(),
    contexts: config.getContexts(),
    currentContext: config.getCurrentContext(),
  });
  reuseConnections(copy, options);
  return copy;
}

/**
 * API clients on kept-alive connections. `config` itself stays unpooled, for watches (Watch,
 * informers): a watch on a pooled connection was seen to end early while other calls ran on the
 * pool, and a long-lived stream gains nothing from sharing a connection.
 */
export function makeKubeClients(config: KubeConfig, options: ConnectionOptions = {}): KubeClients {
  const api = pooledCopy(config, options);
  return {
    config,
    watches: pooledCopy(config, { http2: true }),
    core: api.makeApiClient(CoreV1Api),
    apiextensions: api.makeApiClient(ApiextensionsV1Api),
    apps: api.makeApiClient(AppsV1Api),
    batch: api.makeApiClient(BatchV1Api),
    custom: api.makeApiClient(CustomObjectsApi),
    objects: KubernetesObjectApi.makeApiClient(api),
    version: api.makeApiClient(VersionApi),
    json: kubeJsonCall(api),
  };
}
