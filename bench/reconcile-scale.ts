// `npm run bench -- reconcile-scale [--taskruns N] [--max-concurrent M] [--cpu-prof DIR]`: N TaskRuns (default
// 10,000) created at once (50 in flight) while the controller runs with maxConcurrentTasks M
// (default 200), so most wait as Pending; kwok runs their Jobs to completion; until all N are
// Succeeded. The same load against the informer baseline (bench/baselines/informer-controller.ts,
// with the same cap) on the same fresh cluster and dev server. Prints one JSON line last: time to
// the first Job, total time and its `ratio` to the baseline (target <= 1.2), `maxPayloadBytes` (the
// largest payload in the controller's histories, target <= 512 KB), `peakRssBytes` (of the worker
// process that runs our controller, started as npm start starts it; target <= 400 MB), the history
// length per run.
//   --at-rest N: instead, a namespace with N finished TaskRuns (default size 50,000) at rest: our
// controller (resync every 20 s) for three resyncs; the time to its first round (the relist), the
// worker's peak RSS, the largest payload, history events a minute; it must follow none of them and
// create no Job.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { AGENT_SELECTOR } from '../activities/kube/jobs.ts';
import { TASKRUN } from '../activities/kube/taskruns.ts';
import { workflowRunStats } from '../test/helpers/history-payloads.ts';
import { startWorkerProcess } from '../test/helpers/worker-process.ts';
import { startInformerController } from './baselines/informer-controller.ts';
import { runBench } from './stack.ts';
import { follow } from './follow-watch.ts';
import { costBetween, readCost, stackPids, type CostReading } from './stack-cost.ts';
import { controllerNamespace, createTaskRunBurst, startOurController, startTaskRunBench } from './taskrun-load.ts';
import { createTaskRun } from '../test/helpers/taskrun-objects.ts';
import { forEachConcurrently } from '../activities/concurrency.ts';
import { taskRunControllerQuery } from '../contract/messages.ts';

const { values } = parseArgs({
  options: {
    taskruns: { type: 'string', default: '10000' },
    'max-concurrent': { type: 'string', default: '200' },
    /** Give up on a controller after this many seconds. */
    timeout: { type: 'string', default: '1800' },
    'at-rest': { type: 'string' },
    /** Write the CPU profiles of our worker process (main and workflow threads) to this directory. */
    'cpu-prof': { type: 'string' },
  },
});
const N = Number(values.taskruns);
const CAP = Number(values['max-concurrent']);
const TIMEOUT_MS = Number(values.timeout) * 1000;

// Both controllers drain through the cluster's Job controller: at kube-controller-manager's default 20
// requests/s it completes ~3.3 agent pods a second whichever controller runs (50 min a side for 10,000).
const { stack, worker } = await startTaskRunBench('reconcile-scale', { controllerManagerQps: 200 });
const { temporal, kube, k, log } = stack;

/** VmHWM: the most memory the process has held since it started. */
function peakRssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) * 1024;
}

interface Run {
  firstJobSeconds: number;
  totalSeconds: number;
  createSeconds: number;
  /** What the drain cost the stack: CPU seconds per process, the API server's requests. */
  cost: CostReading;
}

/** `processes`: the controller's own (this bench process runs the baseline; the worker process ours). */
async function drain(label: string, ns: string, processes: Record<string, number>): Promise<Run> {
  const pids = { ...stackPids(join(stack.dir, 'cluster'), temporal.address), ...processes };
  let firstJob = 0;
  const succeeded = new Set<string>();
  // Every TaskRun's Job succeeds here: a Failed one is a controller bug, named at once (not a timeout later).
  const failed = new Map<string, string>();
  const jobs = follow(
    kube.config,
    `/apis/batch/v1/namespaces/${ns}/jobs`,
    { labelSelector: AGENT_SELECTOR },
    (type) => {
      if (type === 'ADDED' && !firstJob) firstJob = performance.now();
    },
  );
  const runs = follow(
    kube.config,
    `/apis/${TASKRUN.group}/${TASKRUN.version}/namespaces/${ns}/${TASKRUN.plural}`,
    {},
    (_type, obj) => {
      const name = (obj.metadata as { name?: string } | undefined)?.name;
      const status = obj.status as { phase?: string; message?: string } | undefined;
      if (name && status?.phase === 'Succeeded') succeeded.add(name);
      if (name && status?.phase === 'Failed') failed.set(name, status.message ?? '');
    },
  );
  await sleep(500);
  const before = await readCost(kube, pids);
  const t0 = performance.now();
  await createTaskRunBurst(stack, ns, 't-', N);
  const createSeconds = (performance.now() - t0) / 1000;
  log(`${label}: ${N} TaskRuns created in ${createSeconds.toFixed(1)} s`);
  let lastLog = performance.now();
  while (succeeded.size < N) {
    if (failed.size) {
      const [name, why] = [...failed][0]!;
      throw new Error(`${label}: ${failed.size} TaskRuns Failed (${[...failed.keys()].join(', ')}); ${name}: ${why}`);
    }
    if (performance.now() - t0 > TIMEOUT_MS)
      throw new Error(`${label}: only ${succeeded.size} of ${N} Succeeded after ${TIMEOUT_MS / 1000} s`);
    if (performance.now() - lastLog > 30_000) {
      lastLog = performance.now();
      log(`${label}: ${succeeded.size} of ${N} Succeeded after ${((lastLog - t0) / 1000).toFixed(0)} s`);
    }
    await sleep(200);
  }
  const totalSeconds = (performance.now() - t0) / 1000;
  const cost = costBetween(before, await readCost(kube, pids));
  jobs.stop();
  runs.stop();
  const r = {
    firstJobSeconds: +((firstJob - t0) / 1000).toFixed(3),
    totalSeconds: +totalSeconds.toFixed(1),
    createSeconds: +createSeconds.toFixed(1),
    cost,
  };
  log(`${label}: ${JSON.stringify(r)}`);
  return r;
}

