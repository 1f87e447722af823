import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWorkerConfig } from '../../worker/config.ts';
import { assertSupportedNode } from '../../worker/node-version.ts';

test('the worker refuses to start without a named cluster', () => {
  assert.throws(() => parseWorkerConfig([], {}), /no cluster named: pass --kubeconfig/);
});

test('flags win over environment, environment over defaults', () => {
  const config = parseWorkerConfig(['--kubeconfig', '/k', '--task-queue', 'q'], { RUNBOOK_TASK_QUEUE: 'env-q', TEMPORAL_ADDRESS: 'h:1' });
  assert.ok(config !== 'help');
  assert.equal(config.kubeconfigPath, '/k');
  assert.equal(config.taskQueue, 'q');
  assert.equal(config.temporalAddress, 'h:1');
  assert.equal(config.httpPort, 9464);
});

test('bad flags are clear errors', () => {
  assert.throws(() => parseWorkerConfig(['--kubeconfig', '/k', '--http-port', 'x'], {}), /--http-port: x is not a port/);
  assert.throws(() => parseWorkerConfig(['--kubeconfig', '/k', '--log-level', 'loud'], {}), /--log-level: loud/);
  assert.equal(parseWorkerConfig(['--help'], {}), 'help');
});

test('old Node is refused with the reason', () => {
  assert.throws(() => assertSupportedNode('20.20.2'), /needs Node >= 22 \(found 20.20.2\)/);
  assert.doesNotThrow(() => assertSupportedNode('24.21.0'));
});

test('secret sources: the allowlist comes from flags or environment, with a safe default', () => {
  const byDefault = parseWorkerConfig(['--kubeconfig', '/k'], {});
  assert.ok(byDefault !== 'help');
  assert.deepEqual(byDefault.secretSources, { envAllow: ['ANTHROPIC_API_KEY', 'GITHUB_TOKEN', 'RUNBOOK_SECRET_*'], secretNamespaces: [] });
  const fromEnv = parseWorkerConfig(['--kubeconfig', '/k', '--secret-namespaces', 'vault, shared'], { RUNBOOK_SECRET_ENV_ALLOW: 'A_KEY,APP_*' });
  assert.ok(fromEnv !== 'help');
  assert.deepEqual(fromEnv.secretSources, { envAllow: ['A_KEY', 'APP_*'], secretNamespaces: ['vault', 'shared'] });
});
