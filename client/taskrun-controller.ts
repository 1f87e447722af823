#!/usr/bin/env node
// The TaskRun controller's Temporal side, idempotently: its search attributes (registered in the
// Temporal namespace when missing), the reconciler workflow of a namespace (fixed id
// taskrun-controller-<namespace>; a second start is a no-op) and the weekly cleanupTaskRuns
// Schedule (created, or updated in place keeping an operator's pause).
//   npx node client/taskrun-controller.ts [--namespace NS] [--cron EXPR] [--no-schedule] [--no-search-attributes]
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ScheduleOverlapPolicy, WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import { upsertSchedule } from './upsert-schedule.ts';
import {
  cleanupTaskRunsInputSchema,
  controllerWorkflowId,
  taskRunControllerInputSchema,
  TASKRUN_SEARCH_ATTRIBUTES,
  type CleanupTaskRunsInput,
  type TaskRunControllerInput,
} from '../contract/types/taskrun.ts';
import { formatIssues } from '../contract/format-issues.ts';
import { clientSettings, connectClient } from './connection.ts';
import { searchAttributeCommands } from '../contract/runbook-search-attributes.ts';
import {
  INDEXED_VALUE_TYPES,
  type IndexedValueType,
  type SearchAttributeTypeName,
} from '../contract/search-attribute-types.ts';

export const CLEANUP_SCHEDULE = 'weekly-taskrun-cleanup';

const typeName = (n: number) => Object.entries(INDEXED_VALUE_TYPES).find(([, v]) => v === n)?.[0] ?? `type ${n}`;

/**
 * Registers the search attributes missing from the client's Temporal namespace (idempotent: present
 * ones with the right type are left alone). Throws a clear error when one exists with another type,
 * or when the server does not let this client list or add them.
 */
export async function ensureSearchAttributes(
  client: Client,
  attributes: Record<string, SearchAttributeTypeName> = TASKRUN_SEARCH_ATTRIBUTES,
): Promise<{ added: string[]; present: string[] }> {
  const namespace = client.options.namespace;
  const operator = client.connection.operatorService;
  const howto = `register them as an operator (${searchAttributeCommands(namespace, attributes).join('; ')}), or run without them (--no-search-attributes)`;
  const listed = await operator.listSearchAttributes({ namespace }).catch((err: Error) => {
    throw new Error(`cannot list the search attributes of Temporal namespace ${namespace}: ${err.message}; ${howto}`, {
      cause: err,
    });
  });
  const known: Record<string, number> = { ...listed.systemAttributes, ...listed.customAttributes };
  const missing: Record<string, IndexedValueType> = {};
  const present: string[] = [];
  for (const [name, type] of Object.entries(attributes)) {
    const have = known[name];
    if (have === undefined) missing[name] = INDEXED_VALUE_TYPES[type];
    else if (have !== INDEXED_VALUE_TYPES[type])
      throw new Error(
        `search attribute ${name} exists in Temporal namespace ${namespace} with type ${typeName(have)}, not ${type}: the TaskRun controller cannot use it`,
      );
    else present.push(name);
  }
  const added = Object.keys(missing);
  if (added.length) {
    await operator.addSearchAttributes({ namespace, searchAttributes: missing }).catch((err: Error) => {
      throw new Error(
        `cannot register search attributes ${added.join(', ')} in Temporal namespace ${namespace}: ${err.message}; ${howto}`,
        { cause: err },
      );
    });
  }
  return { added, present };
}

/**
 * Starts the namespace's reconciler unless it runs already (USE_EXISTING: a second start is a
 * no-op). With `searchAttributes` (default true) it first ensures TASKRUN_SEARCH_ATTRIBUTES exist,
 * then starts the workflow with `searchAttributes: true` so that it upserts them.
 */
export async function ensureTaskRunController(
  client: Client,
  opts: { taskQueue: string; input: TaskRunControllerInput; searchAttributes?: boolean; workflowId?: string },
): Promise<{ workflowId: string; runId: string }> {
  const withAttributes = opts.searchAttributes ?? true;
  const input: TaskRunControllerInput = { ...opts.input, searchAttributes: withAttributes };
  const parsed = taskRunControllerInputSchema.safeParse(input);
  if (!parsed.success)
    throw new Error(`invalid taskRunController input: ${formatIssues(parsed.error.issues).join('; ')}`);
  if (withAttributes) await ensureSearchAttributes(client);
  const workflowId = opts.workflowId ?? controllerWorkflowId(parsed.data.namespace);
  const handle = await client.workflow.start('taskRunController', {
    taskQueue: opts.taskQueue,
    workflowId,
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  });
  return { workflowId, runId: handle.firstExecutionRunId };
}

/** Creates the weekly cleanup Schedule (default Sundays 03:00 UTC), or updates its spec and action. */
export async function ensureTaskRunCleanupSchedule(
  client: Client,
  opts: { taskQueue: string; input: CleanupTaskRunsInput; cron?: string; timeZone?: string; scheduleId?: string },
): Promise<'created' | 'updated'> {
  const parsed = cleanupTaskRunsInputSchema.safeParse(opts.input);
  if (!parsed.success)
    throw new Error(`invalid cleanupTaskRuns input: ${formatIssues(parsed.error.issues).join('; ')}`);
  const scheduleId = opts.scheduleId ?? CLEANUP_SCHEDULE;
  const parts = {
    spec: { cronExpressions: [opts.cron ?? '0 3 * * 0'], timezone: opts.timeZone ?? 'UTC' },
    action: {
      type: 'startWorkflow' as const,
      workflowType: 'cleanupTaskRuns',
      workflowId: scheduleId,
      taskQueue: opts.taskQueue,
      args: [opts.input],
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
  };
  return upsertSchedule(client, scheduleId, parts, 'weekly TaskRun cleanup (platform-runbooks)');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      namespace: { type: 'string', default: 'orchestrator' },
      cron: { type: 'string' },
      'no-schedule': { type: 'boolean' },
      'no-search-attributes': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help)
    return void console.log(
      'Usage: npx node client/taskrun-controller.ts [--namespace NS] [--cron EXPR] [--no-schedule] [--no-search-attributes]',
    );
  const settings = clientSettings();
  const client = await connectClient(settings);
  const started = await ensureTaskRunController(client, {
    taskQueue: settings.taskQueue,
    input: { namespace: values.namespace },
    searchAttributes: !values['no-search-attributes'],
  });
  console.log(`taskrun-controller: ${started.workflowId} running`);
  if (!values['no-schedule']) {
    const outcome = await ensureTaskRunCleanupSchedule(client, {
      taskQueue: settings.taskQueue,
      input: { namespace: values.namespace },
      ...(values.cron ? { cron: values.cron } : {}),
    });
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
