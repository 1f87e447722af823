import assert from 'node:assert/strict';
import { test } from 'node:test';
import { platformHealthInputSchema } from '../../workflows/types/platform-health.ts';
import { formatIssues } from '../../workflows/validate.ts';

test('platformHealth input: {} takes the defaults', () => {
  assert.deepEqual(platformHealthInputSchema.parse({}), {
    namespace: 'orchestrator', serviceName: 'orchestrator', healthPath: '/health', restartWarningThreshold: 5,
  });
});

test('platformHealth input: every bad field is named', () => {
  const result = platformHealthInputSchema.safeParse({ namespace: 'Bad_NS', healthUrl: 'ftp://x', restartWarningThreshold: 0, extra: 1 });
  assert.equal(result.success, false);
  const problems = formatIssues(result.error!.issues).join('\n');
  for (const field of ['namespace', 'healthUrl', 'restartWarningThreshold']) assert.match(problems, new RegExp(`^${field}:`, 'm'));
  assert.match(problems, /extra/);
});
