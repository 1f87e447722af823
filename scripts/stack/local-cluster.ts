// A local Kubernetes cluster simulated by kwok (kwokctl, binary runtime): a real etcd, apiserver,
// controller-manager and scheduler, with fake nodes whose pods follow ./kwok-stages.yaml.
//
// Everything lives under `dataDir` (kwok's work dir, the kubeconfig, generated config), so the
// user's ~/.kwok and ~/.kube/config are never read or written, and tests can run clusters of
// their own beside the user's.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { freePorts, assertPortFree } from './ports.ts';
import { binDir, toolPath } from './tools.ts';

export const defaultStagesFile = fileURLToPath(new URL('./kwok-stages.yaml', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The project's own development cluster (npm start, npm run cluster): state under <repo>/.data/. */
export function devClusterRef(name = 'platform-runbooks'): ClusterRef {
  return { name, dataDir: join(repoRoot, '.data', name === 'platform-runbooks' ? 'cluster' : `cluster-${name}`) };
}

/** Identifies a cluster: kwokctl's name plus the directory that holds all of its state (one cluster a dir). */
export interface ClusterRef {
  name: string;
  dataDir: string;
}

export interface CreateClusterOptions extends ClusterRef {
  /** Number of simulated nodes: scales to it. Default: 3 for a new cluster, unchanged for an existing one. */
  nodes?: number;
  /** Apiserver port on 127.0.0.1 (default: a free port). Only used when the cluster is created. */
  apiserverPort?: number;
  /** kwok Stages (default ./kwok-stages.yaml). Read only when the cluster is created. */
  stagesFile?: string;
  /**
   * Requests a second kube-controller-manager may make (bursts of twice that). Its default, 20, makes its
   * Job controller and garbage collector, not the simulated nodes, set the pace of Job-heavy work: 300 Jobs
   * completed in 90 s, with 200 in 11 s. Only used when the cluster is created.
   */
  controllerManagerQps?: number;
  /** How long to wait for the nodes to be Ready (default 60 s). */
  readyTimeoutMs?: number;
  /** Progress lines (what is being done and why); default: silent. */
  log?: (line: string) => void;
}

export interface LocalCluster extends ClusterRef {
  /** kubeconfig with a single context, `kwok-<name>`; pass it to kubectl, helm and client-node. */
  kubeconfigPath: string;
  context: string;
  /** Apiserver URL, e.g. https://127.0.0.1:32766. */
  server: string;
  /** What createLocalCluster had to do. */
  action: 'created' | 'started' | 'reused';
  /** Stops the processes, keeping the state (startExisting brings it back). */
  stop(): Promise<void>;
  /** Stops the processes and removes all of the cluster's state. */
  delete(): Promise<void>;
}

export interface ClusterStatus {
  exists: boolean;
  /** Every kwokctl component (etcd, apiserver, ...) is ready and the apiserver answers. */
  running: boolean;
  /** Component name -> kwokctl's status (Ready, NotReady, Stopped, ...). */
  components: Record<string, string>;
  /** Counted only when running (0/0 otherwise). */
  nodes: { total: number; ready: number };
  kubeconfigPath: string;
}

const paths = (ref: ClusterRef) => ({
  workdir: join(ref.dataDir, 'kwok'),
  clusterDir: join(ref.dataDir, 'kwok', 'clusters', ref.name),
  clusterConfig: join(ref.dataDir, 'kwok', 'clusters', ref.name, 'kwok.yaml'),
  logs: join(ref.dataDir, 'kwok', 'clusters', ref.name, 'logs'),
  kubeconfig: join(ref.dataDir, 'kubeconfig.yaml'),
  kwokctlConfig: join(ref.dataDir, 'kwokctl-config.yaml'),
  stagesHash: join(ref.dataDir, 'stages.sha256'),
  podLogs: join(ref.dataDir, 'pod-logs'),
  podLogsConfig: join(ref.dataDir, 'kwok-pod-logs.yaml'),
});

/** What `kubectl logs` shows for every simulated pod (kwok ClusterLogs serve these files), current and --previous. */
export const SIMULATED_POD_LOG = 'kwok simulated container log: started';
export const SIMULATED_PREVIOUS_POD_LOG = 'kwok simulated container log: previous container exited';
/** kwok reads the files in the CRI log format (time, stream, tag, message), as a kubelet does. */
const criLine = (message: string) => `2026-01-01T00:00:00.000000000Z stdout F ${message}\n`;

/** kwok serves `kubectl logs` of simulated pods from files: one ClusterLogs for every pod, files in dataDir/pod-logs. */
function writePodLogsConfig(p: ReturnType<typeof paths>): void {
  mkdirSync(p.podLogs, { recursive: true });
  writeFileSync(join(p.podLogs, 'current.log'), criLine(SIMULATED_POD_LOG));
  writeFileSync(join(p.podLogs, 'previous.log'), criLine(SIMULATED_PREVIOUS_POD_LOG));
  writeFileSync(
    p.podLogsConfig,
    stringify({
      apiVersion: 'kwok.x-k8s.io/v1alpha1',
      kind: 'ClusterLogs',
      metadata: { name: 'simulated-pod-logs' },
      spec: {
        selector: {},
        logs: [{ logsFile: join(p.podLogs, 'current.log'), previousLogsFile: join(p.podLogs, 'previous.log') }],
      },
    }),
  );
}

/**
 * Makes sure the cluster exists, runs and has `nodes` Ready nodes: creates it when absent, starts
 * it when stopped, reuses it when running. Safe to call again and again (npm start does).
 */
export async function createLocalCluster(opts: CreateClusterOptions): Promise<LocalCluster> {
  const log = opts.log ?? (() => {});
  const p = paths(opts);
  const stagesFile = opts.stagesFile ?? defaultStagesFile;
  const status = await clusterStatus(opts);
  let action: LocalCluster['action'];
  if (!status.exists) {
    log(`creating kwok cluster '${opts.name}' in ${opts.dataDir}`);
    await create(opts, stagesFile);
    action = 'created';
  } else if (!status.running) {
    log(`starting stopped kwok cluster '${opts.name}'`);
    await start(opts);
    action = 'started';
  } else {
    action = 'reused';
  }
  if (action !== 'created' && existsSync(p.stagesHash) && readFileSync(p.stagesHash, 'utf8') !== sha256(stagesFile)) {
    log(`warning: ${stagesFile} changed since cluster '${opts.name}' was created; recreate the cluster to use it`);
  }
  await writeKubeconfig(opts); // also repairs a deleted kubeconfig of an existing cluster

  try {
    const timeoutMs = opts.readyTimeoutMs ?? 60_000;
    const current = (await readNodesWhenUp(p.kubeconfig, timeoutMs)).length;
    // Without an explicit count, an existing cluster keeps the nodes it has (someone may have scaled it).
    const nodes = opts.nodes ?? (current || 3);
    if (current !== nodes) {
      log(`scaling cluster '${opts.name}' from ${current} to ${nodes} nodes`);
      await kwokctl(opts, ['scale', 'node', '--replicas', String(nodes)]);
    }
    await waitReady(p.kubeconfig, nodes, timeoutMs);
    return handle(opts, action);
  } catch (err) {
    const message = `${(err as Error).message}${tailLogs(p.logs)}`;
    // A cluster we just created and that does not work would only be "reused" next time, and a
    // test that gets no handle could not delete it: leave nothing behind.
    if (action === 'created') await deleteLocalCluster(opts).catch(() => {});
    throw new Error(message, { cause: err });
  }
}

/** Starts an existing, stopped cluster (throws if there is none) and waits until its nodes are Ready. */
export async function startExisting(ref: ClusterRef & { readyTimeoutMs?: number }): Promise<LocalCluster> {
  const status = await clusterStatus(ref);
  if (!status.exists) throw new Error(`no kwok cluster '${ref.name}' in ${ref.dataDir}: create it first`);
  if (!status.running) await start(ref);
  await writeKubeconfig(ref);
  const timeoutMs = ref.readyTimeoutMs ?? 60_000;
  const nodes = (await readNodesWhenUp(paths(ref).kubeconfig, timeoutMs)).length;
  await waitReady(paths(ref).kubeconfig, nodes, timeoutMs);
  return handle(ref, status.running ? 'reused' : 'started');
}

/** Stops the cluster's processes, keeping its state. No-op if it does not exist. */
export async function stopLocalCluster(ref: ClusterRef): Promise<void> {
  if (!existsSync(paths(ref).clusterConfig)) return;
  const pids = livePids(ref);
  await kwokctl(ref, ['stop', 'cluster']);
  await waitGone(ref, pids);
}

/** Stops the cluster and removes its state (kwok work dir, kubeconfig, generated config). No-op if absent. */
export async function deleteLocalCluster(ref: ClusterRef): Promise<void> {
  const p = paths(ref);
  if (existsSync(p.clusterConfig)) {
    const pids = livePids(ref);
    // --kubeconfig: kwokctl's default is ~/.kube/config, which it would edit.
    await kwokctl(ref, ['delete', 'cluster', '--kubeconfig', p.kubeconfig]);
    await waitGone(ref, pids);
  }
  for (const path of [
    p.workdir,
    p.kubeconfig,
    p.kwokctlConfig,
    p.stagesHash,
    p.podLogs,
    p.podLogsConfig,
    kubeCacheDir(p.kubeconfig),
  ])
    rmSync(path, { recursive: true, force: true });
}

/** Does the cluster exist, do its processes run, how many nodes are Ready? Never throws for an absent cluster. */
export async function clusterStatus(ref: ClusterRef): Promise<ClusterStatus> {
  const p = paths(ref);
  const status: ClusterStatus = {
    exists: existsSync(p.clusterConfig),
    running: false,
    components: {},
    nodes: { total: 0, ready: 0 },
    kubeconfigPath: p.kubeconfig,
  };
  if (!status.exists) return status;
  const out = await kwokctl(ref, ['get', 'components', '-o', 'wide']);
  for (const line of out.split('\n').slice(1)) {
    const [name, state] = line.trim().split(/\s+/);
    if (name && state) status.components[name] = state;
  }
  for (const [name, state] of Object.entries(status.components)) {
    if (state === 'Ready' && !pidFileIsLive(ref, name)) status.components[name] = 'Stopped';
  }
  const states = Object.values(status.components);
  // kwokctl's view lags (a component killed a second ago still shows Ready): running also
  // means that the apiserver answers.
  if (states.length > 0 && states.every((s) => s === 'Ready')) {
    // kwokctl's own kubeconfig: ours may have been deleted (createLocalCluster rewrites it).
    const nodes = await readNodes(join(p.clusterDir, 'kubeconfig.yaml')).catch(() => undefined);
    if (nodes) {
      status.running = true;
      status.nodes = { total: nodes.length, ready: nodes.filter((n) => n.ready).length };
    }
  }
  return status;
}

/** Runs kubectl against a kubeconfig and returns its stdout; throws with kubectl's stderr. */
export async function kubectl(kubeconfigPath: string, args: string[], input?: string): Promise<string> {
  const env = { KUBECONFIG: kubeconfigPath, KUBECACHEDIR: kubeCacheDir(kubeconfigPath) };
  const r = await execa(toolPath('kubectl'), ['--kubeconfig', kubeconfigPath, ...args], { input, reject: false, env });
  if (r.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** kubectl's discovery cache, beside the kubeconfig: its default is ~/.kube/cache. */
export function kubeCacheDir(kubeconfigPath: string): string {
  return join(dirname(kubeconfigPath), 'kube-cache');
}

async function create(opts: CreateClusterOptions, stagesFile: string): Promise<void> {
  const p = paths(opts);
  mkdirSync(opts.dataDir, { recursive: true });
  // kwokctl picks the ports of etcd, the controllers and the scheduler by counting down from 32767
  // and skipping only the ports of clusters in the SAME work dir: two work dirs (the user's cluster
  // and a test's) would get the same ports. So we choose every port ourselves, from the OS.
  const [apiserver, ...others] = await freePorts(6);
  const apiserverPort = opts.apiserverPort ?? apiserver!;
  if (opts.apiserverPort !== undefined) await assertPortFree(apiserverPort, `kube-apiserver of cluster '${opts.name}'`);
  const [etcdPort, etcdPeerPort, kwokControllerPort, kubeControllerManagerPort, kubeSchedulerPort] = others;
  writeFileSync(
    p.kwokctlConfig,
    stringify({
      apiVersion: 'config.kwok.x-k8s.io/v1alpha1',
      kind: 'KwokctlConfiguration',
      options: {
        // kwokctl's default is 0.0.0.0: an unauthenticated etcd reachable from the network.
        bindAddress: '127.0.0.1',
        kubeApiserverPort: apiserverPort,
        etcdPort,
        etcdPeerPort,
        kwokControllerPort,
        kubeControllerManagerPort,
        kubeSchedulerPort,
      },
      ...(opts.controllerManagerQps
        ? {
            componentsPatches: [
              {
                name: 'kube-controller-manager',
                extraArgs: [
                  { key: 'kube-api-qps', value: String(opts.controllerManagerQps) },
                  { key: 'kube-api-burst', value: String(2 * opts.controllerManagerQps) },
                ],
              },
            ],
          }
        : {}),
    }),
  );
  writeFileSync(p.stagesHash, sha256(stagesFile));
  writePodLogsConfig(p);
  const bin = (name: string) => toolPath(name);
  try {
    await kwokctl(opts, [
      'create',
      'cluster',
      '--runtime',
      'binary',
      '--timeout',
      '2m',
      '--kube-apiserver-binary',
      bin('kube-apiserver'),
      '--kube-controller-manager-binary',
      bin('kube-controller-manager'),
      '--kube-scheduler-binary',
      bin('kube-scheduler'),
      '--kwok-controller-binary',
      bin('kwok'),
      '--etcd-binary',
      bin('etcd'),
      // --kubeconfig: without it kwokctl adds its context to ~/.kube/config.
      '--kubeconfig',
      p.kubeconfig,
      '--config',
      p.kwokctlConfig,
      '--config',
      stagesFile,
      '--config',
      p.podLogsConfig,
    ]);
  } catch (err) {
    // A half-created cluster would be "started" next time and fail again: leave nothing behind.
    const logs = tailLogs(p.logs);
    await deleteLocalCluster(opts).catch(() => {});
    throw new Error(`${(err as Error).message}${logs}`, { cause: err });
  }
}

/** The ports each component listens on, as named in kwokctl-config.yaml. */
const componentPorts: Record<string, string[]> = {
  etcd: ['etcdPort', 'etcdPeerPort'],
  'kube-apiserver': ['kubeApiserverPort'],
  'kwok-controller': ['kwokControllerPort'],
  'kube-controller-manager': ['kubeControllerManagerPort'],
  'kube-scheduler': ['kubeSchedulerPort'],
};

async function start(ref: ClusterRef): Promise<void> {
  const p = paths(ref);
  const ports = existsSync(p.kwokctlConfig)
    ? (parse(readFileSync(p.kwokctlConfig, 'utf8')) as { options: Record<string, number> }).options
    : {};
  for (const [component, keys] of Object.entries(componentPorts)) {
    if (pidFileIsLive(ref, component)) continue;
    // kwokctl skips a component whose pid file names a live process, whatever that process is.
    rmSync(join(p.clusterDir, 'pids', `${component}.pid`), { force: true });
    // A cluster keeps its ports; if another process took one meanwhile, kwokctl would not say so.
    for (const key of keys) {
      const port = ports[key];
      if (port)
        await assertPortFree(
          port,
          `${component} of local cluster '${ref.name}'`,
          'delete the cluster to get new ports',
        );
    }
  }
  // --timeout: when the apiserver does not come up, kwokctl waits 2 min and then reports success anyway.
  await kwokctl(ref, ['start', 'cluster', '--timeout', '60s']);
}

// kwokctl knows its processes only by pid files, and only checks `kill -0`, which a reused pid
// (after a reboot) or a not-yet-reaped zombie also passes. On Linux we look at /proc instead:
// a live process of THIS cluster runs a binary from its bin/ dir. Elsewhere we trust kwokctl.
const hasProc = existsSync('/proc/self/cmdline');

function isClusterProcess(ref: ClusterRef, pid: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(join(paths(ref).clusterDir, 'bin') + '/');
  } catch {
    return false;
  }
}

function pidFileIsLive(ref: ClusterRef, component: string): boolean {
  if (!hasProc) return true;
  const pidFile = join(paths(ref).clusterDir, 'pids', `${component}.pid`);
  return existsSync(pidFile) && isClusterProcess(ref, readFileSync(pidFile, 'utf8').trim());
}

function livePids(ref: ClusterRef): string[] {
  if (!hasProc) return [];
  const pidDir = join(paths(ref).clusterDir, 'pids');
  const files = existsSync(pidDir) ? readdirSync(pidDir).filter((f) => f.endsWith('.pid')) : [];
  return files.map((f) => readFileSync(join(pidDir, f), 'utf8').trim()).filter((pid) => isClusterProcess(ref, pid));
}

/**
 * Gone, or a zombie with no thread left. An exiting process loses its cmdline before it closes its
 * sockets, and a Go program's main thread can be a zombie while its other threads still hold them.
 */
function exited(pid: string): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return (state === 'Z' || state === 'X') && readdirSync(`/proc/${pid}/task`).length <= 1;
  } catch {
    return true;
  }
}

/** kwokctl stop/delete send SIGKILL and return at once: wait until the processes (and their ports) are gone. */
async function waitGone(ref: ClusterRef, pids: string[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pids.every(exited)) {
    if (Date.now() > deadline)
      throw new Error(`processes ${pids.join(', ')} of local cluster '${ref.name}' did not exit`);
    await sleep(50);
  }
}

/** Runs kwokctl confined to the cluster's data dir; returns stdout, throws with its output. */
async function kwokctl(ref: ClusterRef, args: string[]): Promise<string> {
  const p = paths(ref);
  // Inherited KWOK_* variables would override our flags and config (e.g. KWOK_RUNTIME, ports).
  const env: Record<string, string | undefined> = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('KWOK_')),
  );
  Object.assign(env, {
    KWOK_WORKDIR: p.workdir, // its default is ~/.kwok
    KWOK_KUBE_VERSION: await kubeVersion(), // selects the flags kwokctl gives the components
    KWOK_KUBECTL_BINARY: toolPath('kubectl'),
    PATH: `${binDir()}:${process.env.PATH ?? ''}`, // kwokctl looks kubectl up on PATH first
    KUBECONFIG: p.kubeconfig, // belt and braces: nothing may fall back to ~/.kube/config
    KUBECACHEDIR: kubeCacheDir(p.kubeconfig), // kwokctl runs kubectl too
  });
  const r = await execa(toolPath('kwokctl'), ['--name', ref.name, ...args], {
    env,
    extendEnv: false,
    reject: false,
    timeout: 180_000,
  });
  if (r.exitCode !== 0) {
    throw new Error(
      `kwokctl ${args.slice(0, 2).join(' ')} (cluster '${ref.name}', ${ref.dataDir}) failed: ${(r.stderr || r.stdout || r.message || 'no output').trim()}`,
    );
  }
  return r.stdout;
}

