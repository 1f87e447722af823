// drainNode on the real local cluster, on two kwok nodes of its own (tainted, so no other test's
// pods land there; kwok makes their pods Ready): the plan against `kubectl drain --dry-run=server`
// of the same node (DaemonSet pod, emptyDir pod, unmanaged pod, with and without force, a mirror pod), a refused
// drain that cordons nothing, then a drain that a PDB (minAvailable) holds until capacity is added.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { createActivities } from '../../activities/index.ts';
import { CORDONED_BY_ANNOTATION } from '../../activities/drain/index.ts';
import { DRAIN_REFUSED } from '../../contract/failures.ts';
import { failureCause } from '../../contract/failure-cause.ts';
import { drainStatusQuery } from '../../contract/drain-messages.ts';
import type { DrainNodeInput, DrainReport } from '../../contract/types/drain.ts';
import { testActivityDeps, useTestCluster, uniqueNamespace, type TestCluster } from '../helpers/cluster.ts';
import { eventually } from '../helpers/eventually.ts';
import { toolPath } from '../../scripts/stack/tools.ts';
import { runTestWorker, useTestTemporal, uniqueTaskQueue } from '../helpers/temporal.ts';
import { applyObjects } from '../helpers/apply-objects.ts';
import { addNodes, kwokNode, onTaintedNodes } from '../helpers/kwok-nodes.ts';
import { deployment } from '../helpers/workloads.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const id = uniqueNamespace('drain');
const namespace = id;
const nodeA = `${id}-a`;
const nodeB = `${id}-b`;
const taint = { key: 'platform-runbooks.io/drain-test', value: id };
const MIRROR = 'static-web';
let cluster: TestCluster;
let taskQueue: string;

const podSpec = (extra: Record<string, unknown> = {}) => ({
  ...onTaintedNodes(taint),
  containers: [{ name: 'app', image: 'example/app:1' }],
  ...extra,
});

async function podsOn(nodeName: string): Promise<{ name: string; ready: boolean; app?: string }[]> {
  const out = JSON.parse(
    await cluster.kubectl([
      'get',
      'pods',
      '-n',
      namespace,
      '--field-selector',
      `spec.nodeName=${nodeName}`,
      '-o',
      'json',
    ]),
  ) as {
    items: {
      metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
      status?: { conditions?: { type: string; status: string }[] };
    }[];
  };
  return out.items
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => ({
      name: p.metadata.name,
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      ...(p.metadata.labels?.app ? { app: p.metadata.labels.app } : {}),
    }));
}

/** What `kubectl drain --dry-run=server` decides: the pods it evicts, its warnings and its errors. */
async function kubectlDrainDryRun(
  flags: string[],
): Promise<{ evict: string[]; warnings: string[]; errors: string; ok: boolean }> {
  // stdout and stderr (its warnings) together.
  const run = spawnSync(
    toolPath('kubectl'),
    ['--kubeconfig', cluster.kubeconfigPath, 'drain', nodeA, '--dry-run=server', '--timeout=20s', ...flags],
    { encoding: 'utf8' },
  );
  const out = { text: `${run.stdout}\n${run.stderr}`, ok: run.status === 0 };
  const evict = [...out.text.matchAll(/evicting pod (\S+) \(server dry run\)/g)].map((m) => m[1]!).sort();
  // kubectl joins its warnings with "; " on one line.
  const warnings = [...out.text.matchAll(/^Warning: (.*)$/gm)].flatMap((m) => m[1]!.trim().split('; '));
  return { evict, warnings, errors: out.text, ok: out.ok };
}

async function drain(input: DrainNodeInput) {
  const { client } = await testTemporal();
  return client.workflow.start('drainNode', { taskQueue, workflowId: uniqueTaskQueue('drain-node'), args: [input] });
}

before(async () => {
  cluster = await testCluster();
  const { kubectl, defer } = cluster;
  taskQueue = await runTestWorker(await testTemporal(), createActivities(testActivityDeps(cluster)), 'drain-it');
  await kubectl(['create', 'namespace', namespace]);
  defer(() => kubectl(['delete', 'namespace', namespace, '--wait=false']));
  await addNodes(cluster, [
    kwokNode(nodeA, taint, { labelled: true, unschedulable: false }),
    kwokNode(nodeB, taint, { labelled: true, unschedulable: true }),
  ]);
  await applyObjects(
    cluster,
    deployment('web', namespace, 2, podSpec()),
    deployment(
      'cache',
      namespace,
      1,
      podSpec({
        volumes: [{ name: 'scratch', emptyDir: {} }],
        containers: [
          { name: 'app', image: 'example/app:1', volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] },
        ],
      }),
    ),
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', namespace },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: { metadata: { labels: { app: 'agent' } }, spec: podSpec() },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bare', namespace },
      spec: { ...podSpec(), nodeName: nodeA },
    },
    // A static pod's mirror (what a kubelet posts for a pod from its manifest directory): kubectl drain never touches it.
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: MIRROR, namespace, annotations: { 'kubernetes.io/config.mirror': 'static-manifest-hash' } },
      spec: { ...podSpec(), nodeName: nodeA },
    },
  );
  // web 2, cache 1, agent 1 (B is cordoned: the DaemonSet pod of B is there too, but B is not drained), bare 1, mirror 1.
  await eventually(
    'the pods Ready on node A',
    async () => {
      const pods = await podsOn(nodeA);
      return pods.length === 6 && pods.every((p) => p.ready) ? pods : undefined;
    },
    60_000,
  );
});

