// Mocked activities that fail for good, as a real activity does on an error no retry can fix.
import { ApplicationFailure } from '@temporalio/common';

/** An activity that throws a non-retryable ApplicationFailure of `type` (one attempt only). */
export function failsWith(type: string, message: string): () => Promise<never> {
  return async () => {
    throw ApplicationFailure.create({ type, message, nonRetryable: true });
  };
}
