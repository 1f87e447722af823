// `npm run bench -- restore-steps [--taskruns N] [--concurrency 16,48,96] [--protocols h2,h1,json]`: where
// a TaskRun restore's time goes. On a local cluster with the TaskRun CRD, N TaskRuns are written the way
// restoreKind writes them (create marked restored-from its backup, status write), one step at a time over
// all N, each timed with the CPU it took here (client) and in kube-apiserver and etcd (from /proc: on a
// shared machine the CPU seconds say more than the wall time); then the same writes in other forms (status
// PUT without managedFields, status merge patch; the restore-pending annotation's removal, which only an
// update of an existing TaskRun needs, as merge and JSON patch), and creates per concurrency and with strict
// field validation. Prints one JSON line last.
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { forEachConcurrently } from '../activities/concurrency.ts';
import { FIELD_MANAGER } from '../activities/kube/apply.ts';
import { loadKubeConfig, makeKubeClients } from '../activities/kube/client.ts';
import { TASKRUN } from '../activities/kube/taskruns.ts';
import { RESTORE_PENDING_ANNOTATION, RESTORED_FROM_ANNOTATION } from '../contract/types/taskrun.ts';
import { ensureTools } from '../scripts/stack/tools.ts';
import { createLocalCluster, kubectl } from '../scripts/stack/local-cluster.ts';
import { TASKRUN_CRD_FILE } from '../test/helpers/taskrun.ts';
import { cpuSecondsOf as cpuOf, log, rssOf, timed } from './backup-fixture.ts';

const { values } = parseArgs({
  options: {
    taskruns: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '16,48,96' },
    protocols: { type: 'string', default: 'h2,h1,json' },
    variants: { type: 'boolean', default: false },
  },
});
const protocols = values.protocols.split(',');
const n = Number(values.taskruns);
const concurrencies = values.concurrency.split(',').map(Number);

const api = { group: TASKRUN.group, version: TASKRUN.version, plural: TASKRUN.plural };
const PHASES = ['Succeeded', 'Failed', 'Running', 'Pending'];
/** `updating`: also marked restore-pending, as restoreKind marks a TaskRun it applies over an existing one. */
const taskRun = (namespace: string, i: number, updating = false) => {
  const name = `task-${String(i).padStart(6, '0')}`;
  return {
    apiVersion: `${TASKRUN.group}/${TASKRUN.version}`,
    kind: 'TaskRun',
    metadata: {
      name,
      namespace,
      labels: { service: `svc-${i % 20}` },
      annotations: {
        [RESTORED_FROM_ANNOTATION]: 'restore-steps',
        ...(updating ? { [RESTORE_PENDING_ANNOTATION]: 'true' } : {}),
      },
    },
    spec: {
      service: `svc-${i % 20}`,
      taskId: name,
      prompt: `Fix the flaky test number ${i} in the service and open a pull request with the change.`,
    },
  };
};

await ensureTools(['kwok', 'etcd', 'kubernetes'], { progressTo: 'stderr' });
const dir = mkdtempSync(join(tmpdir(), 'runbooks-restore-steps-'));
const name = `steps-${randomUUID().slice(0, 6)}`;
const cluster = await createLocalCluster({ name, dataDir: dir, nodes: 1 });
const pid = (component: string) =>
  Number(readFileSync(join(dir, 'kwok', 'clusters', name, 'pids', `${component}.pid`), 'utf8').trim());
const servers = { apiserver: pid('kube-apiserver'), etcd: pid('etcd') };

