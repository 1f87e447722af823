#!/usr/bin/env node
// The TaskRun controller's Temporal side, idempotently: the reconciler workflow of a namespace
// (fixed id taskrun-controller-<namespace>; a second start is a no-op) and the weekly
// cleanupTaskRuns Schedule (created, or updated in place keeping an operator's pause).
//   npx node client/taskrun-controller.ts [--namespace NS] [--cron EXPR] [--no-schedule]
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ScheduleOverlapPolicy, WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import { upsertSchedule } from './upsert-schedule.ts';
import { cleanupTaskRunsInputSchema, controllerWorkflowId, taskRunControllerInputSchema, type CleanupTaskRunsInput, type TaskRunControllerInput } from '../workflows/types/taskrun.ts';
import { formatIssues } from '../workflows/validate.ts';
import { clientSettings, connectClient } from './connection.ts';

export const CLEANUP_SCHEDULE = 'weekly-taskrun-cleanup';

/** Starts the namespace's reconciler unless it runs already (USE_EXISTING: a second start is a no-op). */
export async function ensureTaskRunController(client: Client, opts: { taskQueue: string; input: TaskRunControllerInput }): Promise<{ workflowId: string; runId: string }> {
  const parsed = taskRunControllerInputSchema.safeParse(opts.input);
  if (!parsed.success) throw new Error(`invalid taskRunController input: ${formatIssues(parsed.error.issues).join('; ')}`);
  const workflowId = controllerWorkflowId(parsed.data.namespace);
  const handle = await client.workflow.start('taskRunController', {
    taskQueue: opts.taskQueue, workflowId, args: [opts.input], workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  });
  return { workflowId, runId: handle.firstExecutionRunId };
}

/** Creates the weekly cleanup Schedule (default Sundays 03:00 UTC), or updates its spec and action. */
export async function ensureTaskRunCleanupSchedule(client: Client, opts: { taskQueue: string; input: CleanupTaskRunsInput; cron?: string; timeZone?: string; scheduleId?: string }): Promise<'created' | 'updated'> {
  const parsed = cleanupTaskRunsInputSchema.safeParse(opts.input);
  if (!parsed.success) throw new Error(`invalid cleanupTaskRuns input: ${formatIssues(parsed.error.issues).join('; ')}`);
  const scheduleId = opts.scheduleId ?? CLEANUP_SCHEDULE;
  const parts = {
    spec: { cronExpressions: [opts.cron ?? '0 3 * * 0'], timezone: opts.timeZone ?? 'UTC' },
    action: { type: 'startWorkflow' as const, workflowType: 'cleanupTaskRuns', workflowId: scheduleId, taskQueue: opts.taskQueue, args: [opts.input] },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
  };
  return upsertSchedule(client, scheduleId, parts, 'weekly TaskRun cleanup (platform-runbooks)');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { namespace: { type: 'string', default: 'orchestrator' }, cron: { type: 'string' }, 'no-schedule': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return void console.log('Usage: npx node client/taskrun-controller.ts [--namespace NS] [--cron EXPR] [--no-schedule]');
  const settings = clientSettings();
  const client = await connectClient(settings);
  const started = await ensureTaskRunController(client, { taskQueue: settings.taskQueue, input: { namespace: values.namespace } });
  console.log(`taskrun-controller: ${started.workflowId} running`);
  if (!values['no-schedule']) {
    const outcome = await ensureTaskRunCleanupSchedule(client, { taskQueue: settings.taskQueue, input: { namespace: values.namespace }, ...(values.cron ? { cron: values.cron } : {}) });
    console.log(`taskrun-controller: schedule ${CLEANUP_SCHEDULE} ${outcome}`);
  }
  await client.connection.close();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: Error) => {
    console.error(`taskrun-controller: ${err.message}`);
    process.exitCode = 1;
  });
}
