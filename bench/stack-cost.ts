// What a run cost the bench's stack, read before and after it: CPU seconds per process (the local
// cluster's components by kwokctl's pid files, the Temporal dev server, and the processes named by
// the bench) and the API server's requests by verb and resource (its apiserver_request_total). On a
// machine of 2 cores a controller's drain time is mostly the cluster's CPU: this says whose.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeClients } from '../activities/kube/client.ts';
import { cpuSecondsOf } from './backup-fixture.ts';

export interface CostReading {
  cpuSeconds: Record<string, number>;
  apiRequests: Record<string, number>;
}

/** The cluster's component processes (kube-apiserver, etcd, ...) under a local cluster's data dir, and the Temporal dev server's at `temporalAddress`. */
export function stackPids(clusterDataDir: string, temporalAddress: string): Record<string, number> {
  const pids: Record<string, number> = {};
  const clusters = join(clusterDataDir, 'kwok', 'clusters');
  // None when the bench runs on a cluster of its own (BENCH_KUBECONFIG).
  for (const cluster of existsSync(clusters) ? readdirSync(clusters) : []) {
    const dir = join(clusters, cluster, 'pids');
    for (const file of readdirSync(dir))
      pids[file.replace(/\.pid$/, '')] = Number(readFileSync(join(dir, file), 'utf8').trim());
  }
  // Another stack's dev server may run beside it: the one listening on the bench's port.
  const port = temporalAddress.split(':').at(-1);
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    const args = cmdline(pid);
    if (args[0]?.endsWith('/temporal') && args[args.indexOf('--port') + 1] === port) pids.temporal = Number(pid);
  }
  return pids;
}

function cmdline(pid: string): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return []; // gone meanwhile
  }
}

export async function readCost(kube: KubeClients, pids: Record<string, number>): Promise<CostReading> {
  const cpuSeconds: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) cpuSeconds[name] = cpuSecondsOf(pid);
  return { cpuSeconds, apiRequests: requestCounts(String(await kube.json('GET', '/metrics'))) };
}

/** after - before, CPU to 0.1 s; requests without the ones that did not change. */
export function costBetween(before: CostReading, after: CostReading): CostReading {
  const diff = (a: Record<string, number>, b: Record<string, number>, round: (n: number) => number) =>
    Object.fromEntries(
      Object.entries(b)
        .map(([k, v]) => [k, round(v - (a[k] ?? 0))] as const)
        .filter(([, v]) => v !== 0)
        .sort((x, y) => y[1] - x[1]),
    );
  return {
    cpuSeconds: diff(before.cpuSeconds, after.cpuSeconds, (n) => +n.toFixed(1)),
    apiRequests: diff(before.apiRequests, after.apiRequests, (n) => n),
  };
}

/** apiserver_request_total summed by "VERB resource[/subresource]". */
export function requestCounts(metrics: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [, labels, value] of metrics.matchAll(/^apiserver_request_total\{([^}]*)\} (\S+)$/gm)) {
    const label = (name: string) => new RegExp(`(?:^|,)${name}="([^"]*)"`).exec(labels!)?.[1] ?? '';
    const sub = label('subresource');
    const key = `${label('verb')} ${label('resource')}${sub ? `/${sub}` : ''}`;
    counts[key] = (counts[key] ?? 0) + Number(value);
  }
  return counts;
}
