// Follows a running runbook: prints each step as its status changes, then the result. With
// `untilPaused`, it returns as soon as the runbook pauses for an operator (RunbookPhase paused-*).
import type { WorkflowHandle } from '@temporalio/client';
import { progressQuery, type Progress, type Step } from '../contract/messages.ts';
import { PAUSED_PHASES } from '../contract/runbook-search-attributes.ts';

function line(step: Step): string {
  return `  ${step.status.padEnd(9)} ${step.name}${step.detail ? `: ${step.detail}` : ''}`;
}

export type FollowOutcome = { ended: true; result: unknown } | { ended: false; paused: Progress };

export async function followUntil(
  handle: WorkflowHandle,
  write: (text: string) => void,
  opts: { pollMs?: number; untilPaused?: boolean } = {},
): Promise<FollowOutcome> {
  const seen = new Map<string, string>();
  const result = handle.result();
  let done = false;
  result.then(
    () => (done = true),
    () => (done = true),
  );
  while (!done) {
    const progress = await printChanges();
    if (opts.untilPaused && progress?.phase && PAUSED_PHASES.includes(progress.phase) && !done)
      return { ended: false, paused: progress };
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, opts.pollMs ?? 500))]);
  }
  await printChanges();
  return { ended: true, result: await result };

  async function printChanges(): Promise<Progress | undefined> {
    let progress: Progress;
    try {
      progress = await handle.query(progressQuery);
    } catch {
      return undefined; // not started yet, or already closed without a query answer
    }
    // A note (e.g. an upgrade paused for `decide`) is printed when it changes.
    if ((progress.note ?? '') !== (seen.get('\0note') ?? '')) {
      seen.set('\0note', progress.note ?? '');
      if (progress.note) write(`  note: ${progress.note}`);
    }
    for (const step of progress.steps) {
      const key = `${step.status}:${step.detail ?? ''}`;
      if (step.status !== 'pending' && seen.get(step.name) !== key) {
        seen.set(step.name, key);
        write(line(step));
      }
    }
    return progress;
  }
}

/** Follows until the runbook ends; resolves with its result, rejects with its failure. */
export async function followProgress(
  handle: WorkflowHandle,
  write: (text: string) => void,
  pollMs = 500,
): Promise<unknown> {
  const outcome = await followUntil(handle, write, { pollMs });
  return outcome.ended ? outcome.result : undefined;
}
