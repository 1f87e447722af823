// Which secret sources a workflow input may name (activities/kube/secret-sources.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { checkSecretSource, envAllowed } from '../../activities/kube/secret-sources.ts';
import { secretKeyFieldManager } from '../../activities/kube/secrets.ts';
import { SECRET_SOURCE_REFUSED } from '../../contract/failures.ts';

const policy = { envAllow: ['ANTHROPIC_API_KEY', 'APP_*', '*'], secretNamespaces: ['vault'] };

test('env vars: exact names and prefixes; the worker\'s credentials never, even under "*"', () => {
  const narrow = { envAllow: ['ANTHROPIC_API_KEY', 'APP_*'], secretNamespaces: [] };
  assert.equal(envAllowed('ANTHROPIC_API_KEY', narrow), true);
  assert.equal(envAllowed('APP_TOKEN', narrow), true);
  assert.equal(envAllowed('ANTHROPIC_API_KEY_2', narrow), false);
  assert.equal(envAllowed('PATH', narrow), false);
  for (const own of [
    'RUNBOOK_BACKUP_HMAC_KEY',
    'RUNBOOK_BACKUP_AGE_IDENTITY',
    'TEMPORAL_API_KEY',
    'RUNBOOK_KUBECONFIG',
    'KUBECONFIG',
    'AWS_SECRET_ACCESS_KEY',
  ]) {
    assert.equal(envAllowed(own, policy), false, own);
  }
});

const refusal = (pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof ApplicationFailure);
  assert.equal(err.type, SECRET_SOURCE_REFUSED);
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, pattern);
  return true;
};

test('a refused source names the input field and the reason', () => {
  assert.throws(
    () => checkSecretSource({ env: 'RUNBOOK_BACKUP_HMAC_KEY' }, 'orchestrator', policy, 'from'),
    refusal(/^from: .*RUNBOOK_BACKUP_HMAC_KEY is one of the worker's own credentials/),
  );
  assert.throws(
    () =>
      checkSecretSource(
        { env: 'HOME' },
        'orchestrator',
        { envAllow: [], secretNamespaces: [] },
        'secrets[1].keys[0].from',
      ),
    refusal(/^secrets\[1\]\.keys\[0\]\.from: .*HOME is not in the worker's allowlist/),
  );
});

test('Secrets: the namespace written and the allowlisted ones only', () => {
  assert.doesNotThrow(() => checkSecretSource({ secret: { name: 's', key: 'k' } }, 'orchestrator', policy, 'from'));
  assert.doesNotThrow(() =>
    checkSecretSource({ secret: { name: 's', key: 'k', namespace: 'orchestrator' } }, 'orchestrator', policy, 'from'),
  );
  assert.doesNotThrow(() =>
    checkSecretSource({ secret: { name: 's', key: 'k', namespace: 'vault' } }, 'orchestrator', policy, 'from'),
  );
  assert.throws(
    () =>
      checkSecretSource({ secret: { name: 's', key: 'k', namespace: 'kube-system' } }, 'orchestrator', policy, 'from'),
    refusal(/namespace kube-system may not be read/),
  );
});

test("each Secret key has a field manager of its own, within the API server's 128 characters", () => {
  assert.equal(secretKeyFieldManager('ANTHROPIC_API_KEY'), 'platform-runbooks-key-ANTHROPIC_API_KEY');
  assert.notEqual(secretKeyFieldManager('A'), secretKeyFieldManager('B'));
  const long = secretKeyFieldManager('k'.repeat(200));
  assert.ok(long.length <= 128 && long !== secretKeyFieldManager('k'.repeat(201)), long);
});
