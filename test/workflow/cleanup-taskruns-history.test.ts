// cleanupTaskRuns with mocked activities on the real dev server, recorded for the replay test
// (RECORD_HISTORIES=1): a run that deletes, and a dry run. 25,000 TaskRuns travel as counts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CleanupCriteria, CleanupDeletion, CleanupPlan, CleanupReport } from '../../contract/types/taskrun.ts';
import { recordHistory } from '../helpers/record-history.ts';
import { uniqueTaskQueue, useTestTemporal, withTestWorker } from '../helpers/temporal.ts';

const testTemporal = useTestTemporal();

test("cleanupTaskRuns: plan, then delete with the plan's criteria and time; counts and samples, never every name; dryRun deletes nothing", async () => {
  const env = await testTemporal();
  const plans: CleanupCriteria[] = [];
  const deletes: CleanupCriteria[] = [];
  const activities = {
    planTaskRunCleanup: async (c: CleanupCriteria): Promise<CleanupPlan> => {
      plans.push(c);
      return {
        asOf: c.asOf,
        scanned: 26_004,
        toDelete: { Succeeded: 25_000, Failed: 1_000 },
        kept: 1,
        samples: {
          delete: [
            { name: 'old', uid: 'u1', phase: 'Succeeded', ageSeconds: 900000 },
            { name: 'failed', uid: 'u2', phase: 'Failed', ageSeconds: 400000 },
          ],
          kept: [{ name: 'keep', reason: 'labelled taskrun.orchestrator.io/keep' }],
        },
      };
    },
    deleteOldTaskRuns: async (c: CleanupCriteria): Promise<CleanupDeletion> => {
      deletes.push(c);
      return {
        scanned: 26_004,
        deleted: { Succeeded: 25_000, Failed: 999 },
        alreadyGone: 1,
        kept: 1,
        samples: { deleted: ['old'], alreadyGone: ['failed'] },
      };
    },
  };
  await withTestWorker(env, activities, 'cleanup-history', async (taskQueue) => {
    const real = await env.client.workflow.start('cleanupTaskRuns', {
      taskQueue,
      workflowId: uniqueTaskQueue('cleanup'),
      args: [{ namespace: 'team-a' }],
    });
    const report = (await real.result()) as CleanupReport;
    await recordHistory(real, 'cleanupTaskRuns-delete');
    assert.deepEqual(
      [report.deleted, report.deletedByPhase, report.alreadyGone, report.scanned, report.kept, report.dryRun],
      [25_999, { Succeeded: 25_000, Failed: 999 }, 1, 26_004, 1, false],
    );
    assert.deepEqual(report.samples, {
      deleted: ['old'],
      alreadyGone: ['failed'],
      kept: [{ name: 'keep', reason: 'labelled taskrun.orchestrator.io/keep' }],
    });
    assert.deepEqual(deletes, plans, "the deletion selects with the plan's criteria, at the plan's time");
    assert.equal(deletes[0]?.namespace, 'team-a');
    assert.equal(deletes[0]?.asOf, report.asOf);

    const dry = await env.client.workflow.start('cleanupTaskRuns', {
      taskQueue,
      workflowId: uniqueTaskQueue('cleanup'),
      args: [{ dryRun: true }],
    });
    const dryReport = (await dry.result()) as CleanupReport;
    await recordHistory(dry, 'cleanupTaskRuns-dry-run');
    assert.deepEqual(
      [dryReport.deleted, dryReport.samples.deleted, dryReport.dryRun],
      [26_000, ['old', 'failed'], true],
    );
    assert.equal(deletes.length, 1);
  });
});