test('the plan equals kubectl drain --dry-run=server: without force (errors: emptyDir, no controller) and with force', async () => {
  const pods = await podsOn(nodeA);
  const name = (app: string) => `${namespace}/${pods.find((p) => p.app === app)!.name}`;
  // Without force or deleteEmptyDirData: refused, by both.
  const refused = (await (await drain({ node: nodeA, dryRun: true })).result()) as DrainReport;
  const kRefused = await kubectlDrainDryRun(['--ignore-daemonsets']);
  assert.equal(kRefused.ok, false);
  assert.equal(refused.plan.errors.length, 2);
  for (const e of refused.plan.errors)
    assert.ok(kRefused.errors.includes(e), `kubectl did not say "${e}":\n${kRefused.errors}`);
  assert.deepEqual(
    refused.plan.errors.sort(),
    [
      `cannot delete Pods that declare no controller (use --force to override): ${namespace}/bare`,
      `cannot delete Pods with local storage (use --delete-emptydir-data to override): ${name('cache')}`,
    ].sort(),
  );
  // Without ignoreDaemonSets, the DaemonSet pod is an error too.
  const noIgnore = (await (
    await drain({ node: nodeA, dryRun: true, ignoreDaemonSets: false, force: true, deleteEmptyDirData: true })
  ).result()) as DrainReport;
  const kNoIgnore = await kubectlDrainDryRun(['--force', '--delete-emptydir-data']);
  assert.deepEqual(noIgnore.plan.errors, [
    `cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): ${name('agent')}`,
  ]);
  assert.ok(kNoIgnore.errors.includes(noIgnore.plan.errors[0]!), kNoIgnore.errors);
  // With force and deleteEmptyDirData: the same pods evicted, the same warnings.
  const forced = (await (
    await drain({ node: nodeA, dryRun: true, force: true, deleteEmptyDirData: true })
  ).result()) as DrainReport;
  const kForced = await kubectlDrainDryRun(['--ignore-daemonsets', '--force', '--delete-emptydir-data']);
  assert.equal(kForced.ok, true, kForced.errors);
  assert.deepEqual(forced.plan.evict.map((p) => `${p.namespace}/${p.name}`).sort(), kForced.evict);
  assert.deepEqual(forced.plan.warnings.sort(), kForced.warnings.sort());
  assert.deepEqual(
    forced.plan.kept.map((k) => [`${k.namespace}/${k.name}`, k.reason]).sort(),
    [
      [name('agent'), 'DaemonSet pod'],
      [`${namespace}/${MIRROR}`, 'mirror pod'],
    ].sort(),
  );
  // The mirror pod: neither kubectl nor the plan evicts it, and neither warns about it.
  assert.ok(!kForced.evict.includes(`${namespace}/${MIRROR}`), kForced.errors);
  assert.ok(!kForced.warnings.some((w) => w.includes(MIRROR)) && !forced.plan.warnings.some((w) => w.includes(MIRROR)));
  // kubectl's dry run changed nothing, and neither did ours.
  assert.equal((await cluster.kubectl(['get', 'node', nodeA, '-o', 'jsonpath={.spec.unschedulable}'])).trim(), '');
});

test('a refused drain (unmanaged pod without force) fails before cordoning', async () => {
  const h = await drain({ node: nodeA, deleteEmptyDirData: true });
  const err = await h.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError);
  assert.equal(failureCause(err).type, DRAIN_REFUSED);
  assert.equal((await cluster.kubectl(['get', 'node', nodeA, '-o', 'jsonpath={.spec.unschedulable}'])).trim(), '');
});

test('a PDB (minAvailable 2 of 2) holds the drain, the query names it; capacity added, the drain completes and the node stays cordoned', async () => {
  await applyObjects(cluster, {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'web-pdb', namespace },
    spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } },
  });
  await eventually('the PDB observed', async () =>
    (
      await cluster.kubectl(['get', 'pdb', 'web-pdb', '-n', namespace, '-o', 'jsonpath={.status.currentHealthy}'])
    ).trim() === '2'
      ? true
      : undefined,
  );
  await cluster.kubectl(['uncordon', nodeB]);
  const started = Date.now();
  const h = await drain({ node: nodeA, force: true, deleteEmptyDirData: true, timeoutSeconds: 90 });
  const blocked = await eventually(
    'a web pod blocked by web-pdb',
    async () => {
      const s = await h.query(drainStatusQuery);
      return s.remaining.find((p) => p.state === 'blocked' && p.blockedBy?.some((b) => b.name === 'web-pdb'));
    },
    30_000,
  );
  assert.deepEqual(blocked.blockedBy, [{ name: 'web-pdb', disruptionsAllowed: 0 }]);
  assert.equal(
    (
      await cluster.kubectl([
        'get',
        'node',
        nodeA,
        '-o',
        `jsonpath={.metadata.annotations.${CORDONED_BY_ANNOTATION.replace(/\./g, '\\.')}}`,
      ])
    ).trim(),
    h.workflowId,
  );
  // A third replica (on node B) lets the budget allow one disruption at a time.
  await cluster.kubectl(['scale', 'deployment', 'web', '-n', namespace, '--replicas=3']);
  const report = (await h.result()) as DrainReport;
  console.error(`drain with PDB wait: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.equal(report.evicted.length, 4);
  const left = await podsOn(nodeA);
  assert.deepEqual(
    left.map((p) => p.app ?? p.name).sort(),
    ['agent', MIRROR],
    'only the DaemonSet pod and the mirror pod stay',
  );
  assert.equal((await cluster.kubectl(['get', 'node', nodeA, '-o', 'jsonpath={.spec.unschedulable}'])).trim(), 'true');
  const bare = await cluster.kubectl(['get', 'pod', 'bare', '-n', namespace, '--ignore-not-found', '-o', 'name']);
  assert.equal(bare.trim(), '', 'the unmanaged pod was evicted (force)');
});
