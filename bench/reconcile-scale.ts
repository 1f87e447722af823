// `npm run bench -- reconcile-scale [--taskruns N] [--max-concurrent M]`: N TaskRuns (default
// 10,000) created at once (50 in flight) while the controller runs with maxConcurrentTasks M
// (default 200), so most wait as Pending; kwok runs their Jobs to completion; until all N are
// Succeeded. The same load against the informer baseline (bench/baselines/informer-controller.ts,
// with the same cap) on the same fresh cluster and dev server. Prints one JSON line last: time to
// the first Job, total time and its `ratio` to the baseline (target <= 1.2), `maxPayloadBytes` (the
// largest payload in the controller's histories, target <= 512 KB), `peakRssBytes` (of this
// process, which runs the worker; target <= 400 MB), the history length per run.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Watch } from '@kubernetes/client-node';
import { AGENT_SELECTOR } from '../activities/kube/jobs.ts';
import { TASKRUN } from '../activities/kube/taskruns.ts';
import { controllerWorkflowId } from '../contract/types/taskrun.ts';
import { workflowRunStats } from '../test/helpers/history-payloads.ts';
import { startInformerController } from './baselines/informer-controller.ts';
import { startBenchStack, startBenchWorker } from './stack.ts';

const { values } = parseArgs({
  options: {
    taskruns: { type: 'string', default: '10000' },
    'max-concurrent': { type: 'string', default: '200' },
    /** Give up on a controller after this many seconds. */
    timeout: { type: 'string', default: '1800' },
  },
});
const N = Number(values.taskruns);
const CAP = Number(values['max-concurrent']);
const TIMEOUT_MS = Number(values.timeout) * 1000;
const log = (line: string) => console.error(`bench: ${line}`);
const crdFile = fileURLToPath(new URL('../charts/orchestrator/crds/taskruns.orchestrator.io.yaml', import.meta.url));

const stack = await startBenchStack('reconcile-scale', 3);
const { temporal, cluster, kube, k } = stack;
await k(['apply', '--server-side', '-f', crdFile]);
await k(['wait', '--for=condition=Established', 'crd/taskruns.orchestrator.io', '--timeout=60s']);

const { client, taskQueue, stop: stopWorker } = await startBenchWorker(stack, 'bench-reconcile-scale');

async function namespaceWith(name: string): Promise<string> {
  await k(['create', 'namespace', name]);
  await k(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'taskrun-controller-config', namespace: name },
      data: {
        'config.yaml': `agent:\n  image: example/claude-agent:1.0.0\njob:\n  backoffLimit: 0\nmaxConcurrentTasks: ${CAP}\n`,
      },
    }),
  );
  return name;
}

const createTaskRun = (namespace: string, name: string) =>
  kube.custom.createNamespacedCustomObject({
    group: TASKRUN.group,
    version: TASKRUN.version,
    plural: TASKRUN.plural,
    namespace,
    body: {
      apiVersion: 'orchestrator.io/v1',
      kind: 'TaskRun',
      metadata: { name, namespace },
      spec: { service: 'bench', taskId: name, prompt: `bench task ${name}` },
    },
  });

/** Watches a namespace's objects at `path`; calls `seen` for each event. Resumed when the watch ends. */
function follow(
  path: string,
  params: Record<string, string>,
  seen: (type: string, obj: Record<string, unknown>) => void,
): { stop(): void } {
  let stopped = false;
  let abort: AbortController | undefined;
  const start = () => {
    if (stopped) return;
    void new Watch(kube.config)
      .watch(path, params, seen, () => setTimeout(start, 200))
      .then(
        (a) => {
          abort = a;
          if (stopped) a.abort();
        },
        () => setTimeout(start, 500),
      );
  };
  start();
  return {
    stop: () => {
      stopped = true;
      abort?.abort();
    },
  };
}

interface Run {
  firstJobSeconds: number;
  totalSeconds: number;
  createSeconds: number;
}

