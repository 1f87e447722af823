// How a workflow test gets at the failure a run ends with, asserting that it did fail (a run that
// completes is reported with its result).
import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';

/** The WorkflowFailedError the workflow behind `handle` fails with. */
export async function workflowFailure(handle: { result(): Promise<unknown> }): Promise<WorkflowFailedError> {
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, `expected the workflow to fail, got ${String(err)}`);
  return err;
}
