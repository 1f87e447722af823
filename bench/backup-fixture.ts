// The stack both backup benchmarks run on: their own Temporal dev server and local cluster (temp
// dirs, deleted afterwards), an in-process worker with the real activities, the platform deployed by
// deployPlatform, and N TaskRuns with status created concurrently.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { createActivities } from '../activities/index.ts';
import { loadKubeConfig, makeKubeClients, type KubeClients } from '../activities/kube/client.ts';
import { forEachConcurrently } from '../activities/concurrency.ts';
import { createTaskRun } from '../test/helpers/taskrun-objects.ts';
import { ensureTools, toolPath } from '../scripts/stack/tools.ts';
import { startDevServer } from '../scripts/stack/temporal-dev-server.ts';
import { createLocalCluster, kubectl } from '../scripts/stack/local-cluster.ts';
import { createLogger } from '../worker/logger.ts';
import { createRunbookWorker } from '../worker/worker.ts';

export interface BenchStack {
  dir: string;
  kubeconfigPath: string;
  kube: KubeClients;
  client: Client;
  taskQueue: string;
  store: string;
  recipient: string;
  kubectl(args: string[], input?: string): Promise<string>;
  execute<T>(workflow: string, input: unknown): Promise<T>;
  close(): Promise<void>;
}

export const log = (line: string) => console.error(`bench: ${line}`);
const repo = fileURLToPath(new URL('..', import.meta.url));

export async function startBenchStack(): Promise<BenchStack> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
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
  const connection = await Connection.connect({ address: temporal.address });
  const nativeConnection = await NativeConnection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const taskQueue = 'bench';
  const worker = await createRunbookWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    activities: createActivities({
      kube,
      kubeTarget: { kubeconfigPath: cluster.kubeconfigPath },
      helmBin: toolPath('helm'),
      workdir: repo,
      backupDir: store,
      logger: createLogger('warn'),
    }),
  });
  const running = worker.run();
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
    execute: async <T>(workflow: string, input: unknown) =>
      (await client.workflow.execute(workflow, {
        taskQueue,
        workflowId: `${workflow}-${++n}-${randomUUID().slice(0, 6)}`,
        args: [input],
      })) as T,
    close: async () => {
      worker.shutdown();
      await running;
      await nativeConnection.close();
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
