// cleanupTaskRuns with mocked activities on the real dev server, recorded for the replay test
// (RECORD_HISTORIES=1): a run that deletes, and a dry run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CleanupReport } from '../../workflows/types/taskrun.ts';
import { createRunbookWorker } from '../../worker/worker.ts';
import { recordHistory } from '../helpers/record-history.ts';
import { uniqueTaskQueue, useTestTemporal, workflowBundle } from '../helpers/temporal.ts';

const testTemporal = useTestTemporal();

test('cleanupTaskRuns: plan, then delete exactly the planned TaskRuns by uid; dryRun deletes nothing', async () => {
  const env = await testTemporal();
  const deletes: unknown[] = [];
  const activities = {
    planTaskRunCleanup: async () => ({ delete: [{ name: 'old', uid: 'u1', phase: 'Succeeded', ageSeconds: 900000 }, { name: 'failed', uid: 'u2', phase: 'Failed', ageSeconds: 400000 }], kept: [{ name: 'keep', reason: 'labelled taskrun.orchestrator.io/keep' }], scanned: 4 }),
    deleteTaskRuns: async (input: { taskRuns: { name: string }[] }) => {
      deletes.push(input);
      return { deleted: ['old'], alreadyGone: ['failed'] };
    },
  };
  const taskQueue = uniqueTaskQueue('cleanup-history');
  const worker = await createRunbookWorker({ connection: env.nativeConnection, namespace: env.namespace, taskQueue, activities, workflowBundle: await workflowBundle() });
  await worker.runUntil(async () => {
    const real = await env.client.workflow.start('cleanupTaskRuns', { taskQueue, workflowId: uniqueTaskQueue('cleanup'), args: [{ namespace: 'team-a' }] });
    const report = (await real.result()) as CleanupReport;
    await recordHistory(real, 'cleanupTaskRuns-delete');
    assert.deepEqual([report.deleted, report.alreadyGone, report.scanned, report.dryRun], [['old'], ['failed'], 4, false]);
    assert.deepEqual(deletes, [{ namespace: 'team-a', taskRuns: [{ name: 'old', uid: 'u1' }, { name: 'failed', uid: 'u2' }] }]);

    const dry = await env.client.workflow.start('cleanupTaskRuns', { taskQueue, workflowId: uniqueTaskQueue('cleanup'), args: [{ dryRun: true }] });
    const dryReport = (await dry.result()) as CleanupReport;
    await recordHistory(dry, 'cleanupTaskRuns-dry-run');
    assert.deepEqual([dryReport.deleted, dryReport.dryRun], [['old', 'failed'], true]);
    assert.equal(deletes.length, 1);
  });
});
