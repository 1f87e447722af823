// Shared by start and watch: follow a run, print its report (or JSON), and return the exit code.
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { failureText } from '../../contract/failure-cause.ts';
import { followUntil } from '../follow.ts';
import { EXIT, type Io } from './command.ts';
import { runState } from './run-state.ts';

export async function followRun(
  handle: WorkflowHandle,
  opts: { json: boolean; untilPaused: boolean },
  io: Io,
): Promise<number> {
  const write = opts.json ? () => undefined : (text: string) => io.out(text);
  try {
    const outcome = await followUntil(handle, write, { untilPaused: opts.untilPaused });
    if (!outcome.ended) {
      if (opts.json)
        io.out(
          JSON.stringify({
            workflowId: handle.workflowId,
            status: 'RUNNING',
            phase: outcome.paused.phase,
            note: outcome.paused.note ?? null,
          }),
        );
      else io.err(`runbook paused (${outcome.paused.phase}): ${outcome.paused.note ?? ''}`);
      return EXIT.paused;
    }
    if (opts.json) {
      const state = runState(await handle.describe());
      io.out(
        JSON.stringify(
          {
            workflowId: handle.workflowId,
            runId: state.runId,
            status: state.status,
            phase: state.phase ?? null,
            result: outcome.result,
          },
          null,
          2,
        ),
      );
    } else {
      io.out(JSON.stringify(outcome.result, null, 2));
    }
    return EXIT.succeeded;
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const failure = failureText(err.cause ?? err);
    if (opts.json) io.out(JSON.stringify({ workflowId: handle.workflowId, status: 'FAILED', failure }));
    io.err(`runbook failed: ${failure}`);
    return EXIT.failed;
  }
}
