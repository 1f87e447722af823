// `npm run bench -- worker [--runs N] [--taskruns T] [--repeat R] [--settle S]`: the worker's memory.
// The real worker process (worker/main.ts, started as `npm start` starts it, on the bench's stack)
// is sampled (VmRSS, VmHWM of /proc/PID/status) idle S seconds (default 30) after "worker started",
// then again S seconds after a workload like npm test's: N short runbook runs (default 300, 10 at a
// time: platformHealth, cleanupTaskRuns dryRun, deployPlatform dryRun) while a taskRunController
// reconciles T TaskRuns (default 50) and keeps running. The baseline, in the same run: a minimal SDK
// worker (bench/baselines/minimal-worker.ts: SDK defaults, one trivial workflow), idle. R rounds
// (default 3), alternating which goes first; medians. The worker takes its sizing from the
// environment (RUNBOOK_MAX_CACHED_WORKFLOWS...), so one bench measures any sizing.
// Target: idle RSS <= 200 MB. Prints one JSON line last; logs go to stderr.
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { Client, Connection } from '@temporalio/client';
import { forEachConcurrently } from '../activities/concurrency.ts';
import { startWorkerProcess, waitForLogLine } from '../test/helpers/worker-process.ts';
import { runBench, startBenchStack, type BenchWorker } from './stack.ts';
import { controllerNamespace, createTaskRunBurst, startOurController } from './taskrun-load.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '300' },
    taskruns: { type: 'string', default: '50' },
    repeat: { type: 'string', default: '3' },
    settle: { type: 'string', default: '30' },
  },
});
const RUNS = Number(values.runs);
const TASKRUNS = Number(values.taskruns);
const REPEAT = Number(values.repeat);
const SETTLE_MS = Number(values.settle) * 1000;
const TARGET_BYTES = 200 * 1024 * 1024;
const repo = fileURLToPath(new URL('..', import.meta.url));
const crdFile = fileURLToPath(new URL('../charts/orchestrator/crds/taskruns.orchestrator.io.yaml', import.meta.url));

/** VmRSS and VmHWM (peak RSS) of a process, in bytes. */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : Math.round((s[s.length / 2 - 1]! + s[s.length / 2]!) / 2);
};
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

async function stopChild(child: ResultPromise): Promise<void> {
  child.kill('SIGINT');
  const stopped = await Promise.race([
    child.then(
      () => true,
      () => true,
    ),
    sleep(30_000).then(() => false),
  ]);
  if (!stopped) child.kill('SIGKILL');
  await child.catch(() => undefined);
}

const stack = await startBenchStack('worker', 1);
const { temporal, cluster, k, log } = stack;
await k(['apply', '--server-side', '-f', crdFile]);
await k(['wait', '--for=condition=Established', 'crd/taskruns.orchestrator.io', '--timeout=60s']);
const connection = await Connection.connect({ address: temporal.address });
const client = new Client({ connection });
const logDir = mkdtempSync(join(stack.dir, 'logs-'));

/** The minimal SDK worker, idle: RSS `settle` after it polls. */
async function baselineIdle(round: number): Promise<number> {
  const logFile = join(logDir, `baseline-${round}.log`);
  const child = execa(
    process.execPath,
    ['bench/baselines/minimal-worker.ts', temporal.address, `bench-worker-baseline-${round}`],
    { cwd: repo, reject: false, stdout: { file: logFile }, stderr: { file: logFile }, cleanup: true },
  );
  try {
    await waitForLogLine(child, logFile, 'ready', 'the minimal SDK worker');
    await sleep(SETTLE_MS);
    return memoryOf(child.pid!).rss;
  } finally {
    await stopChild(child);
  }
}

/** N short runbook runs, `concurrency` at a time, each checked for the outcome its input asks for. */
async function shortRuns(taskQueue: string, namespace: string, deployNamespace: string, round: number): Promise<void> {
  const kinds = [
    ...Array<string>(6).fill('platformHealth'),
    ...Array<string>(3).fill('cleanupTaskRuns'),
    'deployPlatform',
  ];
  const inputOf = (kind: string) =>
    kind === 'platformHealth'
      ? { namespace }
      : kind === 'cleanupTaskRuns'
        ? { namespace, dryRun: true }
        : { namespace: deployNamespace, release: 'bench', dryRun: true, skipHealthCheck: true };
  const ids = Array.from({ length: RUNS }, (_, i) => i);
  await forEachConcurrently(ids, 10, async (i) => {
    const kind = kinds[i % kinds.length]!;
    const report = (await client.workflow.execute(kind, {
      taskQueue,
      workflowId: `bench-worker-${round}-${kind}-${i}`,
      args: [inputOf(kind)],
    })) as { runbook?: string; dryRun?: boolean };
    if (kind !== 'platformHealth' && report.dryRun !== true) throw new Error(`${kind} did not run as a dry run`);
  });
}