async function drain(label: string, ns: string): Promise<Run> {
  let firstJob = 0;
  const succeeded = new Set<string>();
  const jobs = follow(`/apis/batch/v1/namespaces/${ns}/jobs`, { labelSelector: AGENT_SELECTOR }, (type) => {
    if (type === 'ADDED' && !firstJob) firstJob = performance.now();
  });
  const runs = follow(
    `/apis/${TASKRUN.group}/${TASKRUN.version}/namespaces/${ns}/${TASKRUN.plural}`,
    {},
    (_type, obj) => {
      const name = (obj.metadata as { name?: string } | undefined)?.name;
      if (name && (obj.status as { phase?: string } | undefined)?.phase === 'Succeeded') succeeded.add(name);
    },
  );
  await sleep(500);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      for (let i = next++; i < N; i = next++) await createTaskRun(ns, `t-${i}`);
    }),
  );
  const createSeconds = (performance.now() - t0) / 1000;
  log(`${label}: ${N} TaskRuns created in ${createSeconds.toFixed(1)} s`);
  let lastLog = performance.now();
  while (succeeded.size < N) {
    if (performance.now() - t0 > TIMEOUT_MS)
      throw new Error(`${label}: only ${succeeded.size} of ${N} Succeeded after ${TIMEOUT_MS / 1000} s`);
    if (performance.now() - lastLog > 30_000) {
      lastLog = performance.now();
      log(`${label}: ${succeeded.size} of ${N} Succeeded after ${((lastLog - t0) / 1000).toFixed(0)} s`);
    }
    await sleep(200);
  }
  const totalSeconds = (performance.now() - t0) / 1000;
  jobs.stop();
  runs.stop();
  const r = {
    firstJobSeconds: +((firstJob - t0) / 1000).toFixed(3),
    totalSeconds: +totalSeconds.toFixed(1),
    createSeconds: +createSeconds.toFixed(1),
  };
  log(`${label}: ${JSON.stringify(r)}`);
  return r;
}

let exit = 0;
try {
  const baselineNs = await namespaceWith(`scale-baseline-${randomUUID().slice(0, 4)}`);
  const baselineController = await startInformerController(kube, baselineNs, { maxConcurrentTasks: CAP });
  // Stopped also when it fails: its informers restart forever and keep the process alive.
  const baseline = await drain('baseline', baselineNs).finally(() => baselineController.stop());
  await k(['delete', 'namespace', baselineNs, '--wait=false']);

  const ns = await namespaceWith(`scale-ours-${randomUUID().slice(0, 4)}`);
  const handle = await client.workflow.start('taskRunController', {
    taskQueue,
    workflowId: controllerWorkflowId(ns),
    args: [{ namespace: ns }],
  });
  for (let i = 0; i < 400 && (await handle.query<{ rounds: number }>('taskRunController')).rounds < 1; i++)
    await sleep(50);
  let peakRssBytes = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
  }, 250);
  const ours = await drain('ours', ns);
  clearInterval(sampler);
  await handle.terminate('bench done');
  const stats = await workflowRunStats({ address: temporal.address }, handle.workflowId, handle.firstExecutionRunId);
  const ratio = +(ours.totalSeconds / baseline.totalSeconds).toFixed(3);
  const result = {
    bench: 'reconcile-scale',
    taskRuns: N,
    maxConcurrentTasks: CAP,
    firstJobSeconds: ours.firstJobSeconds,
    totalSeconds: ours.totalSeconds,
    baselineTotalSeconds: baseline.totalSeconds,
    baselineFirstJobSeconds: baseline.firstJobSeconds,
    ratio,
    maxPayloadBytes: stats.maxPayloadBytes,
    peakRssBytes,
    runs: stats.runs,
    historyLengths: stats.historyLengths,
    targets: { ratio: 1.2, maxPayloadBytes: 512 * 1024, peakRssBytes: 400 * 1024 * 1024 },
    pass: ratio <= 1.2 && stats.maxPayloadBytes <= 512 * 1024 && peakRssBytes <= 400 * 1024 * 1024,
  };
  console.log(JSON.stringify(result));
} catch (err) {
  log(`failed: ${(err as Error).stack ?? String(err)}`);
  exit = 1;
} finally {
  await stopWorker();
  await cluster.delete();
  await temporal.stop();
}
process.exitCode = exit;
