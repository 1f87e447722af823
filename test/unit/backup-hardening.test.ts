// Hardening of backup reads and restores: a manifest must name its own id; manifest.json that is not a
// small regular file holding a JSON object is refused at once; restores into the cluster's own
// namespaces are refused at validation; existing: update never downgrades a CRD.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { signManifest, verifyManifest } from '../../activities/backup/manifest.ts';
import { crdDowngradeReason } from '../../activities/backup/restore.ts';
import { MAX_MANIFEST_BYTES, openBackup } from '../../activities/backup/store.ts';
import { INVALID_INPUT } from '../../contract/failures.ts';
import { restorePlatformInputSchema } from '../../contract/types/backup.ts';
import { BACKUP_INVALID, BACKUP_NOT_FOUND } from '../../contract/failures.ts';
import { parseInput } from '../../workflows/validate.ts';
import { emptyBackupManifest } from '../helpers/backup-manifest.ts';

const root = mkdtempSync(join(tmpdir(), 'backup-hardening-'));
after(() => rmSync(root, { recursive: true, force: true }));
const KEY = 'k1';

const invalid = (pattern: RegExp) => (err: unknown) =>
  err instanceof ApplicationFailure && err.type === BACKUP_INVALID && err.nonRetryable && pattern.test(err.message);

function backupDir(id: string): string {
  const dir = join(root, id);
  mkdirSync(dir);
  return dir;
}

test('a manifest must name the backup it is read as (a signed manifest copied under another id is refused)', async () => {
  const text = JSON.stringify(signManifest(emptyBackupManifest('b1'), KEY));
  assert.equal(verifyManifest(text, KEY, 'b1').id, 'b1');
  assert.throws(() => verifyManifest(text, KEY, 'b2'), invalid(/names backup b1, not b2/));
  writeFileSync(join(backupDir('b2'), 'manifest.json'), text);
  await assert.rejects(openBackup(root, 'b2', KEY), invalid(/names backup b1, not b2/));
});

test('manifest.json that is null or not an object is refused as BackupInvalid', async () => {
  for (const [i, text] of ['null', '"text"', '[1,2]', '42', 'true'].entries()) {
    assert.throws(() => verifyManifest(text, KEY, 'x'), invalid(/manifest.json is not a JSON object/), text);
    writeFileSync(join(backupDir(`plain-${i}`), 'manifest.json'), text);
    await assert.rejects(openBackup(root, `plain-${i}`, KEY), invalid(/manifest.json is not a JSON object/), text);
  }
});

test('manifest.json that is a symlink, a FIFO, a directory or too large is refused at once', async () => {
  const target = join(root, 'elsewhere.json');
  writeFileSync(target, JSON.stringify(signManifest(emptyBackupManifest('link'), KEY)));
  symlinkSync(target, join(backupDir('link'), 'manifest.json'));
  await assert.rejects(openBackup(root, 'link', KEY), invalid(/manifest.json is a symlink/));

  execFileSync('mkfifo', [join(backupDir('fifo'), 'manifest.json')]);
  const started = Date.now();
  await assert.rejects(openBackup(root, 'fifo', KEY), invalid(/manifest.json is a FIFO/));
  assert.ok(Date.now() - started < 2000, 'blocked on the FIFO');

  mkdirSync(join(backupDir('dir'), 'manifest.json'));
  await assert.rejects(openBackup(root, 'dir', KEY), invalid(/manifest.json is not a regular file/));

  const big = join(backupDir('big'), 'manifest.json');
  writeFileSync(big, '');
  truncateSync(big, MAX_MANIFEST_BYTES + 1); // sparse: nothing is written
  await assert.rejects(openBackup(root, 'big', KEY), invalid(/manifest.json is larger than 16777216 bytes/));

  backupDir('missing');
  await assert.rejects(
    openBackup(root, 'missing', KEY),
    (err: unknown) => err instanceof ApplicationFailure && err.type === BACKUP_NOT_FOUND,
  );
});

test("restorePlatform refuses the cluster's own namespaces as target at validation, naming targetNamespace", () => {
  for (const ns of ['kube-system', 'kube-public', 'kube-node-lease', 'default']) {
    assert.throws(
      () => parseInput('restorePlatform', restorePlatformInputSchema, { backupId: 'b1', targetNamespace: ns }),
      (err: unknown) =>
        err instanceof ApplicationFailure &&
        err.type === INVALID_INPUT &&
        err.nonRetryable &&
        /targetNamespace: must not be/.test(err.message),
      ns,
    );
  }
  assert.equal(
    parseInput('restorePlatform', restorePlatformInputSchema, { backupId: 'b1', targetNamespace: 'orchestrator-copy' })
      .targetNamespace,
    'orchestrator-copy',
  );
});

type Crd = Parameters<typeof crdDowngradeReason>[0];
const schema = (props: string[]) => ({
  openAPIV3Schema: {
    type: 'object',
    properties: { spec: { type: 'object', properties: Object.fromEntries(props.map((p) => [p, { type: 'string' }])) } },
  },
});
const crd = (
  versions: { name: string; served: boolean; storage: boolean; props?: string[] }[],
  version?: string,
): Crd =>
  ({
    metadata: {
      name: 'taskruns.orchestrator.io',
      ...(version ? { labels: { 'app.kubernetes.io/version': version } } : {}),
    },
    spec: {
      versions: versions.map((v) => ({
        name: v.name,
        served: v.served,
        storage: v.storage,
        schema: schema(v.props ?? ['service']),
      })),
    },
  }) as Crd;

test('existing: update never downgrades a CRD: a served version removed, fields removed from a schema, or an older version label', () => {
  const v1 = { name: 'v1', served: true, storage: true };
  const v2 = { name: 'v2', served: true, storage: false };
  assert.equal(crdDowngradeReason(crd([v1]), crd([v1])), undefined);
  assert.equal(crdDowngradeReason(crd([v1]), crd([v1, v2])), undefined, 'the backup adds a version: an upgrade');
  assert.match(crdDowngradeReason(crd([v1, v2]), crd([v1])) ?? '', /would stop serving v2/);
  assert.match(crdDowngradeReason(crd([v1, v2]), crd([v1, { ...v2, served: false }])) ?? '', /would stop serving v2/);
  assert.match(
    crdDowngradeReason(crd([{ ...v1, props: ['service', 'priority'] }]), crd([v1])) ?? '',
    /v1 schema would lose \.spec\.priority/,
  );
  assert.equal(crdDowngradeReason(crd([v1]), crd([{ ...v1, props: ['service', 'priority'] }])), undefined);
  assert.match(
    crdDowngradeReason(crd([v1], '1.4.0'), crd([v1], '1.3.9')) ?? '',
    /version 1\.3\.9 is older than the cluster's 1\.4\.0/,
  );
  assert.equal(crdDowngradeReason(crd([v1], '1.3.0'), crd([v1], '1.10.0')), undefined);
});
