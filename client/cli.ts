#!/usr/bin/env node
// `runbook`: start runbooks, follow their progress, read their results.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { clientSettings, connectClient } from './connection.ts';
import { followProgress } from './follow.ts';
import { findRunbook, RUNBOOKS } from './runbooks.ts';
import { decideUpdate, progressQuery, type Decision } from '../contract/messages.ts';
import { failureText } from '../contract/failure-cause.ts';

const HELP = `Usage: runbook <command> [options]     (npm run runbook -- <command> ...)

Commands:
  list                               the runbooks you can start
  start <runbook> [options]          start a runbook
      --input JSON                   its input object (default {})
      --input-file FILE              read the input object from a file
      --id ID                        workflow ID (default <runbook>-<timestamp>)
      --no-wait                      print the workflow ID and return at once
  progress <workflowId>              the steps of a runbook and their status
  result <workflowId>                wait for a runbook and print its result
  decide <workflowId> <action>       decide a paused upgrade: retry | rollback | abort
      --by NAME                      who decides (default: $USER)
      --reason TEXT                  why

Environment: TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE (default "default"),
RUNBOOK_TASK_QUEUE (default "runbooks"), TEMPORAL_UI (default http://127.0.0.1:8233).
`;

function readInput(values: { input?: string; 'input-file'?: string }): unknown {
  const text = values['input-file'] ? readFileSync(values['input-file'], 'utf8') : (values.input ?? '{}');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`--input is not JSON: ${(err as Error).message}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      input: { type: 'string' },
      'input-file': { type: 'string' },
      id: { type: 'string' },
      'no-wait': { type: 'boolean' },
      by: { type: 'string' },
      reason: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, target, action] = positionals;
  if (values.help || !command) {
    console.log(HELP);
    return command || values.help ? 0 : 2;
  }
  if (command === 'list') {
    for (const r of RUNBOOKS) console.log(`${r.name.padEnd(20)} ${r.summary}`);
    return 0;
  }
  if (!target) throw new Error(`${command}: missing ${command === 'start' ? '<runbook>' : '<workflowId>'} (see --help)`);

  const settings = clientSettings();
  const client = await connectClient(settings);
  const ui = process.env.TEMPORAL_UI ?? 'http://127.0.0.1:8233';
  try {
    if (command === 'start') {
      const runbook = findRunbook(target);
      const input = readInput(values);
      const workflowId = values.id ?? `${runbook.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      const handle = await client.workflow.start(runbook.name, {
        taskQueue: settings.taskQueue,
        workflowId,
        args: [input],
        staticSummary: `${runbook.name} started from the CLI`,
      });
      console.log(`started ${runbook.name} as ${workflowId}\n  ${ui}/namespaces/${settings.namespace}/workflows/${workflowId}`);
      if (values['no-wait']) return 0;
      const result = await followProgress(handle, (text) => console.log(text));
      console.log(JSON.stringify(result, null, 2));
      return 0;
    }
    const handle = client.workflow.getHandle(target);
    if (command === 'progress') {
      console.log(JSON.stringify(await handle.query(progressQuery), null, 2));
      return 0;
    }
    if (command === 'decide') {
      if (!action) throw new Error('decide: missing <action> (retry | rollback | abort)');
      const by = values.by ?? process.env.USER ?? '';
      const decision = { action: action as Decision['action'], by, ...(values.reason ? { reason: values.reason } : {}) };
      console.log(JSON.stringify(await handle.executeUpdate(decideUpdate, { args: [decision] })));
      return 0;
    }
    if (command === 'result') {
      console.log(JSON.stringify(await handle.result(), null, 2));
      return 0;
    }
    throw new Error(`unknown command ${command} (see --help)`);
  } finally {
    await client.connection.close();
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof WorkflowFailedError) {
    console.error(`runbook failed: ${failureText(err.cause ?? err)}`);
  } else if (err instanceof WorkflowUpdateFailedError) {
    console.error(`decision rejected: ${failureText(err.cause ?? err)}`);
  } else {
    console.error(`runbook: ${(err as Error).message}`);
  }
  process.exitCode = 1;
}
