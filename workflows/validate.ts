// Input validation shared by every runbook: parse with a zod schema, or fail the workflow at
// once with a non-retryable InvalidInput failure that names every bad field.
import { ApplicationFailure } from '@temporalio/workflow';
import type { z } from 'zod';
import { INVALID_INPUT } from '../contract/failures.ts';
import { formatIssues } from '../contract/format-issues.ts';

export function parseInput<S extends z.ZodType>(runbook: string, schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const problems = formatIssues(result.error.issues);
  throw ApplicationFailure.create({
    type: INVALID_INPUT,
    nonRetryable: true,
    message: `invalid ${runbook} input: ${problems.join('; ')}`,
    details: [problems],
  });
}
