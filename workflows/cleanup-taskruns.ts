// cleanupTaskRuns: the guide's TaskRun retention, run weekly by a Schedule. Plan (read-only:
// Succeeded older than succeededMaxAgeSeconds, Failed older than failedMaxAgeSeconds, age from
// status.completionTime, never those labelled keep), then delete (uid preconditions: a TaskRun
// recreated under the same name meanwhile is not touched). dryRun stops after the plan.
import { ProgressTracker } from './progress.ts';
import { parseInput } from './validate.ts';
import { kubeActs } from './activity-proxies.ts';
import { cleanupTaskRunsInputSchema, type CleanupReport, type CleanupTaskRunsInput } from './types/taskrun.ts';

const STEPS = ['validate', 'plan', 'delete'] as const;

export async function cleanupTaskRuns(input: CleanupTaskRunsInput = {}): Promise<CleanupReport> {
  const progress = new ProgressTracker('cleanupTaskRuns', STEPS);
  const opts = await progress.run('validate', async () => parseInput('cleanupTaskRuns', cleanupTaskRunsInputSchema, input));
  const plan = await progress.run('plan', () => kubeActs.planTaskRunCleanup({
    namespace: opts.namespace, succeededMaxAgeSeconds: opts.succeededMaxAgeSeconds, failedMaxAgeSeconds: opts.failedMaxAgeSeconds, keepLabel: opts.keepLabel,
  }), (p) => `${p.delete.length} to delete, ${p.kept.length} kept, ${p.scanned} scanned`);
  const report: CleanupReport = { runbook: 'cleanupTaskRuns', namespace: opts.namespace, dryRun: opts.dryRun, deleted: [], alreadyGone: [], kept: plan.kept, scanned: plan.scanned };
  if (opts.dryRun) {
    progress.skip('delete', `dry run: would delete ${plan.delete.map((c) => c.name).join(', ') || 'nothing'}`);
    report.deleted = plan.delete.map((c) => c.name);
    return report;
  }
  const result = await progress.run('delete', () => kubeActs.deleteTaskRuns({ namespace: opts.namespace, taskRuns: plan.delete.map((c) => ({ name: c.name, uid: c.uid })) }),
    (r) => `${r.deleted.length} deleted, ${r.alreadyGone.length} already gone`);
  report.deleted = result.deleted;
  report.alreadyGone = result.alreadyGone;
  return report;
}
