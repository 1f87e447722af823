// The leak scan finds a secret value in plain text and base64 at any offset, and only there.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { findLeaks, scanFiles } from '../../scripts/stack/secret-scan.ts';

const secret = { name: 'API_KEY', value: 'sk-test-0123456789abcdef' };

test('plain text and base64 at every alignment are found; other text is not', () => {
  assert.deepEqual(findLeaks([secret], `x ${secret.value} y`, 'log'), [{ secret: 'API_KEY', where: 'log' }]);
  for (const prefix of ['', 'a', 'ab', 'abc']) {
    const encoded = Buffer.from(`${prefix}${secret.value}tail`).toString('base64');
    assert.equal(findLeaks([secret], `{"data":"${encoded}"}`, 'history').length, 1, `prefix ${JSON.stringify(prefix)}`);
  }
  assert.deepEqual(findLeaks([secret], 'sha256:0a1b2c fingerprint only', 'report'), []);
});

test('files, gzip included, are scanned', () => {
  const dir = mkdtempSync(join(tmpdir(), 'secret-scan-'));
  writeFileSync(join(dir, 'clean.txt'), 'nothing here');
  writeFileSync(join(dir, 'configMaps.jsonl.gz'), gzipSync(`{"data":{"k":"${secret.value}"}}`));
  const { leaks, files } = scanFiles([secret], [dir, join(dir, 'missing')]);
  assert.equal(files, 2);
  assert.deepEqual(leaks, [{ secret: 'API_KEY', where: join(dir, 'configMaps.jsonl.gz') }]);
});