type StepResult = {
  seconds: number;
  perSecond: number;
  clientCpu: number;
  apiserverCpu: number;
  etcdCpu: number;
  /** This process's peak RSS during the step above its RSS at the start (MiB). */
  rssGrowthMiB: number;
};
async function step(what: string, limit: number, call: (i: number) => Promise<unknown>) {
  writeFileSync('/proc/self/clear_refs', '5'); // VmHWM back to the RSS of now
  const rss = rssOf(process.pid, 'VmRSS');
  const before = { client: process.cpuUsage(), apiserver: cpuOf(servers.apiserver), etcd: cpuOf(servers.etcd) };
  const t = await timed(() => forEachConcurrently([...Array(n).keys()], limit, async (i) => void (await call(i))));
  const c = process.cpuUsage(before.client);
  const r: StepResult = {
    seconds: +t.seconds.toFixed(2),
    perSecond: Math.round(n / t.seconds),
    clientCpu: +((c.user + c.system) / 1e6).toFixed(2),
    apiserverCpu: +(cpuOf(servers.apiserver) - before.apiserver).toFixed(2),
    etcdCpu: +(cpuOf(servers.etcd) - before.etcd).toFixed(2),
    rssGrowthMiB: Math.round((rssOf(process.pid) - rss) / 2 ** 20),
  };
  log(`${what} (${limit} in flight): ${JSON.stringify(r)}; load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  return r;
}

let ns = 0;
async function namespace(): Promise<string> {
  const name = `steps-${++ns}`;
  await kubectl(cluster.kubeconfigPath, ['create', 'namespace', name]);
  return name;
}

// Printed after the stack stopped: whatever it logs while stopping comes before the JSON line.
let resultLine: string | undefined;
try {
  await kubectl(cluster.kubeconfigPath, ['apply', '--server-side', '-f', TASKRUN_CRD_FILE]);
  await kubectl(cluster.kubeconfigPath, ['wait', '--for=condition=Established', 'crd/taskruns.orchestrator.io']);
  const config = loadKubeConfig({ kubeconfigPath: cluster.kubeconfigPath });
  let kube = makeKubeClients(config);
  const results: Record<string, StepResult> = {};

  const base = (ns: string) => `/apis/${api.group}/${api.version}/namespaces/${ns}/${api.plural}`;
  const create = async (limit: number, fieldValidation = 'Ignore', updating = false, lean = false) => {
    const ns = await namespace();
    const stored: Record<string, unknown>[] = [];
    const r = await step(`create (fieldValidation ${fieldValidation})`, limit, async (i) => {
      const body = taskRun(ns, i, updating);
      stored[i] = (
        lean
          ? await kube.json(
              'POST',
              `${base(ns)}?fieldManager=${FIELD_MANAGER}&fieldValidation=${fieldValidation}`,
              body,
            )
          : await kube.custom.createNamespacedCustomObject({
              ...api,
              namespace: ns,
              body,
              fieldManager: FIELD_MANAGER,
              fieldValidation,
            })
      ) as Record<string, unknown>;
    });
    return { ns, stored, r };
  };
  const nameOf = (o: Record<string, unknown>) => (o.metadata as { name: string }).name;
  const status = (i: number) => ({ phase: PHASES[i % 4], jobName: `job-${i}` });

  // As restoreKind writes: all creates, then all status writes; over HTTP/2 (one connection: undici's
  // default since v7), HTTP/1.1 (a connection per request in flight), and the lean JSON calls over HTTP/1.1
  // (kube.json) that restoreKind makes.
  const restoreWrites = async (protocol: string) => {
    const lean = protocol === 'json';
    const a = await create(48, 'Ignore', false, lean);
    results[`${protocol}-create`] = a.r;
    results[`${protocol}-status`] = await step('status write (PUT of the stored object)', 48, (i) => {
      const name = nameOf(a.stored[i]!);
      const body = { ...a.stored[i], status: status(i) };
      return lean
        ? kube.json('PUT', `${base(a.ns)}/${name}/status?fieldManager=${FIELD_MANAGER}&fieldValidation=Ignore`, body)
        : kube.custom.replaceNamespacedCustomObjectStatus({
            ...api,
            namespace: a.ns,
            name,
            body,
            fieldManager: FIELD_MANAGER,
            fieldValidation: 'Ignore',
          });
    });
  };
  for (const protocol of protocols) {
    kube = makeKubeClients(config, { http2: protocol === 'h2' }); // json: HTTP/1.1
    log(`${protocol}:`);
    await restoreWrites(protocol);
  }

  if (values.variants) {
    // The same writes in other forms (a status PUT without managedFields, a status merge patch), and the
    // restore-pending removal of an update as merge and JSON patch.
    const b = await create(48, 'Ignore', true);
    results['status-put-without-managedFields'] = await step('status write (PUT without managedFields)', 48, (i) => {
      const { managedFields: _m, ...metadata } = b.stored[i]!.metadata as Record<string, unknown>;
      return kube.custom.replaceNamespacedCustomObjectStatus({
        ...api,
        namespace: b.ns,
        name: nameOf(b.stored[i]!),
        body: { ...b.stored[i], metadata, status: status(i) },
        fieldManager: FIELD_MANAGER,
        fieldValidation: 'Ignore',
      });
    });
    results['annotation-merge-patch'] = await step('restore-pending removal (merge patch)', 48, (i) =>
      kube.custom.patchNamespacedCustomObject(
        {
          ...api,
          namespace: b.ns,
          name: nameOf(b.stored[i]!),
          body: { metadata: { annotations: { [RESTORE_PENDING_ANNOTATION]: null } } },
          fieldManager: FIELD_MANAGER,
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    const d = await create(48, 'Ignore', true);
    results['annotation-json-patch'] = await step('restore-pending removal (JSON patch)', 48, (i) =>
      kube.custom.patchNamespacedCustomObject(
        {
          ...api,
          namespace: d.ns,
          name: nameOf(d.stored[i]!),
          body: [{ op: 'remove', path: `/metadata/annotations/${RESTORE_PENDING_ANNOTATION.replace(/\//g, '~1')}` }],
          fieldManager: FIELD_MANAGER,
        },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      ),
    );
    const c = await create(48);
    results['status-merge-patch'] = await step('status write (merge patch)', 48, (i) =>
      kube.custom.patchNamespacedCustomObjectStatus(
        {
          ...api,
          namespace: c.ns,
          name: nameOf(c.stored[i]!),
          body: { status: status(i) },
          fieldManager: FIELD_MANAGER,
          fieldValidation: 'Ignore',
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    // A status PUT of only what the status subresource reads (identity, resourceVersion, status): the API
    // server takes everything else from the stored object anyway.
    const e = await create(48, 'Ignore', false, true);
    results['status-put-minimal'] = await step('status write (PUT of identity and status only)', 48, (i) => {
      const { name, namespace, resourceVersion } = e.stored[i]!.metadata as Record<string, string>;
      const body = {
        apiVersion: e.stored[i]!.apiVersion,
        kind: 'TaskRun',
        metadata: { name, namespace, resourceVersion },
      };
      return kube.json('PUT', `${base(e.ns)}/${name}/status?fieldManager=${FIELD_MANAGER}&fieldValidation=Ignore`, {
        ...body,
        status: status(i),
      });
    });

    // Creates alone: how concurrency and strict field validation change them.
    for (const limit of concurrencies) results[`create-${limit}`] = (await create(limit)).r;
    results['create-strict-48'] = (await create(48, 'Strict')).r;
  }
  resultLine = JSON.stringify({ bench: 'restore-steps', taskRuns: n, ...results });
} finally {
  await cluster.delete();
  rmSync(dir, { recursive: true, force: true });
}
if (resultLine) console.log(resultLine);
