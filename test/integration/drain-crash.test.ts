// A worker SIGKILLed in the middle of a drain (a PDB holding it): another worker resumes the drain
// from its history (the round's activity is retried after its heartbeat timeout), and the node ends
// cordoned and empty of drainable pods, with the Deployment's pods all running elsewhere.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { drainStatusQuery } from '../../contract/drain-messages.ts';
import type { DrainReport } from '../../contract/types/drain.ts';
import { useTestCluster, uniqueNamespace } from '../helpers/cluster.ts';
import { eventually } from '../helpers/eventually.ts';
import { uniqueTaskQueue, useTestTemporal } from '../helpers/temporal.ts';
import { applyObjects } from '../helpers/apply-objects.ts';
import { crashWorkers } from '../helpers/crash-workers.ts';
import { addNodes, kwokNode, onTaintedNodes } from '../helpers/kwok-nodes.ts';
import { deployment } from '../helpers/workloads.ts';
import { failDeadWorkersActivities } from '../helpers/dead-worker.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();

test('SIGKILL mid-drain: a second worker completes it; the node ends cordoned and drained', async () => {
  const temporal = await testTemporal();
  const cluster = await testCluster();
  const { kubectl, defer } = cluster;
  const id = uniqueNamespace('drain-crash');
  const [nodeA, nodeB] = [`${id}-a`, `${id}-b`];
  const taint = { key: 'platform-runbooks.io/drain-test', value: id };
  await kubectl(['create', 'namespace', id]);
  defer(() => kubectl(['delete', 'namespace', id, '--wait=false']));
  await addNodes(cluster, [
    kwokNode(nodeA, taint, { labelled: true, unschedulable: false }),
    kwokNode(nodeB, taint, { labelled: true, unschedulable: true }),
  ]);
  await applyObjects(
    cluster,
    deployment('web', id, 3, { ...onTaintedNodes(taint), containers: [{ name: 'app', image: 'example/app:1' }] }),
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'web-pdb', namespace: id },
      spec: { minAvailable: 3, selector: { matchLabels: { app: 'web' } } },
    },
  );
  await kubectl(['rollout', 'status', 'deployment/web', '-n', id, '--timeout=60s']);
  await kubectl(['uncordon', nodeB]);

  const taskQueue = uniqueTaskQueue('drain-crash');
  const workers = crashWorkers(temporal, cluster, taskQueue);
  defer(() => workers.stopAll());
  const first = await workers.start();
  const handle = await temporal.client.workflow.start('drainNode', {
    taskQueue,
    workflowId: uniqueTaskQueue('drain-crash'),
    args: [{ node: nodeA, timeoutSeconds: 300 }],
  });
  await eventually(
    'the PDB to block the drain',
    async () => (await handle.query(drainStatusQuery)).remaining.find((p) => p.state === 'blocked'),
    60_000,
  );
  await first.kill('SIGKILL');
  await failDeadWorkersActivities(handle);
  // Room for the budget: three more replicas (on node B) let the old ones go one by one.
  await kubectl(['scale', 'deployment/web', '-n', id, '--replicas=6']);
  await workers.start();
  const report = (await handle.result()) as DrainReport;
  assert.equal(report.evicted.length, 3);
  assert.equal(report.cordonedByUs, true);
  assert.equal((await kubectl(['get', 'node', nodeA, '-o', 'jsonpath={.spec.unschedulable}'])).trim(), 'true');
  const onA = (
    await kubectl(['get', 'pods', '-n', id, '--field-selector', `spec.nodeName=${nodeA}`, '-o', 'name'])
  ).trim();
  assert.equal(onA, '');
  await kubectl(['rollout', 'status', 'deployment/web', '-n', id, '--timeout=60s']);
});
