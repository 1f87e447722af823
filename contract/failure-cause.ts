// What a failure is about. Temporal wraps the reason of a failed activity or child workflow
// ("Activity task failed", "Child Workflow execution failed"); operators need the reason itself:
// the innermost ApplicationFailure of the cause chain, with its type. Used by the progress steps,
// the reports and the CLI, so that all of them say the same thing.
import { ApplicationFailure } from '@temporalio/common';

export interface FailureCause {
  /** The ApplicationFailure type (e.g. BackupInvalid), when the reason is one. */
  type?: string;
  message: string;
}

export function failureCause(err: unknown): FailureCause {
  let found: FailureCause | undefined;
  let last = err instanceof Error ? err.message : String(err);
  let e: unknown = err;
  for (let depth = 0; depth < 16 && e instanceof Error; depth++) {
    if (e instanceof ApplicationFailure) found = { ...(e.type ? { type: e.type } : {}), message: e.message };
    last = e.message;
    e = e.cause;
  }
  return found ?? { message: last };
}

/** "message (Type)": one line for steps, reports and the CLI. */
export function failureText(err: unknown): string {
  const { type, message } = failureCause(err);
  return type ? `${message} (${type})` : message;
}
