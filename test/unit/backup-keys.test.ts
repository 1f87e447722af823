// The backup keys (manifest HMAC key, age identity) are the worker's configuration, never a workflow
// input: a backup signed with a key the caller knows does not verify on a worker configured with another
// key, whatever the input says; an input naming a key fails validation; the worker's flags pick them.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import { backupActivities } from '../../activities/backup/index.ts';
import { DEFAULT_BACKUP_KEYS } from '../../activities/backup/keys.ts';
import { signManifest } from '../../activities/backup/manifest.ts';
import type { ActivityDeps } from '../../activities/deps.ts';
import type { HelmDeps } from '../../activities/helm/deps.ts';
import { parseWorkerConfig } from '../../worker/config.ts';
import { backupAndVerifyInputSchema } from '../../contract/types/backup-verify.ts';
import { backupPlatformInputSchema, restorePlatformInputSchema } from '../../contract/types/backup.ts';
import { BACKUP_INVALID } from '../../contract/failures.ts';
import { upgradePlatformInputSchema } from '../../contract/types/upgrade.ts';
import { formatIssues } from '../../contract/format-issues.ts';
import { emptyBackupManifest } from '../helpers/backup-manifest.ts';

const root = mkdtempSync(join(tmpdir(), 'backup-keys-'));
after(() => rmSync(root, { recursive: true, force: true }));
process.env.BACKUP_KEYS_TEST_CALLER_KEY = 'key-the-caller-knows';
process.env.BACKUP_KEYS_TEST_WORKER_KEY = 'key-of-the-worker';

const include = { crds: true, secrets: true, configMaps: true, helmReleases: true, taskRuns: true };

function writeSigned(id: string, key: string): void {
  mkdirSync(join(root, id));
  writeFileSync(join(root, id, 'manifest.json'), JSON.stringify(signManifest(emptyBackupManifest(id), key)));
}

const activities = (backupKeys?: ActivityDeps['backupKeys']) =>
  backupActivities(
    { workdir: root, backupDir: '.', ...(backupKeys ? { backupKeys } : {}) } as ActivityDeps,
    {} as HelmDeps,
  );

test("a backup signed with the caller's key does not verify on a worker configured with another key, even if the input names the caller's key", async () => {
  writeSigned('forged', 'key-the-caller-knows');
  const worker = activities({ hmacKey: { env: 'BACKUP_KEYS_TEST_WORKER_KEY' } });
  const ref = { backupId: 'forged', include, hmacKey: { env: 'BACKUP_KEYS_TEST_CALLER_KEY' } };
  await assert.rejects(
    worker.verifyBackup(ref as never),
    (err: unknown) =>
      err instanceof ApplicationFailure && err.type === BACKUP_INVALID && /HMAC does not match/.test(err.message),
  );
  // The same backup verifies on a worker whose key it was signed with.
  const verified = await activities({ hmacKey: { env: 'BACKUP_KEYS_TEST_CALLER_KEY' } }).verifyBackup({
    backupId: 'forged',
    include,
  });
  assert.equal(verified.id, 'forged');
});

test('without configuration the worker uses RUNBOOK_BACKUP_HMAC_KEY / RUNBOOK_BACKUP_AGE_IDENTITY', async () => {
  assert.deepEqual(DEFAULT_BACKUP_KEYS, {
    hmacKey: { env: 'RUNBOOK_BACKUP_HMAC_KEY' },
    identity: { env: 'RUNBOOK_BACKUP_AGE_IDENTITY' },
  });
  writeSigned('default-key', 'the-default-key');
  const saved = process.env.RUNBOOK_BACKUP_HMAC_KEY;
  process.env.RUNBOOK_BACKUP_HMAC_KEY = 'the-default-key';
  try {
    assert.equal((await activities().verifyBackup({ backupId: 'default-key', include })).id, 'default-key');
  } finally {
    if (saved === undefined) delete process.env.RUNBOOK_BACKUP_HMAC_KEY;
    else process.env.RUNBOOK_BACKUP_HMAC_KEY = saved;
  }
});

test("an input naming a backup key fails validation: the keys are the worker's configuration now", () => {
  const problems = (schema: z.ZodType, input: unknown) => {
    const r = schema.safeParse(input);
    assert.equal(r.success, false);
    return formatIssues(r.error!.issues).join('; ');
  };
  const recipients = ['age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'];
  const message = /is the worker's configuration now, not an input/;
  assert.match(
    problems(backupPlatformInputSchema, { recipients, hmacKey: { env: 'X' } }),
    new RegExp(`^hmacKey: ${message.source}.*--backup-hmac-key`),
  );
  assert.match(
    problems(restorePlatformInputSchema, { backupId: 'b', hmacKey: { env: 'X' } }),
    new RegExp(`hmacKey: ${message.source}`),
  );
  assert.match(
    problems(restorePlatformInputSchema, { backupId: 'b', identity: { secret: { name: 's', key: 'k' } } }),
    new RegExp(`identity: ${message.source}.*--backup-identity`),
  );
  assert.match(
    problems(backupAndVerifyInputSchema, { backup: { recipients }, verify: { identity: { env: 'X' } } }),
    new RegExp(`verify\\.identity: ${message.source}`),
  );
  assert.match(
    problems(upgradePlatformInputSchema, { backup: { recipients, hmacKey: { env: 'X' } } }),
    new RegExp(`backup\\.hmacKey: ${message.source}`),
  );
  // Without them, the inputs are valid as before.
  assert.ok(restorePlatformInputSchema.safeParse({ backupId: 'b' }).success);
  assert.ok(backupPlatformInputSchema.safeParse({ recipients }).success);
});

test("the worker's flags (or environment) pick the keys: an env var name or a Secret", () => {
  const base = ['--kubeconfig', 'k'];
  const config = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const c = parseWorkerConfig([...base, ...argv], env);
    assert.notEqual(c, 'help');
    return (c as Exclude<typeof c, 'help'>).backupKeys;
  };
  assert.deepEqual(config([]), DEFAULT_BACKUP_KEYS);
  assert.deepEqual(
    config(['--backup-hmac-key', 'OPS_HMAC', '--backup-identity', 'secret:runbooks/backup-keys/identity']),
    {
      hmacKey: { env: 'OPS_HMAC' },
      identity: { secret: { namespace: 'runbooks', name: 'backup-keys', key: 'identity' } },
    },
  );
  assert.deepEqual(config([], { RUNBOOK_BACKUP_HMAC_KEY_FROM: 'env:K1', RUNBOOK_BACKUP_AGE_IDENTITY_FROM: 'K2' }), {
    hmacKey: { env: 'K1' },
    identity: { env: 'K2' },
  });
  assert.deepEqual(config(['--backup-hmac-key', 'K3'], { RUNBOOK_BACKUP_HMAC_KEY_FROM: 'K1' }).hmacKey, { env: 'K3' });
  assert.throws(
    () => config(['--backup-hmac-key', 'secret:no-namespace']),
    /--backup-hmac-key: secret:no-namespace is neither an environment variable name/,
  );
  assert.throws(() => config(['--backup-identity', 'bad name']), /--backup-identity: bad name is neither/);
});
