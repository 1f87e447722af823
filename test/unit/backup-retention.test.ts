// Retention applies to one series only (namespace + the schedule or runbook that took the backups), read
// from each backup's authenticated manifest; a backup whose manifest does not authenticate is never
// deleted; the newest verified backup of a series is never deleted.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { signManifest, type Manifest } from '../../activities/backup/manifest.ts';
import {
  applyRetention,
  listBackups,
  selectExpired,
  signVerification,
  VERIFICATION_FILE,
  type StoredBackup,
} from '../../activities/backup/store.ts';
import { emptyBackupManifest } from '../helpers/backup-manifest.ts';

const dir = mkdtempSync(join(tmpdir(), 'backup-retention-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const KEY = 'k1';
const DAY = 86_400_000;
const NOW = Date.parse('2026-11-26T00:00:00Z');

function stored(id: string, ageDays: number, extra: Partial<StoredBackup> = {}): StoredBackup {
  return {
    id,
    createdAt: new Date(NOW - ageDays * DAY).toISOString(),
    namespace: 'orchestrator',
    series: 'nightly-backup',
    authentic: true,
    verified: false,
    ...extra,
  };
}

const scope = (protect: string, namespace = 'orchestrator', series = 'nightly-backup') => ({
  protect,
  namespace,
  series,
});

test("selection: keepLast and maxAgeDays count only the backups of the protected backup's series", () => {
  const backups = [
    stored('scratch-1', 0, { namespace: 'scratch', series: 'backupPlatform' }),
    stored('n3', 1),
    stored('n2', 2),
    stored('n1', 3),
    stored('other-series', 4, { series: 'backupPlatform' }),
  ];
  assert.deepEqual(selectExpired(backups, { keepLast: 1 }, NOW, scope('scratch-1', 'scratch', 'backupPlatform')), []);
  assert.deepEqual(selectExpired(backups, { maxAgeDays: 0 }, NOW, scope('scratch-1', 'scratch', 'backupPlatform')), []);
  assert.deepEqual(selectExpired(backups, { keepLast: 2 }, NOW, scope('n3')), ['n1']);
  assert.deepEqual(selectExpired(backups, { maxAgeDays: 2.5 }, NOW, scope('n3')), ['n1']);
  assert.deepEqual(selectExpired(backups, { keepLast: 1, maxAgeDays: 0 }, NOW, scope('n3')), ['n2', 'n1']);
  assert.deepEqual(selectExpired(backups, {}, NOW, scope('n3')), []);
  // Same series name, another namespace: another series.
  assert.deepEqual(
    selectExpired([...backups, stored('x', 9, { namespace: 'team-b' })], { keepLast: 1 }, NOW, scope('n3')),
    ['n2', 'n1'],
  );
});

test('selection: a backup that does not authenticate, or has no series, is never deleted', () => {
  const backups = [
    stored('n3', 1),
    stored('forged', 2, { authentic: false }),
    stored('legacy', 3, { series: undefined }),
    stored('n1', 4),
  ];
  assert.deepEqual(selectExpired(backups, { keepLast: 1, maxAgeDays: 0 }, NOW, scope('n3')), ['n1']);
});

test('selection: the newest verified backup of the series is never deleted', () => {
  const backups = [
    stored('n4', 1),
    stored('n3', 2),
    stored('n2', 3, { verified: true }),
    stored('n1', 4, { verified: true }),
  ];
  assert.deepEqual(selectExpired(backups, { keepLast: 1 }, NOW, scope('n4')), ['n3', 'n1']);
  assert.deepEqual(selectExpired(backups, { maxAgeDays: 0 }, NOW, scope('n4')), ['n3', 'n1']);
  // A verified backup in another series does not protect anything here.
  assert.deepEqual(
    selectExpired(
      [stored('n2', 1), stored('n1', 2), stored('v', 3, { series: 'x', verified: true })],
      { keepLast: 1 },
      NOW,
      scope('n2'),
    ),
    ['n1'],
  );
});

test('selection: without the protected backup in the store (or without its series) nothing is deleted', () => {
  const backups = [stored('n2', 1), stored('n1', 2)];
  assert.deepEqual(selectExpired(backups, { keepLast: 1 }, NOW, scope('gone')), []);
  assert.deepEqual(
    selectExpired([stored('p', 0, { series: undefined }), ...backups], { keepLast: 1 }, NOW, { protect: 'p' }),
    [],
  );
});

function manifest(id: string, namespace: string, series: string, createdAt: string): Manifest {
  return emptyBackupManifest(id, { namespace, series, createdAt });
}

function put(root: string, m: Manifest | Record<string, unknown>, key = KEY, id = (m as Manifest).id): void {
  mkdirSync(join(root, id));
  const body = 'formatVersion' in m ? signManifest(m as Manifest, key) : m;
  writeFileSync(join(root, id, 'manifest.json'), JSON.stringify(body));
}

test('a store: a backup of a scratch namespace with keepLast 1 deletes none of the orchestrator backups', async () => {
  const root = mkdtempSync(join(dir, 'store-'));
  for (let i = 1; i <= 3; i++)
    put(root, manifest(`nightly-${i}`, 'orchestrator', 'nightly-backup', new Date(NOW - (5 - i) * DAY).toISOString()));
  put(root, manifest('scratch-1', 'scratch', 'backupPlatform', new Date(NOW).toISOString()));
  for (const policy of [{ keepLast: 1 }, { maxAgeDays: 0 }]) {
    const result = await applyRetention(root, policy, { protect: 'scratch-1', hmacKey: KEY }, NOW);
    assert.deepEqual(result.deleted, []);
    assert.deepEqual(readdirSync(root).sort(), ['nightly-1', 'nightly-2', 'nightly-3', 'scratch-1']);
  }
  // The nightly series itself still expires its own.
  put(root, manifest('nightly-4', 'orchestrator', 'nightly-backup', new Date(NOW).toISOString()));
  const result = await applyRetention(root, { keepLast: 2 }, { protect: 'nightly-4', hmacKey: KEY }, NOW);
  assert.deepEqual(result.deleted, ['nightly-2', 'nightly-1']);
  assert.deepEqual(readdirSync(root).sort(), ['nightly-3', 'nightly-4', 'scratch-1']);
});

test('a store: manifests that do not authenticate (other key, no HMAC, not JSON, forged series) are kept', async () => {
  const root = mkdtempSync(join(dir, 'store-'));
  const old = new Date(NOW - 100 * DAY).toISOString();
  put(root, manifest('other-key', 'orchestrator', 'nightly-backup', old), 'k2');
  put(root, { createdAt: old, namespace: 'orchestrator', series: 'nightly-backup' }, KEY, 'no-hmac');
  mkdirSync(join(root, 'garbage'));
  writeFileSync(join(root, 'garbage', 'manifest.json'), '{');
  // Signed for one id, copied under another: its id does not match, so it does not authenticate there.
  put(root, manifest('elsewhere', 'orchestrator', 'nightly-backup', old), KEY, 'renamed');
  put(root, manifest('nightly-9', 'orchestrator', 'nightly-backup', new Date(NOW).toISOString()));
  const listed = await listBackups(root, KEY);
  assert.deepEqual(
    listed.filter((b) => b.authentic).map((b) => b.id),
    ['nightly-9'],
  );
  const result = await applyRetention(
    root,
    { keepLast: 1, maxAgeDays: 0 },
    { protect: 'nightly-9', hmacKey: KEY },
    NOW,
  );
  assert.deepEqual(result.deleted, []);
  assert.deepEqual(readdirSync(root).sort(), ['garbage', 'nightly-9', 'no-hmac', 'other-key', 'renamed']);
});

test('a store: the newest backup with an authentic verification record is kept; a forged record counts for nothing', async () => {
  const root = mkdtempSync(join(dir, 'store-'));
  for (let i = 1; i <= 4; i++)
    put(root, manifest(`n${i}`, 'orchestrator', 'nightly-backup', new Date(NOW - (5 - i) * DAY).toISOString()));
  writeFileSync(
    join(root, 'n1', VERIFICATION_FILE),
    JSON.stringify(
      signVerification({ backupId: 'n1', verifiedAt: new Date(NOW).toISOString(), workflowId: 'v1' }, KEY),
    ),
  );
  writeFileSync(
    join(root, 'n2', VERIFICATION_FILE),
    JSON.stringify(
      signVerification({ backupId: 'n2', verifiedAt: new Date(NOW).toISOString(), workflowId: 'v2' }, 'k2'),
    ),
  );
  // A record of n1 copied into n3 names another backup.
  writeFileSync(
    join(root, 'n3', VERIFICATION_FILE),
    JSON.stringify(
      signVerification({ backupId: 'n1', verifiedAt: new Date(NOW).toISOString(), workflowId: 'v1' }, KEY),
    ),
  );
  const listed = await listBackups(root, KEY);
  assert.deepEqual(
    listed.filter((b) => b.verified).map((b) => b.id),
    ['n1'],
  );
  const result = await applyRetention(root, { keepLast: 1 }, { protect: 'n4', hmacKey: KEY }, NOW);
  assert.deepEqual(result.deleted, ['n3', 'n2']);
  assert.deepEqual(readdirSync(root).sort(), ['n1', 'n4']);
});
