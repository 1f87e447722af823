// The backup format: JSON lines, the manifest HMAC, age encryption (and interop with the real `age`
// CLI both ways), backup ids and retention selection.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { execa } from 'execa';
import { ApplicationFailure } from '@temporalio/common';
import { ageDecrypt, ageEncrypt } from '../../activities/backup/age.ts';
import { canonicalJson, decodeJsonLines, encodeJsonLines, sha256 } from '../../activities/backup/codec.ts';
import {
  FORMAT_VERSION,
  signManifest,
  verifyFile,
  verifyManifest,
  type Manifest,
} from '../../activities/backup/manifest.ts';
import { customObjectPage } from '../../activities/kube/paginate.ts';
import { applyRetention, backupIdFor, listBackups, selectExpired } from '../../activities/backup/store.ts';
import { toolPath } from '../../scripts/stack/tools.ts';
import { binaryStdout } from '../helpers/binary-stdout.ts';
import { BACKUP_INVALID } from '../../contract/failures.ts';

const dir = mkdtempSync(join(tmpdir(), 'backup-format-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function manifest(overrides: Partial<Manifest> = {}): Manifest {
  return {
    formatVersion: FORMAT_VERSION,
    id: 'b1',
    createdAt: '2026-11-26T02:00:00.000Z',
    cluster: 'https://127.0.0.1:6443',
    namespace: 'orchestrator',
    counts: { configMaps: 1 },
    files: [{ kind: 'configMaps', file: 'configMaps.jsonl.gz', size: 3, sha256: 'ab', encrypted: false, count: 1 }],
    helm: null,
    volumeSnapshots: { pvcs: 0, snapshotted: 0 },
    recipients: [],
    tools: {},
    ...overrides,
  };
}

const isInvalid = (pattern: RegExp) => (err: unknown) =>
  err instanceof ApplicationFailure && err.type === BACKUP_INVALID && pattern.test(err.message);

test('JSON lines round-trip through gzip; an empty kind is an empty file', () => {
  const objects = [{ a: 1, b: 'x' }, { c: [1, 2] }];
  assert.deepEqual(decodeJsonLines(encodeJsonLines(objects)), objects);
  assert.deepEqual(decodeJsonLines(encodeJsonLines([])), []);
});

test('canonical JSON sorts keys at every level', () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } }),
    '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}',
  );
});

test('a signed manifest verifies, also after re-serialisation with other key order', () => {
  const signed = signManifest(manifest(), 'k1');
  const reordered = JSON.stringify(Object.fromEntries(Object.entries(signed).reverse()), null, 1);
  assert.equal(verifyManifest(reordered, 'k1', 'b1').id, 'b1');
});

test('a changed manifest, a wrong key, a missing HMAC or non-JSON are refused', () => {
  const signed = signManifest(manifest(), 'k1');
  const tampered = { ...signed, files: [{ ...signed.files[0]!, sha256: 'cd' }] };
  assert.throws(() => verifyManifest(JSON.stringify(tampered), 'k1', 'b1'), isInvalid(/HMAC does not match/));
  assert.throws(() => verifyManifest(JSON.stringify(signed), 'k2', 'b1'), isInvalid(/HMAC does not match/));
  assert.throws(() => verifyManifest(JSON.stringify(manifest()), 'k1', 'b1'), isInvalid(/no HMAC/));
  assert.throws(() => verifyManifest('{', 'k1', 'b1'), isInvalid(/not JSON/));
});

test('a file that does not match its checksum or size is refused', () => {
  const data = Buffer.from('abc');
  const info = { kind: 'configMaps' as const, file: 'f', size: 3, sha256: sha256(data), encrypted: false, count: 1 };
  assert.doesNotThrow(() => verifyFile(info, data, 'b1'));
  assert.throws(() => verifyFile(info, Buffer.from('abd'), 'b1'), isInvalid(/does not match its checksum/));
  assert.throws(() => verifyFile(info, Buffer.from('abcd'), 'b1'), isInvalid(/does not match its checksum/));
});

test('age: our encryption round-trips; a wrong identity is a clear error; no recipient is refused', async () => {
  const identity = await generateX25519Identity();
  const other = await generateX25519Identity();
  const sealed = await ageEncrypt(Buffer.from('secret value'), [await identityToRecipient(identity)]);
  assert.equal(Buffer.from(await ageDecrypt(sealed, `# key\n${identity}\n`, 'f')).toString(), 'secret value');
  await assert.rejects(
    ageDecrypt(sealed, other, 'secrets.jsonl.gz.age'),
    isInvalid(/secrets.jsonl.gz.age: cannot decrypt with the given age identity/),
  );
  await assert.rejects(ageDecrypt(sealed, 'not-a-key', 'f'), isInvalid(/not an AGE-SECRET-KEY/));
  await assert.rejects(ageEncrypt(Buffer.from('x'), []), /refusing to write secrets in plain text/);
});

