// cleanupTaskRuns: the guide's TaskRun retention, run weekly by a Schedule. Plan (read-only:
// Succeeded older than succeededMaxAgeSeconds, Failed older than failedMaxAgeSeconds, age from
// status.completionTime at the plan's time, never those labelled keep), then delete what the same
// criteria select at that time (uid preconditions: a TaskRun recreated under the same name
// meanwhile is not touched). dryRun stops after the plan. Plan and deletion page through the
// TaskRuns on the activity side and report counts and bounded samples, so that tens of thousands
// of TaskRuns never travel through history; the deletion heartbeats and resumes after a crash.
import { sweepActs } from './activity-proxies.ts';
import { ProgressTracker } from './progress.ts';
import { parseInput } from './validate.ts';
import {
  cleanupTaskRunsInputSchema,
  type CleanupCriteria,
  type CleanupReport,
  type CleanupTaskRunsInput,
} from '../contract/types/taskrun.ts';

const STEPS = ['validate', 'plan', 'delete'] as const;

export async function cleanupTaskRuns(input: CleanupTaskRunsInput = {}): Promise<CleanupReport> {
  const progress = new ProgressTracker('cleanupTaskRuns', STEPS);
  const opts = await progress.run('validate', async () =>
    parseInput('cleanupTaskRuns', cleanupTaskRunsInputSchema, input),
  );
  const criteria: CleanupCriteria = {
    namespace: opts.namespace,
    succeededMaxAgeSeconds: opts.succeededMaxAgeSeconds,
    failedMaxAgeSeconds: opts.failedMaxAgeSeconds,
    keepLabel: opts.keepLabel,
    asOf: new Date().toISOString(),
  };
  const plan = await progress.run(
    'plan',
    () => sweepActs.planTaskRunCleanup(criteria),
    (p) =>
      `${p.toDelete.Succeeded + p.toDelete.Failed} to delete (${p.toDelete.Succeeded} Succeeded, ${p.toDelete.Failed} Failed), ${p.kept} kept, ${p.scanned} scanned`,
  );
  const report: CleanupReport = {
    runbook: 'cleanupTaskRuns',
    namespace: opts.namespace,
    dryRun: opts.dryRun,
    asOf: criteria.asOf,
    scanned: plan.scanned,
    deleted: plan.toDelete.Succeeded + plan.toDelete.Failed,
    deletedByPhase: plan.toDelete,
    alreadyGone: 0,
    kept: plan.kept,
    samples: { deleted: plan.samples.delete.map((c) => c.name), alreadyGone: [], kept: plan.samples.kept },
  };
  if (opts.dryRun) {
    progress.skip(
      'delete',
      `dry run: would delete ${report.deleted}${report.samples.deleted.length ? `, e.g. ${report.samples.deleted.join(', ')}` : ''}`,
    );
    return report;
  }
  const done = await progress.run(
    'delete',
    () => sweepActs.deleteOldTaskRuns(criteria),
    (r) => `${r.deleted.Succeeded + r.deleted.Failed} deleted, ${r.alreadyGone} already gone`,
  );
  return {
    ...report,
    deleted: done.deleted.Succeeded + done.deleted.Failed,
    deletedByPhase: done.deleted,
    alreadyGone: done.alreadyGone,
    samples: { ...report.samples, deleted: done.samples.deleted, alreadyGone: done.samples.alreadyGone },
  };
}
