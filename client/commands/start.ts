// runbook start <runbook>: validates the input locally (same zod schema as the workflow), starts the
// runbook with a static summary for the Web UI, then follows it (default) or returns at once.
import { RUNBOOKS as MAP } from '../../contract/runbooks.ts';
import { formatIssues } from '../../contract/format-issues.ts';
import { findRunbook } from '../runbooks.ts';
import { readFileSync } from 'node:fs';
import { EXIT, UsageError, need, str, type Command, type Values } from './command.ts';
import { parseJsonObject } from './parse.ts';
import { followRun } from './follow-run.ts';

export function readInput(values: Values): Record<string, unknown> {
  const file = str(values, 'input-file');
  const inline = str(values, 'input');
  if (file && inline) throw new UsageError('start: give --input or --input-file, not both');
  if (!file) return parseJsonObject(inline ?? '{}', '--input');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--input-file: cannot read ${file}: ${(err as Error).message}`);
  }
  return parseJsonObject(text, `--input-file ${file}`);
}

/** The Web UI's summary line: what the runbook acts on and who started it. */
export function staticSummary(runbook: string, input: Record<string, unknown>, by: string | undefined): string {
  const about = ['namespace', 'targetNamespace', 'node', 'imageTag', 'backupId', 'secret', 'key']
    .filter((k) => typeof input[k] === 'string' || typeof input[k] === 'number')
    .map((k) => `${k}=${String(input[k])}`);
  return `${runbook}${about.length ? ` ${about.join(' ')}` : ''} (started from the CLI${by ? ` by ${by}` : ''})`;
}

export const start: Command = {
  name: 'start',
  synopsis: 'start <runbook> [--input JSON | --input-file FILE] [--id ID] [--wait | --no-wait] [--exit-on-pause]',
  summary: 'start a runbook, follow its steps and print its report',
  help: `  --input JSON        its input: one JSON object (default {}); checked against the runbook's schema first
  --input-file FILE   read the input object from a file
  --id ID             workflow ID (default <runbook>-<timestamp>)
  --wait              follow the steps until the runbook ends, then print its report (the default)
  --no-wait           print the workflow ID and return at once
  --exit-on-pause     stop following when the runbook pauses for an operator (exit 3)
  --json              print one JSON object: {workflowId, runId, status, phase, result | failure}
Exit: 0 succeeded, 1 failed, 2 usage error or invalid input, 3 paused (--exit-on-pause).`,
  options: {
    input: { type: 'string' },
    'input-file': { type: 'string' },
    id: { type: 'string' },
    wait: { type: 'boolean' },
    'no-wait': { type: 'boolean' },
    'exit-on-pause': { type: 'boolean' },
  },
  async run({ values, positionals, json }, io) {
    const name = need(positionals, 0, '<runbook>', 'start');
    let runbook;
    try {
      runbook = findRunbook(name);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (values.wait && values['no-wait']) throw new UsageError('start: --wait and --no-wait exclude each other');
    const input = readInput(values);
    const schema = (
      MAP[runbook.name] as {
        input?: { safeParse(v: unknown): { success: boolean; error?: { issues: Parameters<typeof formatIssues>[0] } } };
      }
    ).input;
    const checked = schema?.safeParse(input);
    if (checked && !checked.success)
      throw new UsageError(`invalid ${runbook.name} input: ${formatIssues(checked.error!.issues).join('; ')}`);

    const { client, settings } = await io.temporal();
    const workflowId = str(values, 'id') ?? `${runbook.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const handle = await client.workflow.start(runbook.name, {
      taskQueue: settings.taskQueue,
      workflowId,
      args: [input],
      staticSummary: staticSummary(runbook.name, input, io.env.USER),
    });
    const ui = io.env.TEMPORAL_UI ?? 'http://127.0.0.1:8233';
    if (!json)
      io.out(
        `started ${runbook.name} as ${workflowId}\n  ${ui}/namespaces/${settings.namespace}/workflows/${workflowId}`,
      );
    if (values['no-wait']) {
      if (json) io.out(JSON.stringify({ workflowId, runId: handle.firstExecutionRunId, status: 'RUNNING' }));
      return EXIT.succeeded;
    }
    return followRun(
      client.workflow.getHandle(workflowId, handle.firstExecutionRunId),
      { json, untilPaused: values['exit-on-pause'] === true },
      io,
    );
  },
};
