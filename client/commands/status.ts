// runbook status <id>: the run's state and its step table; runbook progress <id>: the raw progress
// query (JSON); runbook result <id>: wait for the report.
import { WorkflowFailedError } from '@temporalio/client';
import { progressQuery, type Progress } from '../../contract/messages.ts';
import { failureText } from '../../contract/failure-cause.ts';
import { EXIT, need, type Command } from './command.ts';
import { exitCodeOf, runState, shownPhase, table } from './run-state.ts';

function duration(from?: string, to?: string): string {
  if (!from || !to) return '';
  const s = Math.round((Date.parse(to) - Date.parse(from)) / 1000);
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${(s / 3600).toFixed(1)}h`;
}

export function stepTable(progress: Progress): string {
  return table(
    ['STATUS', 'STEP', 'STARTED', 'TOOK', 'DETAIL'],
    progress.steps.map((s) => [
      s.status,
      s.name,
      s.startedAt ? s.startedAt.slice(11, 19) : '',
      duration(s.startedAt, s.finishedAt),
      s.detail ?? '',
    ]),
  );
}

export const status: Command = {
  name: 'status',
  synopsis: 'status <workflowId>',
  summary: "a runbook's state (status, phase, target) and its step table",
  help: `  --json   {workflowId, runId, runbook, status, phase, targetNamespace, startTime, closeTime, progress}
Exit: 0 succeeded, 1 failed / cancelled / terminated / timed out, 3 paused for an operator, 4 still running.`,
  options: {},
  async run({ positionals, json }, io) {
    const id = need(positionals, 0, '<workflowId>', 'status');
    const { client } = await io.temporal();
    const handle = client.workflow.getHandle(id);
    const state = runState(await handle.describe());
    // The query needs a worker; without one the state alone is printed.
    const progress = await client.connection
      .withDeadline(Date.now() + 5_000, () => handle.query(progressQuery))
      .catch(() => undefined);
    if (json) {
      io.out(JSON.stringify({ ...state, phase: shownPhase(state), progress: progress ?? null }, null, 2));
    } else {
      io.out(
        `${state.workflowId}  ${state.runbook}  ${state.status}  phase ${shownPhase(state)}${state.targetNamespace ? `  namespace ${state.targetNamespace}` : ''}`,
      );
      io.out(
        `started ${state.startTime}${state.closeTime ? `, closed ${state.closeTime}` : ''}; task queue ${state.taskQueue}`,
      );
      if (progress) {
        io.out(stepTable(progress));
        if (progress.note) io.out(`note: ${progress.note}`);
      } else {
        io.out('(no step table: the progress query got no answer; is a worker polling the task queue?)');
      }
    }
    return exitCodeOf(state);
  },
};

export const progress: Command = {
  name: 'progress',
  synopsis: 'progress <workflowId>',
  summary: 'the progress query as JSON: steps, note, phase',
  help: '',
  options: {},
  async run({ positionals }, io) {
    const id = need(positionals, 0, '<workflowId>', 'progress');
    const { client } = await io.temporal();
    io.out(JSON.stringify(await client.workflow.getHandle(id).query(progressQuery), null, 2));
    return EXIT.succeeded;
  },
};

export const result: Command = {
  name: 'result',
  synopsis: 'result <workflowId>',
  summary: 'wait for a runbook and print its report',
  help: 'Exit: 0 succeeded, 1 failed.',
  options: {},
  async run({ positionals, json }, io) {
    const id = need(positionals, 0, '<workflowId>', 'result');
    const { client } = await io.temporal();
    try {
      const value = await client.workflow.getHandle(id).result();
      io.out(JSON.stringify(value, null, 2));
      return EXIT.succeeded;
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      const failure = failureText(err.cause ?? err);
      if (json) io.out(JSON.stringify({ workflowId: id, status: 'FAILED', failure }));
      io.err(`runbook failed: ${failure}`);
      return EXIT.failed;
    }
  },
};
