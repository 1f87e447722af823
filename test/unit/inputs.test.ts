import assert from 'node:assert/strict';
import { test } from 'node:test';
import { platformHealthInputSchema } from '../../contract/types/platform-health.ts';
import { formatIssues } from '../../contract/format-issues.ts';

test('platformHealth input: {} takes the defaults', () => {
  assert.deepEqual(platformHealthInputSchema.parse({}), {
    namespace: 'orchestrator',
    serviceName: 'orchestrator',
    healthPath: '/health',
    restartWarningThreshold: 5,
  });
});

test('platformHealth input: every bad field is named', () => {
  const result = platformHealthInputSchema.safeParse({
    namespace: 'Bad_NS',
    healthUrl: 'ftp://x',
    restartWarningThreshold: 0,
    extra: 1,
  });
  assert.equal(result.success, false);
  const problems = formatIssues(result.error!.issues).join('\n');
  for (const field of ['namespace', 'healthUrl', 'restartWarningThreshold'])
    assert.match(problems, new RegExp(`^${field}:`, 'm'));
  assert.match(problems, /extra/);
});

test('a healthUrl naming a cloud metadata endpoint is refused at validation, naming the field', async () => {
  const { rotateSecretInputSchema } = await import('../../contract/types/rotate-secret.ts');
  for (const healthUrl of [
    'http://169.254.169.254/latest/meta-data/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://[fd00:ec2::254]/',
    'http://METADATA.google.internal./',
  ]) {
    const parsed = rotateSecretInputSchema.safeParse({ key: 'K', from: { env: 'ANTHROPIC_API_KEY' }, healthUrl });
    assert.equal(parsed.success, false, healthUrl);
    assert.deepEqual(
      parsed.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
      ['healthUrl: must not be a cloud metadata endpoint'],
    );
  }
  assert.equal(
    rotateSecretInputSchema.safeParse({
      key: 'K',
      from: { env: 'ANTHROPIC_API_KEY' },
      healthUrl: 'http://127.0.0.1:8080/health',
    }).success,
    true,
  );
});

test('a healthUrl that is not a URL is an InvalidInput issue, not a thrown TypeError', async () => {
  const { rotateSecretInputSchema } = await import('../../contract/types/rotate-secret.ts');
  const parsed = rotateSecretInputSchema.safeParse({ key: 'K', from: { env: 'ANTHROPIC_API_KEY' }, healthUrl: '-rf' });
  assert.equal(parsed.success, false);
  assert.ok(parsed.error?.issues.every((i) => i.path.join('.') === 'healthUrl'));
});
