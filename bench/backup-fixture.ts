// The stack both backup benchmarks run on: their own Temporal dev server and local cluster (temp
// dirs, deleted afterwards), the real worker as its own process (worker/main.ts: its peak RSS is the
// worker's alone), the platform deployed by deployPlatform, and N TaskRuns with status created concurrently.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { loadKubeConfig, makeKubeClients, type KubeClients } from '../activities/kube/client.ts';
import { forEachConcurrently } from '../activities/concurrency.ts';
import { createTaskRun } from '../test/helpers/taskrun-objects.ts';
import { workflowRunStats } from '../test/helpers/history-payloads.ts';
import { startWorkerProcess } from '../test/helpers/worker-process.ts';
import { ensureTools } from '../scripts/stack/tools.ts';
import { startDevServer } from '../scripts/stack/temporal-dev-server.ts';
import { createLocalCluster, kubectl } from '../scripts/stack/local-cluster.ts';

export interface BenchStack {
  dir: string;
  kubeconfigPath: string;
  kube: KubeClients;
  client: Client;
  taskQueue: string;
  store: string;
  recipient: string;
  kubectl(args: string[], input?: string): Promise<string>;
  /** Runs a workflow to its end (workflowId: a fresh one when not given). */
  execute<T>(workflow: string, input: unknown, workflowId?: string): Promise<T>;
  /** The worker process: its peak RSS since the last reset, its CPU seconds. */
  worker: { pid: number; resetPeakRss(): void; peakRssBytes(): number; rssBytes(): number; cpuSeconds(): number };
  /** The largest payload (an activity's input or result, a workflow's) in a workflow's history. */
  maxPayloadBytes(workflowId: string): Promise<number>;
  close(): Promise<void>;
}

/** VmHWM (peak resident set) or VmRSS (resident set now) of a process, from /proc/PID/status. */
export function rssOf(pid: number, field: 'VmHWM' | 'VmRSS' = 'VmHWM'): number {
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (!kb) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

/** CPU seconds (user + system) of a process, from /proc/PID/stat (clock ticks of 1/100 s). */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The machine's load averages (1, 5, 15 min): the machine is shared, every number goes with them. */
export const loadAverages = (): number[] => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);

export const log = (line: string) => console.error(`bench: ${line}`);

export async function startBenchStack(): Promise<BenchStack> {
  await ensureTools(['temporal', 'helm', 'kwok', 'etcd', 'kubernetes'], { progressTo: 'stderr' });
  const dir = mkdtempSync(join(tmpdir(), 'runbooks-bench-'));
  const temporal = await startDevServer({ logFile: join(dir, 'temporal.log') }).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const cluster = await createLocalCluster({
    name: `bench-${randomUUID().slice(0, 6)}`,
    dataDir: join(dir, 'cluster'),
    nodes: 1,
  }).catch(async (err: unknown) => {
    await temporal.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const kube = makeKubeClients(loadKubeConfig({ kubeconfigPath: cluster.kubeconfigPath }));
  const identity = await generateX25519Identity();
  process.env.RUNBOOK_BACKUP_HMAC_KEY = randomBytes(32).toString('hex');
  process.env.RUNBOOK_BACKUP_AGE_IDENTITY = identity;
  process.env.RUNBOOK_SECRET_BENCH_API_KEY = randomBytes(16).toString('hex');
  const store = join(dir, 'backups');
  const taskQueue = 'bench';
  // The worker inherits this environment (the keys above) and writes its backups into the store.
  const worker = await startWorkerProcess({
    temporalAddress: temporal.address,
    kubeconfigPath: cluster.kubeconfigPath,
    taskQueue,
    env: { RUNBOOK_BACKUP_DIR: store },
  }).catch(async (err: unknown) => {
    await cluster.delete();
    await temporal.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  let n = 0;
  return {
    dir,
    kubeconfigPath: cluster.kubeconfigPath,
    kube,
    client,
    taskQueue,
    store,
    recipient: await identityToRecipient(identity),
    kubectl: (args, input) => kubectl(cluster.kubeconfigPath, args, input),
    execute: async <T>(workflow: string, input: unknown, workflowId?: string) =>
      (await client.workflow.execute(workflow, {
        taskQueue,
        workflowId: workflowId ?? `${workflow}-${++n}-${randomUUID().slice(0, 6)}`,
        args: [input],
      })) as T,
    worker: {
      pid: worker.pid,
      // Writing 5 to clear_refs sets VmHWM back to the current RSS (Linux 4.0+).
      resetPeakRss: () => writeFileSync(`/proc/${worker.pid}/clear_refs`, '5'),
      peakRssBytes: () => rssOf(worker.pid),
      rssBytes: () => rssOf(worker.pid, 'VmRSS'),
      cpuSeconds: () => cpuSecondsOf(worker.pid),
    },
    maxPayloadBytes: async (workflowId) => {
      const { runId } = await client.workflow.getHandle(workflowId).describe();
      return (await workflowRunStats({ address: temporal.address }, workflowId, runId)).maxPayloadBytes;
    },
    close: async () => {
      await worker.kill('SIGTERM');
      rmSync(dirname(worker.logFile), { recursive: true, force: true });
      await connection.close();
      await cluster.delete();
      await temporal.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** deployPlatform into `namespace` (helm release, CRD, a Secret, the chart's controller ConfigMap), then `count` TaskRuns with status. */
export async function seedPlatform(stack: BenchStack, namespace: string, count: number): Promise<void> {
  const started = Date.now();
  await stack.execute('deployPlatform', {
    namespace,
    skipHealthCheck: true,
    secrets: [
      {
        name: 'orchestrator-secrets',
        keys: [{ key: 'ANTHROPIC_API_KEY', from: { env: 'RUNBOOK_SECRET_BENCH_API_KEY' } }],
      },
    ],
  });
  await createTaskRuns(stack.kube, namespace, count);
  log(`seeded ${namespace}: platform + ${count} TaskRuns in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const PHASES = ['Succeeded', 'Failed', 'Running', 'Pending'];

/** `count` TaskRuns of 20 services, each with a status (a quarter each Succeeded, Failed, Running, Pending); 32 at a time. */
export async function createTaskRuns(kube: KubeClients, namespace: string, count: number): Promise<void> {
  const indexes = Array.from({ length: count }, (_, i) => i);
  await forEachConcurrently(indexes, 32, async (i) => {
    const name = `task-${String(i).padStart(5, '0')}`;
    const service = `svc-${i % 20}`;
    const phase = PHASES[i % PHASES.length]!;
    await createTaskRun(
      { kube },
      namespace,
      { name, labels: { service } },
      {
        service,
        taskId: name,
        prompt: `Fix the flaky test number ${i} in the service and open a pull request with the change.`,
      },
      { phase, ...(phase !== 'Pending' ? { jobName: `${name}-job` } : {}) },
    );
  });
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; result: T }> {
  const started = process.hrtime.bigint();
  const result = await fn();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, result };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
