// `npm run bench -- drain [--runs N] [--pods P]`: drainNode (started through the worker, as a user starts
// it) against `kubectl drain --ignore-daemonsets --delete-emptydir-data`, on the same fresh local cluster
// and dev server, alternating, with fresh pods and nodes each run. A node near kwok's pod capacity
// (110): P pods (default 100) of several Deployments, 60% of them under a PDB with maxUnavailable 6,
// plus a DaemonSet pod; the pods move to a second node that is uncordoned once the first is full.
// Target: drainNode <= 0.9x kubectl drain (medians). Prints one JSON line last; logs go to stderr.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DrainReport } from '../contract/types/drain.ts';
import { kwokNode, onTaintedNodes } from '../test/helpers/kwok-nodes.ts';
import { deployment } from '../test/helpers/workloads.ts';
import { runBench, startBenchStack, startBenchWorker } from './stack.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, pods: { type: 'string', default: '100' } },
});
const RUNS = Number(values.runs);
const PODS = Number(values.pods);
const UNDER_PDB = Math.round(PODS * 0.6);
const LABEL = 'bench.platform-runbooks.io/drain';

const stack = await startBenchStack('drain', 1);
const { kube, k, log } = stack;

const worker = await startBenchWorker(stack, 'bench-drain');
const { client, taskQueue } = worker;

/** A run's nodes are tainted (and labelled) LABEL=<run>: only the run's own pods land there. */
const taintOf = (run: string) => ({ key: LABEL, value: run });
const node = (name: string, run: string, unschedulable: boolean) =>
  kwokNode(name, taintOf(run), { labelled: true, unschedulable });
const podSpec = (run: string) => ({
  ...onTaintedNodes(taintOf(run)),
  terminationGracePeriodSeconds: 0,
  containers: [{ name: 'app', image: 'example/app:1' }],
});

async function readyOn(namespace: string, nodeName: string): Promise<number> {
  const pods = await kube.core.listNamespacedPod({ namespace, fieldSelector: `spec.nodeName=${nodeName}` });
  return pods.items.filter(
    (p) =>
      !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  ).length;
}

/** Fresh nodes and pods: P pods + a DaemonSet pod Ready on `src`, `dst` (empty) uncordoned. */
async function setup(run: string): Promise<{ src: string; namespace: string }> {
  const src = `${run}-src`;
  const dst = `${run}-dst`;
  const namespace = run;
  await k(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [node(src, run, false), node(dst, run, true)] }),
  );
  await k(['create', 'namespace', namespace]);
  await k(['wait', '--for=condition=Ready', `node/${src}`, `node/${dst}`, '--timeout=60s']);
  const rest = PODS - UNDER_PDB;
  await k(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        deployment('guarded', namespace, UNDER_PDB, podSpec(run)),
        deployment('web', namespace, Math.ceil(rest / 2), podSpec(run)),
        deployment('worker', namespace, Math.floor(rest / 2), podSpec(run)),
        {
          apiVersion: 'policy/v1',
          kind: 'PodDisruptionBudget',
          metadata: { name: 'guarded', namespace },
          spec: { maxUnavailable: 6, selector: { matchLabels: { app: 'guarded' } } },
        },
        {
          apiVersion: 'apps/v1',
          kind: 'DaemonSet',
          metadata: { name: 'agent', namespace },
          spec: {
            selector: { matchLabels: { app: 'agent' } },
            template: { metadata: { labels: { app: 'agent' } }, spec: podSpec(run) },
          },
        },
      ],
    }),
  );
  for (let i = 0; ; i++) {
    if ((await readyOn(namespace, src)) === PODS + 1) break;
    if (i > 600) throw new Error(`the pods of ${run} never became Ready on ${src}`);
    await sleep(200);
  }
  await k(['uncordon', dst]);
  // The PDB has seen every guarded pod healthy.
  for (let i = 0; ; i++) {
    const pdb = JSON.parse(await k(['get', 'pdb', 'guarded', '-n', namespace, '-o', 'json'])) as {
      status?: { currentHealthy?: number; disruptionsAllowed?: number };
    };
    if (pdb.status?.currentHealthy === UNDER_PDB && pdb.status.disruptionsAllowed === 6) break;
    if (i > 300) throw new Error('the PDB never saw the pods healthy');
    await sleep(200);
  }
  return { src, namespace };
}

async function cleanup(run: string): Promise<void> {
  await k(['delete', 'namespace', run, '--wait=false']).catch(() => undefined);
  await k(['delete', 'node', `${run}-src`, `${run}-dst`, '--wait=false']).catch(() => undefined);
}

async function timeDrainNode(src: string): Promise<number> {
  const started = performance.now();
  const report = (await client.workflow.execute('drainNode', {
    taskQueue,
    workflowId: `bench-drain-${src}`,
    args: [{ node: src, ignoreDaemonSets: true, deleteEmptyDirData: true, timeoutSeconds: 600 }],
  })) as DrainReport;
  const seconds = (performance.now() - started) / 1000;
  if (report.evicted.length !== PODS) throw new Error(`drainNode evicted ${report.evicted.length} pods, not ${PODS}`);
  return seconds;
}

async function timeKubectlDrain(src: string): Promise<number> {
  const started = performance.now();
  await k(['drain', src, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=600s']);
  return (performance.now() - started) / 1000;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

await runBench(stack, worker, async () => {
  const times: { drainNode: number[]; kubectl: number[] } = { drainNode: [], kubectl: [] };
  for (let i = 0; i < RUNS * 2; i++) {
    // Alternating, and each tool goes first in every other pair.
    const tool: 'drainNode' | 'kubectl' = (i % 2 === 0) === (Math.floor(i / 2) % 2 === 0) ? 'drainNode' : 'kubectl';
    const run = `drain-${i}-${randomUUID().slice(0, 4)}`;
    const { src } = await setup(run);
    const seconds = tool === 'drainNode' ? await timeDrainNode(src) : await timeKubectlDrain(src);
    const left = await readyOn(run, src);
    times[tool].push(seconds);
    log(
      `run ${i + 1}/${RUNS * 2}: ${tool} drained ${PODS} pods in ${seconds.toFixed(1)} s (${left} Ready pods left: the DaemonSet's)`,
    );
    await cleanup(run);
  }
  const ours = median(times.drainNode);
  const theirs = median(times.kubectl);
  const ratio = ours / theirs;
  return {
    bench: 'drain',
    pods: PODS,
    underPdb: UNDER_PDB,
    pdbMaxUnavailable: 6,
    runs: RUNS,
    drainNodeSeconds: times.drainNode.map((s) => Number(s.toFixed(2))),
    kubectlSeconds: times.kubectl.map((s) => Number(s.toFixed(2))),
    drainNodeMedian: Number(ours.toFixed(2)),
    kubectlMedian: Number(theirs.toFixed(2)),
    ratio: Number(ratio.toFixed(3)),
    target: 0.9,
    pass: ratio <= 0.9,
  };
});
