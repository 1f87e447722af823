// rollingNodeMaintenance on the real local cluster, over three kwok nodes of its own (selected by a
// label, tainted so that no other test's pods land there; like drain-node.test.ts, so it needs no
// exclusive run): the Deployment's pods move off each node in turn, the "upgrade" is the node's
// status.nodeInfo.kubeletVersion patched to the target plus the operator's nodeDone, and every node
// ends uncordoned, Ready, at the target version, with the platform (the Deployment) healthy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createActivities } from '../../activities/index.ts';
import { nodeDoneUpdate, rollingMaintenanceStateQuery } from '../../contract/rolling-maintenance-messages.ts';
import type { RollingMaintenanceReport } from '../../contract/types/rolling-maintenance.ts';
import { testActivityDeps, useTestCluster } from '../helpers/cluster.ts';
import { TARGET, nodeFacts, rollingInput, rollingSetup, upgradeNode, upgradeDue } from '../helpers/rolling-nodes.ts';
import { runTestWorker, uniqueTaskQueue, useTestTemporal } from '../helpers/temporal.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
test('rolling maintenance over three kwok nodes: each drained, upgraded (kubelet version + nodeDone), uncordoned, Ready, healthy; one at a time', async () => {
  const { temporal, cluster, id, names } = await rollingSetup(testTemporal, testCluster, 'rolling');
  const taskQueue = await runTestWorker(temporal, createActivities(testActivityDeps(cluster)), 'rolling-it');
  const started = Date.now();
  const h = await temporal.client.workflow.start('rollingNodeMaintenance', {
    taskQueue,
    workflowId: uniqueTaskQueue('rolling'),
    args: [rollingInput(id)],
  });

  for (const name of names) {
    await upgradeDue(h, name);
    const s = await h.query(rollingMaintenanceStateQuery);
    assert.deepEqual(
      s.nodes.filter((n) => n.phase === 'waiting-for-upgrade' || n.phase === 'draining').map((n) => n.node),
      [name],
      'one node at a time',
    );
    const facts = await nodeFacts(cluster, name);
    assert.equal(facts.cordoned, true);
    assert.equal(facts.mark, `${h.workflowId}-drain-${name}`);
    const left = (
      await cluster.kubectl([
        'get',
        'pods',
        '-n',
        id,
        '-l',
        'app=orchestrator',
        '--field-selector',
        `spec.nodeName=${name}`,
        '-o',
        'name',
      ])
    ).trim();
    assert.equal(left, '', `no orchestrator pod left on the drained ${name}`);
    await upgradeNode(cluster, name);
    await h.executeUpdate(nodeDoneUpdate, { args: [{ node: name, by: 'rolling-test', note: `kubelet ${TARGET}` }] });
  }
  const report = (await h.result()) as RollingMaintenanceReport;
  console.error(`rolling maintenance of 3 nodes: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.equal(report.outcome, 'succeeded');
  assert.deepEqual(
    report.nodes.map((n) => [n.node, n.phase, n.cordoned, n.kubeletVersion, n.nodeDone?.by]),
    names.map((n) => [n, 'done', false, TARGET, 'rolling-test']),
  );
  // Every original replica sat on one of the nodes, and every node was drained.
  assert.ok(report.nodes.reduce((sum, n) => sum + (n.evicted ?? 0), 0) >= 4, 'every original replica was evicted');
  for (const name of names) {
    const facts = await nodeFacts(cluster, name);
    assert.deepEqual(facts, { cordoned: false, mark: undefined, ready: true, kubeletVersion: TARGET }, name);
  }
  await cluster.kubectl(['rollout', 'status', 'deployment/orchestrator', '-n', id, '--timeout=60s']);
});
