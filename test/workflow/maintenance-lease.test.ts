// The maintenance lease around upgradePlatform (mocked activities, real dev server): two upgrades
// started at once run one after the other, the second's progress says whom it waits for; a
// priority-100 request (incident response's) preempts the holder at its next step boundary.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { leaseQuery, maintenanceLeaseId } from '../../contract/lease-messages.ts';
import { progressQuery, type UpgradeReport } from '../../contract/messages.ts';
import { deployedReleaseMocks } from '../helpers/deployed-release-mocks.ts';
import { eventually } from '../helpers/eventually.ts';
import { runTestWorker, useTestTemporal, type MockActivities } from '../helpers/temporal.ts';

const testTemporal = useTestTemporal();

/** An upgrade's activities, mocked: helm takes 3 s (long enough to see the other upgrade wait or preempt); `log` records helm and rollout calls. */
function upgradeMocks(log: string[]): MockActivities {
  let revision = 1;
  return {
    ...deployedReleaseMocks(() => revision),
    applyChartCrds: async () => [],
    waitCrdsEstablished: async () => undefined,
    helmUpgradeInstall: async (arg) => {
      const tag = (arg.values as { image: { tag: string } }).image.tag;
      log.push(`start ${tag}`);
      await sleep(3000);
      log.push(`end ${tag}`);
      return { changed: true, revision: ++revision, status: 'deployed', digest: `d${revision}` };
    },
    waitReleaseRollout: async () => {
      log.push(`rollout ${Context.current().info.workflowExecution!.workflowId}`);
      return [{ deployment: 'orchestrator', ready: 1, replicas: 1 }];
    },
  };
}

test('two upgrades started at once run one after the other; the second shows "waiting for the lease held by"', async () => {
  const env = await testTemporal();
  const log: string[] = [];
  const tq = await runTestWorker(env, upgradeMocks(log), 'lease');
  const input = (tag: string) => ({ imageTag: tag, smokeTest: { skip: true }, backup: false });
  const [a, b] = await Promise.all([
    env.client.workflow.start('upgradePlatform', {
      taskQueue: tq,
      workflowId: `upgrade-a-${tq}`,
      args: [input('1.1.0')],
    }),
    env.client.workflow.start('upgradePlatform', {
      taskQueue: tq,
      workflowId: `upgrade-b-${tq}`,
      args: [input('1.2.0')],
    }),
  ]);
  let waiting: string | undefined;
  for (let i = 0; i < 100 && !waiting; i++) {
    const lease = await env.client.workflow
      .getHandle(maintenanceLeaseId(tq))
      .query(leaseQuery)
      .catch(() => undefined);
    if (lease?.holder && lease.waiters.length === 1) {
      const waiter = lease.waiters[0]!.workflowId === a.workflowId ? a : b;
      // The Web UI's current details (the SDK's built-in metadata query). The waiter may see its
      // place in line a moment after the lease records it: poll until it says so.
      const details =
        (await waiter.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '';
      if (
        new RegExp(`waiting for the lease held by ${lease.holder.workflowId} \\(upgradePlatform\\) since `).test(
          details,
        )
      ) {
        waiting = details;
        const steps = await waiter.query(progressQuery);
        assert.equal(steps.steps.find((s) => s.name === 'lease')!.status, 'pending');
      }
    }
    await sleep(100);
  }
  assert.ok(waiting, 'the second upgrade never waited in line');
  const reports = (await Promise.all([a.result(), b.result()])) as UpgradeReport[];
  assert.deepEqual(
    reports.map((r) => r.outcome),
    ['succeeded', 'succeeded'],
  );
  // Never interleaved: each upgrade's helm ended before the other's began.
  assert.match(log.filter((l) => !l.startsWith('rollout')).join(','), /^start (\S+),end \1,start (\S+),end \2$/);
});

test('preemption: an upgrade holding the lease yields it at its next step boundary to a priority-100 request, waits, then finishes', async () => {
  const env = await testTemporal();
  const log: string[] = [];
  const tq = await runTestWorker(env, upgradeMocks(log), 'preempt');
  const input = (tag: string, priority: number) => ({
    imageTag: tag,
    smokeTest: { skip: true },
    backup: false,
    lease: { wait: true, priority },
  });
  const holder = await env.client.workflow.start('upgradePlatform', {
    taskQueue: tq,
    workflowId: `holder-${tq}`,
    args: [input('1.1.0', 0)],
  });
  await eventually('the holder in its helm step', async () => log.includes('start 1.1.0'), 30_000, 100);
  const urgent = await env.client.workflow.start('upgradePlatform', {
    taskQueue: tq,
    workflowId: `urgent-${tq}`,
    args: [input('1.2.0', 100)],
  });
  // The holder yields after its helm step and says so where the UI shows it.
  const yielded = await eventually(
    'the holder to yield',
    async () => {
      const details =
        (await holder.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '';
      return details.includes(`yielded the lease to ${urgent.workflowId} (upgradePlatform, priority 100)`)
        ? details
        : undefined;
    },
    30_000,
    100,
  );
  assert.ok(yielded);
  const reports = (await Promise.all([holder.result(), urgent.result()])) as UpgradeReport[];
  assert.deepEqual(
    reports.map((r) => r.outcome),
    ['succeeded', 'succeeded'],
  );
  // The urgent upgrade acted between the holder's helm and its rollout; the holder resumed after it.
  assert.deepEqual(log, [
    'start 1.1.0',
    'end 1.1.0',
    'start 1.2.0',
    'end 1.2.0',
    `rollout ${urgent.workflowId}`,
    `rollout ${holder.workflowId}`,
  ]);
  const lease = await env.client.workflow
    .getHandle(maintenanceLeaseId(tq))
    .query(leaseQuery)
    .catch(() => undefined);
  assert.equal(lease?.holder ?? null, null, 'the lease is free at the end');
});
