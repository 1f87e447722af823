// `npm run bench -- reconcile [--burst N] [--rate R] [--seconds S] [--only burst|stream]`: the TaskRun controller
// (taskRunController workflow, in-process worker) against a minimal informer-based controller
// (bench/baselines/informer-controller.ts), on the same fresh local cluster and dev server.
//   burst:  N TaskRuns (default 1,000) created at once (50 in flight); seconds until every Job exists.
//           Target: ours <= 1.2x the baseline.
//   stream: R TaskRuns a second (default 20) for S seconds (default 60); TaskRun created (the create
//           call returned) -> Job ADDED on a watch; p50/p99. Target: p99 <= 300 ms at 20/s, <= 1 s
//           beyond (100/s).
// Prints one JSON line last.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { type KubeClients } from '../activities/kube/client.ts';
import { AGENT_SELECTOR } from '../activities/kube/jobs.ts';
import { startInformerController, type BaselineController } from './baselines/informer-controller.ts';
import { runBench } from './stack.ts';
import { follow } from './follow-watch.ts';
import {
  controllerNamespace,
  createBenchTaskRun,
  createTaskRunBurst,
  startOurController,
  startTaskRunBench,
} from './taskrun-load.ts';

const { values } = parseArgs({
  options: {
    burst: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '60' },
    /** Run one load only (while working on it): burst or stream. */
    only: { type: 'string' },
  },
});
if (values.only && !['burst', 'stream'].includes(values.only))
  throw new Error(`--only must be burst or stream, not ${values.only}`);
const BURST = Number(values.burst);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);

const { stack, worker } = await startTaskRunBench('reconcile');
const { kube, log } = stack;
/** A namespace of one load, whose controller may run every TaskRun at once. */
const namespaceWith = (name: string) => controllerNamespace(stack, name, 100000);

type Controller = { stop(): Promise<void> };
async function startOurs(namespace: string): Promise<Controller> {
  const handle = await startOurController(worker, namespace, 10);
  return { stop: () => handle.terminate('bench done').then(() => undefined) };
}
async function startBaseline(namespace: string): Promise<Controller> {
  const c: BaselineController = await startInformerController(kube, namespace);
  return c;
}

/** Watches agent Jobs of a namespace; records when each Job (by task-id label) was first seen. */
async function watchJobs(kc: KubeClients, namespace: string) {
  const seen = new Map<string, number>();
  const watch = follow(
    kc.config,
    `/apis/batch/v1/namespaces/${namespace}/jobs`,
    { labelSelector: AGENT_SELECTOR },
    (type, obj) => {
      const id = (obj.metadata as { labels?: Record<string, string> } | undefined)?.labels?.['task-id'];
      if ((type === 'ADDED' || type === 'MODIFIED') && id && !seen.has(id)) seen.set(id, performance.now());
    },
  );
  await watch.ready;
  return { seen, stop: watch.stop };
}

async function burst(label: string, start: (ns: string) => Promise<Controller>): Promise<number> {
  const ns = await namespaceWith(`burst-${label}-${randomUUID().slice(0, 4)}`);
  const controller = await start(ns);
  const jobs = await watchJobs(kube, ns);
  const t0 = performance.now();
  await createTaskRunBurst(stack, ns, 'b-', BURST);
  while (jobs.seen.size < BURST) {
    if (performance.now() - t0 > 300_000) throw new Error(`${label}: only ${jobs.seen.size} Jobs after 300 s`);
    await sleep(20);
  }
  const seconds = (Math.max(...jobs.seen.values()) - t0) / 1000;
  jobs.stop();
  await controller.stop();
  log(`burst ${label}: ${BURST} Jobs in ${seconds.toFixed(2)} s`);
  return seconds;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

async function stream(
  label: string,
  start: (ns: string) => Promise<Controller>,
): Promise<{ p50: number; p99: number; max: number; n: number }> {
  const ns = await namespaceWith(`stream-${label}-${randomUUID().slice(0, 4)}`);
  const controller = await start(ns);
  const jobs = await watchJobs(kube, ns);
  const created = new Map<string, number>();
  const total = RATE * SECONDS;
  const t0 = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const name = `s-${i}`;
    pending.push(createBenchTaskRun(stack, ns, name).then(() => created.set(name, performance.now())));
  }
  await Promise.all(pending);
  const deadline = performance.now() + 120_000;
  while (jobs.seen.size < total && performance.now() < deadline) await sleep(50);
  jobs.stop();
  await controller.stop();
  const latencies = [...created].map(([name, at]) => ((jobs.seen.get(name) ?? Infinity) - at) / 1000);
  const slowest = [...created]
    .map(([name, at]) => [name, (jobs.seen.get(name) ?? Infinity) - at] as const)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10);
  log(`stream ${label}: slowest ${slowest.map(([n, ms]) => `${n} ${ms.toFixed(0)} ms`).join(', ')}`);
  const r = { p50: pct(latencies, 50), p99: pct(latencies, 99), max: Math.max(...latencies), n: latencies.length };
  log(
    `stream ${label}: ${r.n} TaskRuns at ${RATE}/s: p50 ${(r.p50 * 1000).toFixed(0)} ms, p99 ${(r.p99 * 1000).toFixed(0)} ms, max ${(r.max * 1000).toFixed(0)} ms`,
  );
  return r;
}

await runBench(stack, worker, async () => {
  const runBurst = values.only !== 'stream';
  const runStream = values.only !== 'burst';
  const burstBaseline = runBurst ? await burst('baseline', startBaseline) : NaN;
  const burstOurs = runBurst ? await burst('ours', startOurs) : NaN;
  const streamBaseline = runStream ? await stream('baseline', startBaseline) : undefined;
  const streamOurs = runStream ? await stream('ours', startOurs) : undefined;
  const ms = (r: { p50: number; p99: number; max: number }) => ({
    p50Ms: Math.round(r.p50 * 1000),
    p99Ms: Math.round(r.p99 * 1000),
    maxMs: Math.round(r.max * 1000),
  });
  const burstTarget = 1.2;
  const targetP99Ms = RATE > 20 ? 1000 : 300;
  const burstOk = !runBurst || burstOurs / burstBaseline <= burstTarget;
  const streamOk = !streamOurs || streamOurs.p99 * 1000 <= targetP99Ms;
  return {
    bench: 'reconcile',
    ...(runBurst
      ? {
          burst: {
            taskRuns: BURST,
            oursSeconds: +burstOurs.toFixed(3),
            baselineSeconds: +burstBaseline.toFixed(3),
            ratio: +(burstOurs / burstBaseline).toFixed(3),
            target: burstTarget,
          },
        }
      : {}),
    ...(streamOurs && streamBaseline
      ? {
          stream: {
            rate: RATE,
            seconds: SECONDS,
            ours: ms(streamOurs),
            baseline: ms(streamBaseline),
            p99Ratio: +(streamOurs.p99 / streamBaseline.p99).toFixed(3),
            targetP99Ms,
          },
        }
      : {}),
    ...(values.only ? { only: values.only } : {}),
    pass: burstOk && streamOk,
  };
});