let cachedKubeVersion: string | undefined;
/** The version of our kubectl build (install-tools.sh builds all of Kubernetes at one version). */
async function kubeVersion(): Promise<string> {
  if (!cachedKubeVersion) {
    const r = await execa(toolPath('kubectl'), ['version', '--client', '-o', 'json']);
    cachedKubeVersion = (JSON.parse(r.stdout) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion;
  }
  return cachedKubeVersion;
}

/** Writes the cluster's kubeconfig (only its own context) to dataDir/kubeconfig.yaml. */
async function writeKubeconfig(ref: ClusterRef): Promise<void> {
  writeFileSync(paths(ref).kubeconfig, await kwokctl(ref, ['get', 'kubeconfig']), { mode: 0o600 });
}

function handle(ref: ClusterRef, action: LocalCluster['action']): LocalCluster {
  const kubeconfigPath = paths(ref).kubeconfig;
  const config = parse(readFileSync(kubeconfigPath, 'utf8')) as {
    'current-context': string;
    clusters: { name: string; cluster: { server: string } }[];
    contexts: { name: string; context: { cluster: string } }[];
  };
  const context = config['current-context'];
  const clusterName = config.contexts.find((c) => c.name === context)?.context.cluster;
  const server = config.clusters.find((c) => c.name === clusterName)?.cluster.server;
  if (!server) throw new Error(`${kubeconfigPath} has no server for context '${context}'`);
  return {
    ...ref,
    kubeconfigPath,
    context,
    server,
    action,
    stop: () => stopLocalCluster(ref),
    delete: () => deleteLocalCluster(ref),
  };
}

async function readNodes(kubeconfigPath: string): Promise<{ name: string; ready: boolean }[]> {
  type Node = { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } };
  const list = JSON.parse(await kubectl(kubeconfigPath, ['get', 'nodes', '-o', 'json'])) as { items: Node[] };
  return list.items.map((n) => ({
    name: n.metadata.name,
    ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
  }));
}

