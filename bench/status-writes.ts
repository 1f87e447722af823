// `npm run bench -- status-writes [--taskruns N]`: what one TaskRun status write costs kube-apiserver,
// by what it carries. On a local cluster with the TaskRun CRD, N TaskRuns in each of two namespaces
// get their statuses as merge patches, 50 in flight: the controller's statuses (desiredStatus: message,
// conditions with transition times; Pending waiting for a slot, Pending with its Job, Running,
// Succeeded) against statuses of phase, Job name and times only (what the informer baseline wrote
// until it was given the controller's). CPU from /proc. Prints one JSON line last.
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { forEachConcurrently } from '../activities/concurrency.ts';
import { loadKubeConfig, makeKubeClients } from '../activities/kube/client.ts';
import { taskRunPath } from '../activities/kube/taskruns.ts';
import { ensureTools } from '../scripts/stack/tools.ts';
import { createLocalCluster, kubectl } from '../scripts/stack/local-cluster.ts';
import { TASKRUN_CRD_FILE } from '../test/helpers/taskrun.ts';
import { desiredStatus } from '../workflows/taskrun-controller/reconcile.ts';
import type { ObservedJob, TaskRunStatus, TrackedTaskRun } from '../contract/types/taskrun.ts';
import { cpuSecondsOf, log } from './backup-fixture.ts';

const { values } = parseArgs({ options: { taskruns: { type: 'string', default: '2000' } } });
const n = Number(values.taskruns);

const START = '2026-11-30T01:00:05Z';
const END = '2026-11-30T01:00:15Z';

/** The controller's four statuses of a TaskRun that waited for a slot, in the order it writes them. */
function controllerStatuses(name: string): TaskRunStatus[] {
  const jobName = `${name}-0123abcd`;
  const job = (more: Partial<ObservedJob>): ObservedJob => ({
    name: jobName,
    ownerName: name,
    ownerUid: 'u',
    active: 1,
    ...more,
  });
  const steps: Partial<TrackedTaskRun>[] = [
    { jobCreated: false },
    { jobCreated: true },
    { jobCreated: true, job: job({ startTime: START }) },
    { jobCreated: true, job: job({ startTime: START, completionTime: END, outcome: 'Succeeded', active: 0 }) },
  ];
  const statuses: TaskRunStatus[] = [];
  for (const [i, step] of steps.entries()) {
    const t: TrackedTaskRun = {
      name,
      uid: 'u',
      generation: 1,
      taskId: name,
      service: 'svc',
      phase: 'Pending',
      jobName,
      jobCreated: false,
      transitions: [],
      ...(statuses.length ? { written: statuses.at(-1) } : {}),
      ...step,
    };
    const waiting = i === 0 ? 'waiting for a free slot (maxConcurrentTasks 200)' : undefined;
    statuses.push(desiredStatus(t, waiting, `2026-11-30T01:00:0${i}Z`));
  }
  return statuses;
}

/** Phase, Job name and times only. */
const plainStatuses = (name: string) => [
  { phase: 'Pending', jobName: `${name}-0123abcd`, observedGeneration: 1 },
  { phase: 'Running', startTime: START },
  { phase: 'Succeeded', startTime: START, completionTime: END },
];

await ensureTools(['kwok', 'etcd', 'kubernetes'], { progressTo: 'stderr' });
const dir = mkdtempSync(join(tmpdir(), 'runbooks-status-writes-'));
const name = `status-${randomUUID().slice(0, 6)}`;
const cluster = await createLocalCluster({ name, dataDir: dir, nodes: 1 });
const apiserver = Number(
  readFileSync(join(dir, 'kwok', 'clusters', name, 'pids', 'kube-apiserver.pid'), 'utf8').trim(),
);
try {
  await kubectl(cluster.kubeconfigPath, ['apply', '--server-side', '-f', TASKRUN_CRD_FILE]);
  await kubectl(cluster.kubeconfigPath, ['wait', '--for=condition=Established', 'crd/taskruns.orchestrator.io']);
  const kube = makeKubeClients(loadKubeConfig({ kubeconfigPath: cluster.kubeconfigPath }));
  const names = Array.from({ length: n }, (_, i) => `task-${String(i).padStart(6, '0')}`);
  const writeAll = async (namespace: string, statuses: (name: string) => object[]) => {
    await kubectl(cluster.kubeconfigPath, ['create', 'namespace', namespace]);
    const uids = new Map<string, string>();
    await forEachConcurrently(names, 50, async (tr) => {
      const created = (await kube.json('POST', taskRunPath(namespace), {
        apiVersion: 'orchestrator.io/v1',
        kind: 'TaskRun',
        metadata: { name: tr },
        spec: { service: 'svc', taskId: tr, prompt: 'Fix the flaky test and open a pull request with the change.' },
      })) as { metadata: { uid: string } };
      uids.set(tr, created.metadata.uid);
    });
    const before = cpuSecondsOf(apiserver);
    const started = performance.now();
    let writes = 0;
    await forEachConcurrently(names, 50, async (tr) => {
      for (const status of statuses(tr)) {
        const body = { metadata: { uid: uids.get(tr) }, status };
        await kube.json('PATCH', `${taskRunPath(namespace, tr)}/status`, body, 'application/merge-patch+json');
        writes++;
      }
    });
    const cpu = cpuSecondsOf(apiserver) - before;
    const result = {
      writes,
      seconds: +((performance.now() - started) / 1000).toFixed(1),
      apiserverCpu: +cpu.toFixed(2),
      apiserverMsPerWrite: +((cpu * 1000) / writes).toFixed(2),
      bytesPerTaskRun: JSON.stringify(statuses(names[0]!)).length,
    };
    log(`${namespace}: ${JSON.stringify(result)}`);
    return result;
  };
  // The controller's first: a later step writes into a larger etcd.
  const controller = await writeAll('controller', controllerStatuses);
  const plain = await writeAll('plain', plainStatuses);
  console.log(
    JSON.stringify({
      bench: 'status-writes',
      taskRuns: n,
      controller,
      plain,
      msPerWriteRatio: +(controller.apiserverMsPerWrite / plain.apiserverMsPerWrite).toFixed(2),
      cpuPerTaskRunRatio: +(controller.apiserverCpu / plain.apiserverCpu).toFixed(2),
    }),
  );
} finally {
  await cluster.delete();
}