interface WorkerSample {
  idle: number;
  afterWorkload: number;
  peak: number;
  workloadSeconds: number;
  options: object;
}

/** The real worker: idle, then the workload (a controller with TaskRuns + short runs), then settled again. */
async function workerRound(round: number): Promise<WorkerSample> {
  const taskQueue = `bench-worker-${round}`;
  // Started as npm start starts it (worker/process-env.ts), with the local cluster's /health stand-in.
  const child = await startWorkerProcess({
    temporalAddress: temporal.address,
    kubeconfigPath: cluster.kubeconfigPath,
    taskQueue,
    args: ['--local-health-standin'],
    logDir,
  });
  try {
    const started = readFileSync(child.logFile, 'utf8')
      .split('\n')
      .find((l) => l.includes('"msg":"worker started"'));
    const options = (JSON.parse(started!) as { sizing?: object }).sizing ?? {};
    await sleep(SETTLE_MS);
    const idle = memoryOf(child.pid).rss;
    log(`round ${round}: the worker idles at ${mb(idle)} (${JSON.stringify(options)})`);

    const t0 = performance.now();
    const namespace = await controllerNamespace(stack, `bench-worker-${round}`, 100);
    await createTaskRunBurst(stack, namespace, 'tr-', TASKRUNS);
    const worker: BenchWorker = { client, taskQueue, stop: async () => undefined };
    const controller = await startOurController(worker, namespace, 120);
    // deployPlatform plans into a namespace of its own (the controller's ConfigMap is not the chart's).
    await k(['create', 'namespace', `${namespace}-deploy`]);
    await shortRuns(taskQueue, namespace, `${namespace}-deploy`, round);
    for (let i = 0; ; i++) {
      const jobs = await stack.kube.batch.listNamespacedJob({ namespace });
      if (jobs.items.length >= TASKRUNS) break;
      if (i > 600) throw new Error(`the controller made ${jobs.items.length} of ${TASKRUNS} Jobs`);
      await sleep(200);
    }
    const workloadSeconds = (performance.now() - t0) / 1000;
    await sleep(SETTLE_MS);
    const after = memoryOf(child.pid);
    log(
      `round ${round}: ${RUNS} runs + ${TASKRUNS} TaskRuns in ${workloadSeconds.toFixed(0)} s; after: ${mb(after.rss)}, peak ${mb(after.hwm)}`,
    );
    await controller.terminate('bench round done').catch(() => undefined);
    await k(['delete', 'namespace', namespace, `${namespace}-deploy`, '--wait=false']).catch(() => undefined);
    return { idle, afterWorkload: after.rss, peak: after.hwm, workloadSeconds, options };
  } finally {
    await child.kill('SIGINT');
  }
}

await runBench(stack, { client, taskQueue: 'bench-worker', stop: () => connection.close() }, async () => {
  const ours: WorkerSample[] = [];
  const baseline: number[] = [];
  for (let round = 1; round <= REPEAT; round++) {
    // Each goes first in every other round (the machine warms up, other jobs come and go).
    if (round % 2) {
      ours.push(await workerRound(round));
      baseline.push(await baselineIdle(round));
    } else {
      baseline.push(await baselineIdle(round));
      ours.push(await workerRound(round));
    }
    log(`round ${round}: the minimal SDK worker idles at ${mb(baseline.at(-1)!)}`);
  }
  const idleRssBytes = median(ours.map((s) => s.idle));
  const baselineIdleRssBytes = median(baseline);
  return {
    bench: 'worker',
    idleRssBytes,
    afterWorkloadRssBytes: median(ours.map((s) => s.afterWorkload)),
    peakRssBytes: median(ours.map((s) => s.peak)),
    baselineIdleRssBytes,
    ratio: Number((idleRssBytes / baselineIdleRssBytes).toFixed(3)),
    idleRssMB: ours.map((s) => Math.round(s.idle / 2 ** 20)),
    afterWorkloadRssMB: ours.map((s) => Math.round(s.afterWorkload / 2 ** 20)),
    peakRssMB: ours.map((s) => Math.round(s.peak / 2 ** 20)),
    baselineIdleRssMB: baseline.map((b) => Math.round(b / 2 ** 20)),
    workloadSeconds: ours.map((s) => Math.round(s.workloadSeconds)),
    runs: RUNS,
    taskRuns: TASKRUNS,
    repeat: REPEAT,
    settleSeconds: SETTLE_MS / 1000,
    options: ours[0]?.options ?? {},
    nodeOptions: process.env.NODE_OPTIONS ?? '',
    targetBytes: TARGET_BYTES,
    pass: idleRssBytes <= TARGET_BYTES,
  };
});