/** The nodes, once the apiserver answers (it may still be starting after kwokctl returns). */
async function readNodesWhenUp(kubeconfigPath: string, timeoutMs: number): Promise<{ name: string; ready: boolean }[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await readNodes(kubeconfigPath);
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`the local cluster's apiserver does not answer: ${(err as Error).message}`, { cause: err });
      await sleep(250);
    }
  }
}

/**
 * Ready = `nodes` nodes Ready and the default ServiceAccount exists (pods are rejected without it,
 * and the controller-manager creates it a moment after start).
 */
async function waitReady(kubeconfigPath: string, nodes: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    try {
      const list = await readNodes(kubeconfigPath);
      const ready = list.filter((n) => n.ready).length;
      last = `${ready}/${list.length} nodes Ready (want ${nodes})`;
      if (ready >= nodes) {
        await kubectl(kubeconfigPath, ['get', 'serviceaccount', 'default', '-n', 'default', '-o', 'name']);
        return;
      }
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(250);
  }
  throw new Error(`local cluster not ready after ${timeoutMs} ms: ${last}`);
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** The last lines of each component's log, to explain a failed create. */
function tailLogs(dir: string): string {
  if (!existsSync(dir)) return '';
  let out = '';
  for (const name of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok-controller']) {
    const file = join(dir, `${name}.log`);
    if (!existsSync(file)) continue;
    // Last few lines, each cut short: kwok's JSON log lines run to hundreds of characters.
    const lines = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(-5)
      .map((l) => (l.length > 300 ? `${l.slice(0, 300)}...` : l));
    out += `\n--- ${file} (last lines) ---\n${lines.join('\n')}`;
  }
  return out;
}

/**
 * A Kubernetes API outage for reliability tests: SIGKILLs the cluster's kube-apiserver, keeps it down
 * for `downMs`, then starts it again (kwokctl restarts the missing component; etcd keeps the state)
 * and waits until it answers.
 */
export async function interruptApiServer(ref: ClusterRef, downMs: number): Promise<void> {
  const pidFile = join(paths(ref).clusterDir, 'pids', 'kube-apiserver.pid');
  const pid = readFileSync(pidFile, 'utf8').trim();
  if (hasProc && !isClusterProcess(ref, pid))
    throw new Error(`kube-apiserver of local cluster '${ref.name}' is not running (pid ${pid})`);
  process.kill(Number(pid), 'SIGKILL');
  await waitGone(ref, [pid]);
  await sleep(downMs);
  await start(ref);
  await readNodesWhenUp(paths(ref).kubeconfig, 60_000);
}
