// Follows a running runbook: prints each step as its status changes, then the result.
import type { WorkflowHandle } from '@temporalio/client';
import { progressQuery, type Progress, type Step } from '../contract/messages.ts';

function line(step: Step): string {
  return `  ${step.status.padEnd(9)} ${step.name}${step.detail ? `: ${step.detail}` : ''}`;
}

export async function followProgress(handle: WorkflowHandle, write: (text: string) => void, pollMs = 500): Promise<unknown> {
  const seen = new Map<string, string>();
  const result = handle.result();
  let done = false;
  result.then(() => (done = true), () => (done = true));
  while (!done) {
    await printChanges();
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, pollMs))]);
  }
  await printChanges();
  return result;

  async function printChanges(): Promise<void> {
    let progress: Progress;
    try {
      progress = await handle.query(progressQuery);
    } catch {
      return; // not started yet, or already closed without a query answer
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
  }
}
