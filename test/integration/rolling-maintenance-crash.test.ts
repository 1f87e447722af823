// A worker SIGKILLed in the middle of a rolling maintenance (node 2 drained, waiting for its upgrade;
// node 1 already done): a second worker resumes it from its history, and it completes. Every node
// ends as it should: uncordoned, Ready, at the target version, without the cordon mark; node 1 was
// drained once (its drainNode child is not run again).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeDoneUpdate } from '../../contract/rolling-maintenance-messages.ts';
import type { RollingMaintenanceReport } from '../../contract/types/rolling-maintenance.ts';
import { useTestCluster } from '../helpers/cluster.ts';
import { TARGET, nodeFacts, rollingInput, rollingSetup, upgradeNode, upgradeDue } from '../helpers/rolling-nodes.ts';
import { uniqueTaskQueue, useTestTemporal } from '../helpers/temporal.ts';
import { crashWorkers } from '../helpers/crash-workers.ts';
import { failDeadWorkersActivities } from '../helpers/dead-worker.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();

test('SIGKILL mid-rolling-maintenance: a second worker completes it; every node ends uncordoned, Ready and upgraded', async () => {
  const { temporal, cluster, id, names } = await rollingSetup(testTemporal, testCluster, 'rolling-crash');
  const taskQueue = uniqueTaskQueue('rolling-crash');
  const workers = crashWorkers(temporal, cluster, taskQueue);
  cluster.defer(() => workers.stopAll());
  const first = await workers.start();
  const h = await temporal.client.workflow.start('rollingNodeMaintenance', {
    taskQueue,
    workflowId: uniqueTaskQueue('rolling-crash'),
    args: [rollingInput(id)],
  });
  const waiting = (name: string) => upgradeDue(h, name);
  const upgrade = async (name: string) => {
    await upgradeNode(cluster, name);
    await h.executeUpdate(nodeDoneUpdate, { args: [{ node: name, by: 'crash-test' }] });
  };

  await waiting(names[0]!);
  await upgrade(names[0]!);
  await waiting(names[1]!);
  await first.kill('SIGKILL');
  await failDeadWorkersActivities(h);
  // Without a worker the node stays drained and cordoned; the second worker picks the run up.
  assert.equal((await nodeFacts(cluster, names[1]!)).cordoned, true);
  await workers.start();
  await upgrade(names[1]!);
  await waiting(names[2]!);
  await upgrade(names[2]!);

  const report = (await h.result()) as RollingMaintenanceReport;
  assert.equal(report.outcome, 'succeeded');
  assert.deepEqual(
    report.nodes.map((n) => [n.node, n.phase, n.attempts, n.cordoned]),
    names.map((n) => [n, 'done', 1, false]),
  );
  for (const name of names)
    assert.deepEqual(
      await nodeFacts(cluster, name),
      { cordoned: false, mark: undefined, ready: true, kubeletVersion: TARGET },
      name,
    );
  // One drainNode run per node: the replay did not start a drain again.
  for (const name of names) {
    const runs = [];
    for await (const w of temporal.client.workflow.list({ query: `WorkflowId = '${h.workflowId}-drain-${name}'` }))
      runs.push(w.status.name);
    assert.deepEqual(runs, ['COMPLETED'], `${name}: one drain run`);
  }
  await cluster.kubectl(['rollout', 'status', 'deployment/orchestrator', '-n', id, '--timeout=60s']);
});