test('age interop: our file decrypts with `age -d -i`', async () => {
  const identity = await generateX25519Identity();
  const keyFile = join(dir, 'key.txt');
  writeFileSync(keyFile, `${identity}\n`, { mode: 0o600 });
  const file = join(dir, 'secrets.jsonl.gz.age');
  writeFileSync(
    file,
    await ageEncrypt(encodeJsonLines([{ kind: 'Secret', data: { k: 'dg==' } }]), [await identityToRecipient(identity)]),
  );
  const out = await binaryStdout(toolPath('age'), ['-d', '-i', keyFile, file]);
  assert.deepEqual(JSON.parse(gunzipSync(out).toString()), { kind: 'Secret', data: { k: 'dg==' } });
});

test('age interop: a file encrypted by `age -r` (key from age-keygen) decrypts with our code', async () => {
  const keyFile = join(dir, 'cli-key.txt');
  await execa(toolPath('age-keygen'), ['-o', keyFile]);
  const identityText = readFileSync(keyFile, 'utf8');
  const recipient = (await execa(toolPath('age-keygen'), ['-y', keyFile])).stdout.trim();
  const plain = join(dir, 'plain');
  writeFileSync(plain, 'from the age cli');
  const sealed = await binaryStdout(toolPath('age'), ['-r', recipient, plain]);
  assert.equal(Buffer.from(await ageDecrypt(sealed, identityText, 'f')).toString(), 'from the age cli');
});

test('binaryStdout keeps a final newline byte (execa strips it by default, also from a Buffer)', async () => {
  assert.deepEqual([...(await binaryStdout('printf', ['a\\n']))], [0x61, 0x0a]);
  const stripped = await execa('printf', ['a\\n'], { encoding: 'buffer' });
  assert.deepEqual([...stripped.stdout], [0x61], 'what the age tests lost one time in 256');
});

test('backup ids: a safe workflow ID is kept, anything else is made safe and stays unique', () => {
  assert.equal(backupIdFor('nightly-backup-2026-11-26T02.00.00Z'), 'nightly-backup-2026-11-26T02.00.00Z');
  const a = backupIdFor('nightly-backup-2026-11-26T02:00:00Z');
  assert.match(a, /^nightly-backup-2026-11-26T02-00-00Z-[0-9a-f]{8}$/);
  assert.notEqual(a, backupIdFor('nightly-backup-2026-11-26T02/00/00Z'));
  assert.equal(a, backupIdFor('nightly-backup-2026-11-26T02:00:00Z'));
  assert.ok(!backupIdFor('../etc').startsWith('.'));
});

test('retention selection: keepLast counts the protected backup; maxAgeDays deletes older ones (one series)', () => {
  const day = 86_400_000;
  const now = Date.parse('2026-11-26T00:00:00Z');
  const backups = ['b5', 'b4', 'b3', 'b2', 'b1'].map((id, i) => ({
    id,
    createdAt: new Date(now - i * day).toISOString(),
    namespace: 'orchestrator',
    series: 's',
    authentic: true,
    verified: false,
  }));
  assert.deepEqual(selectExpired(backups, { keepLast: 2 }, now, { protect: 'b5' }), ['b3', 'b2', 'b1']);
  assert.deepEqual(selectExpired(backups, { maxAgeDays: 2.5 }, now, { protect: 'b5' }), ['b2', 'b1']);
  assert.deepEqual(selectExpired(backups, { keepLast: 4, maxAgeDays: 1.5 }, now, { protect: 'b5' }), [
    'b3',
    'b2',
    'b1',
  ]);
  assert.deepEqual(selectExpired(backups, { keepLast: 1, maxAgeDays: 0 }, now, { protect: 'b1' }), [
    'b5',
    'b4',
    'b3',
    'b2',
  ]);
  assert.deepEqual(selectExpired(backups, {}, now, { protect: 'b5' }), []);
});

test('retention on a store deletes the right directories and keeps the rest', async () => {
  const root = mkdtempSync(join(dir, 'store-'));
  const day = 86_400_000;
  const now = Date.now();
  const { mkdirSync } = await import('node:fs');
  for (let i = 0; i < 4; i++) {
    mkdirSync(join(root, `b${i}`));
    writeFileSync(
      join(root, `b${i}`, 'manifest.json'),
      JSON.stringify(
        signManifest(manifest({ id: `b${i}`, series: 's', createdAt: new Date(now - i * day).toISOString() }), 'k1'),
      ),
    );
  }
  const result = await applyRetention(root, { keepLast: 2 }, { protect: 'b0', hmacKey: 'k1' }, now);
  assert.deepEqual(result.deleted, ['b2', 'b3']);
  assert.deepEqual(
    (await listBackups(root, 'k1')).map((b) => b.id),
    ['b0', 'b1'],
  );
});

test('custom object lists follow metadata.continue (raw JSON), so pagination does not stop after one page', () => {
  assert.deepEqual(customObjectPage({ items: [1], metadata: { continue: 'tok', remainingItemCount: 9 } }), {
    items: [1],
    metadata: { _continue: 'tok', remainingItemCount: 9 },
  });
  assert.deepEqual(customObjectPage({ items: [], metadata: {} }), { items: [], metadata: {} });
});
