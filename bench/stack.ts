// The stack a benchmark runs on: the pinned tools, a Temporal dev server and a local cluster in a
// temp dir (or, with BENCH_TEMPORAL_ADDRESS + BENCH_KUBECONFIG, a running stack, e.g. while
// developing a bench). Runtime logs go to stderr: stdout's last line is the bench's JSON.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { createActivities } from '../activities/index.ts';
import { loadKubeConfig, makeKubeClients, type KubeClients } from '../activities/kube/client.ts';
import { startDevServer } from '../scripts/stack/temporal-dev-server.ts';
import { createLocalCluster, kubectl, type CreateClusterOptions } from '../scripts/stack/local-cluster.ts';
import { ensureTools, toolPath } from '../scripts/stack/tools.ts';
import { createLogger } from '../worker/logger.ts';
import { createRunbookWorker } from '../worker/worker.ts';
import { workflowBundlePath } from '../worker/workflow-bundle.ts';

export interface BenchStack {
  dir: string;
  temporal: { address: string; stop(): Promise<void> };
  cluster: { kubeconfigPath: string; delete(): Promise<void> };
  kube: KubeClients;
  /** kubectl against the bench's cluster. */
  k(args: string[], input?: string): Promise<string>;
  log(line: string): void;
}

export async function startBenchStack(
  name: string,
  nodes: number,
  clusterOptions: Pick<CreateClusterOptions, 'controllerManagerQps'> = {},
): Promise<BenchStack> {
  const log = (line: string) => console.error(`bench: ${line}`);
  // The SDK core's own log lines too (they go to stdout by default): stderr, so stdout ends with the JSON line.
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => console.error(`temporal ${entry.level}: ${entry.message}`)),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  });
  await ensureTools(['temporal', 'kwok', 'etcd', 'kubernetes', 'helm']);
  const dir = mkdtempSync(join(tmpdir(), `bench-${name}-`));
  const temporal = process.env.BENCH_TEMPORAL_ADDRESS
    ? { address: process.env.BENCH_TEMPORAL_ADDRESS, stop: async () => undefined }
    : await startDevServer({ logFile: join(dir, 'temporal.log') });
  const cluster = process.env.BENCH_KUBECONFIG
    ? { kubeconfigPath: process.env.BENCH_KUBECONFIG, delete: async () => undefined }
    : await createLocalCluster({
        name: `bench-${randomUUID().slice(0, 6)}`,
        dataDir: join(dir, 'cluster'),
        nodes,
        ...clusterOptions,
      });
  log(`stack up: Temporal ${temporal.address}, cluster ${cluster.kubeconfigPath}`);
  const kube = makeKubeClients(loadKubeConfig({ kubeconfigPath: cluster.kubeconfigPath }));
  return { dir, temporal, cluster, kube, k: (args, input) => kubectl(cluster.kubeconfigPath, args, input), log };
}

export interface BenchWorker {
  client: Client;
  taskQueue: string;
  /** Shuts the worker down and closes its connections. */
  stop(): Promise<void>;
}

/** The real worker (real activities against the bench's cluster) on its own task queue, started the way a user starts it. */
export async function startBenchWorker(stack: BenchStack, taskQueue: string): Promise<BenchWorker> {
  const connection = await Connection.connect({ address: stack.temporal.address });
  const nativeConnection = await NativeConnection.connect({ address: stack.temporal.address });
  const worker = await createRunbookWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    workflowBundle: { codePath: await workflowBundlePath() },
    activities: createActivities({
      kube: stack.kube,
      kubeTarget: { kubeconfigPath: stack.cluster.kubeconfigPath },
      helmBin: toolPath('helm'),
      workdir: process.cwd(),
      logger: createLogger('error'),
    }),
  });
  const running = worker.run();
  return {
    client: new Client({ connection }),
    taskQueue,
    stop: async () => {
      worker.shutdown();
      await running.catch(() => undefined);
      await nativeConnection.close();
      await connection.close();
    },
  };
}

/**
 * Runs the benchmark and prints its result as stdout's last line, after the worker and the stack
 * have stopped (whatever they log while stopping comes before it); a failure is logged and exits 1.
 */
export async function runBench(stack: BenchStack, worker: BenchWorker, bench: () => Promise<object>): Promise<void> {
  let result: object | undefined;
  try {
    result = await bench();
  } catch (err) {
    stack.log(`failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  }
  for (const stop of [() => worker.stop(), () => stack.cluster.delete(), () => stack.temporal.stop()]) {
    await stop().catch((err: unknown) => stack.log(`stopping: ${String(err)}`));
  }
  if (result) console.log(JSON.stringify(result));
}
