// One line per zod issue, naming the field: how every input error reads, in workflows and the CLI.
import type { z } from 'zod';

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(input)'}: ${issue.message}`);
}
