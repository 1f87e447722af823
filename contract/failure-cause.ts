// What a failure is about. Temporal wraps the reason of a failed activity or child workflow
// ("Activity task failed", "Child Workflow execution failed"); operators need the reason itself:
// the innermost ApplicationFailure of the cause chain, with its type. Used by the progress steps,
// the reports and the CLI, so that all of them say the same thing.
import { ApplicationFailure, rootCause } from '@temporalio/common';

export interface FailureCause {
  /** The ApplicationFailure type (e.g. BackupInvalid), when the reason is one. */
  type?: string;
  message: string;
}

/** The innermost ApplicationFailure of a cause chain: the one unwrapper every runbook and the CLI use. */
export function innermostApplicationFailure(err: unknown): ApplicationFailure | undefined {
  let found: ApplicationFailure | undefined;
  let e: unknown = err;
  for (let depth = 0; depth < 16 && e instanceof Error; depth++) {
    if (e instanceof ApplicationFailure) found = e;
    e = e.cause;
  }
  return found;
}

export function failureCause(err: unknown): FailureCause {
  const found = innermostApplicationFailure(err);
  if (found) return { ...(found.type ? { type: found.type } : {}), message: found.message };
  return { message: rootCause(err) ?? String(err) };
}

/** "message (Type)": one line for steps, reports and the CLI. */
export function failureText(err: unknown): string {
  const { type, message } = failureCause(err);
  return type ? `${message} (${type})` : message;
}