/** Our controller on the real worker process (as npm start runs it), alone: its peak RSS is the worker's. */
async function startOursOnWorkerProcess(ns: string, waitSeconds: number, options: { resyncSeconds?: number } = {}) {
  const taskQueue = `bench-reconcile-scale-${randomUUID().slice(0, 4)}`;
  const proc = await startWorkerProcess({
    temporalAddress: temporal.address,
    kubeconfigPath: stack.cluster.kubeconfigPath,
    taskQueue,
    logDir: stack.dir,
    ...(values['cpu-prof'] ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] } : {}),
  });
  const handle = await startOurController({ ...worker, taskQueue }, ns, waitSeconds, options);
  return { proc, handle };
}

/** --at-rest: N finished TaskRuns, the controller over three resyncs. */
async function atRest(n: number) {
  const RESYNC = 20;
  const ns = await controllerNamespace(stack, `rest-ours-${randomUUID().slice(0, 4)}`, CAP);
  const t0 = performance.now();
  await forEachConcurrently(
    Array.from({ length: n }, (_, i) => i),
    32,
    (i) => {
      const name = `done-${i}`;
      const phase = i % 4 === 3 ? 'Failed' : 'Succeeded';
      return createTaskRun(
        stack,
        ns,
        { name },
        { service: 'bench', taskId: name, prompt: `bench task ${name}` },
        {
          phase,
          jobName: `${name}-job`,
          completionTime: new Date().toISOString(),
        },
      );
    },
  );
  log(`at rest: ${n} finished TaskRuns created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const started = performance.now();
  const { proc, handle } = await startOursOnWorkerProcess(ns, 600, { resyncSeconds: RESYNC });
  const firstRoundSeconds = +((performance.now() - started) / 1000).toFixed(2);
  log(`at rest: first round after ${firstRoundSeconds} s; watching three resyncs`);
  const idleFrom = Date.now();
  await sleep(3 * RESYNC * 1000 + 5000);
  const summary = await handle.query(taskRunControllerQuery);
  const jobs = JSON.parse(await k(['get', 'jobs', '-n', ns, '-l', AGENT_SELECTOR, '-o', 'json'])) as {
    items: unknown[];
  };
  const peakRssBytes = peakRssOf(proc.pid);
  await handle.terminate('bench done').catch(() => undefined);
  await proc.kill('SIGTERM');
  const stats = await workflowRunStats({ address: temporal.address }, handle.workflowId, handle.firstExecutionRunId);
  const minutes = (Date.now() - idleFrom) / 60_000;
  const ok = summary.tracked === 0 && jobs.items.length === 0;
  if (!ok) log(`at rest: the controller follows ${summary.tracked} TaskRuns and made ${jobs.items.length} Jobs`);
  return {
    bench: 'reconcile-scale',
    atRest: n,
    resyncSeconds: RESYNC,
    firstRoundSeconds,
    tracked: summary.tracked,
    jobsCreated: jobs.items.length,
    maxPayloadBytes: stats.maxPayloadBytes,
    peakRssBytes,
    runs: stats.runs,
    historyLengths: stats.historyLengths,
    historyEventsPerMinute: +(stats.historyLengths.reduce((a, b) => a + b, 0) / minutes).toFixed(1),
    targets: { maxPayloadBytes: 512 * 1024, peakRssBytes: 400 * 1024 * 1024 },
    pass: ok && stats.maxPayloadBytes <= 512 * 1024 && peakRssBytes <= 400 * 1024 * 1024,
  };
}

await runBench(stack, worker, async () => {
  if (values['at-rest'] !== undefined) return atRest(Number(values['at-rest'] || 50_000));
  const baselineNs = await controllerNamespace(stack, `scale-baseline-${randomUUID().slice(0, 4)}`, CAP);
  const baselineController = await startInformerController(kube, baselineNs, { maxConcurrentTasks: CAP });
  // Stopped also when it fails: its informers restart forever and keep the process alive.
  const baseline = await drain('baseline', baselineNs, { bench: process.pid }).finally(() => baselineController.stop());
  // Waited for: deleting its 40,000 objects (TaskRuns, Jobs, pods, ConfigMaps) keeps kube-controller-manager
  // busy for minutes, and ours would drain beside it (it did: 6.5 TaskRuns/s against the baseline's 19).
  const deleting = performance.now();
  await k(['delete', 'namespace', baselineNs, '--wait=true', `--timeout=${values.timeout}s`]);
  log(`baseline namespace deleted in ${((performance.now() - deleting) / 1000).toFixed(0)} s`);

  const ns = await controllerNamespace(stack, `scale-ours-${randomUUID().slice(0, 4)}`, CAP);
  const { proc, handle } = await startOursOnWorkerProcess(ns, 20);
  const ours = await drain('ours', ns, { bench: process.pid, worker: proc.pid }).finally(() =>
    handle.terminate('bench done').catch(() => undefined),
  );
  const peakRssBytes = peakRssOf(proc.pid);
  await proc.kill('SIGTERM');
  const stats = await workflowRunStats({ address: temporal.address }, handle.workflowId, handle.firstExecutionRunId);
  const ratio = +(ours.totalSeconds / baseline.totalSeconds).toFixed(3);
  return {
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
    cost: { ours: ours.cost, baseline: baseline.cost },
    targets: { ratio: 1.2, maxPayloadBytes: 512 * 1024, peakRssBytes: 400 * 1024 * 1024 },
    pass: ratio <= 1.2 && stats.maxPayloadBytes <= 512 * 1024 && peakRssBytes <= 400 * 1024 * 1024,
  };
});
