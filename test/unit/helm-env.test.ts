// helm sees only what it needs of the worker's environment, and its home is private.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { helmEnv, helmHome } from '../../activities/helm/run.ts';

const deps = (home: string) => ({
  helmBin: 'helm',
  kubeconfigPath: '/k',
  logger: pino({ level: 'silent' }),
  helmHome: home,
});

test("helm runs without the worker's credentials or HELM_* overrides", () => {
  process.env.RUNBOOK_BACKUP_HMAC_KEY = 'hmac-never-for-helm';
  process.env.TEMPORAL_API_KEY = 'temporal-never-for-helm';
  process.env.HELM_NAMESPACE = 'elsewhere';
  const env = helmEnv(deps(mkdtempSync(join(tmpdir(), 'helm-env-'))));
  assert.equal(env.PATH, process.env.PATH);
  for (const leaked of ['RUNBOOK_BACKUP_HMAC_KEY', 'TEMPORAL_API_KEY', 'HELM_NAMESPACE'])
    assert.equal(env[leaked], undefined, leaked);
  assert.equal(env.HELM_DRIVER, 'secret');
});

test('a helm home that others can open is refused', () => {
  const open = join(mkdtempSync(join(tmpdir(), 'helm-home-')), 'shared');
  mkdirSync(open);
  chmodSync(open, 0o777);
  assert.throws(() => helmHome(deps(open)), /is not a private directory of this user \(owner uid \d+, mode 777\)/);
  const own = mkdtempSync(join(tmpdir(), 'helm-home-'));
  assert.equal(helmHome(deps(own)), own);
});
