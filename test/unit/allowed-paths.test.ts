// Input file paths stay inside the worker's chart and values directories, symlinks included.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveAllowedPath } from '../../activities/allowed-paths.ts';

const workdir = mkdtempSync(join(tmpdir(), 'allowed-paths-'));
mkdirSync(join(workdir, 'charts/orchestrator'), { recursive: true });
mkdirSync(join(workdir, 'values'));
writeFileSync(join(workdir, 'values/prod.yaml'), 'a: 1\n');
writeFileSync(join(workdir, 'secret.txt'), 'x');
symlinkSync(join(workdir, 'secret.txt'), join(workdir, 'values/escape.yaml'));
symlinkSync('/etc', join(workdir, 'charts/etc'));
const roots = ['charts', 'values'];

test('paths inside the roots resolve to absolute paths', () => {
  assert.deepEqual(resolveAllowedPath('charts/orchestrator', workdir, roots), {
    path: join(workdir, 'charts/orchestrator'),
  });
  assert.deepEqual(resolveAllowedPath(join(workdir, 'values/prod.yaml'), workdir, roots), {
    path: join(workdir, 'values/prod.yaml'),
  });
  assert.ok(
    'path' in resolveAllowedPath('charts/not-there-yet', workdir, roots),
    'a missing file inside a root is left to "not found"',
  );
});

test('anything else is refused with the reason: other files, .., absolute paths, symlinks out', () => {
  for (const path of [
    'secret.txt',
    'charts/../secret.txt',
    '/etc/passwd',
    'values/escape.yaml',
    'charts/etc/passwd',
    '../x',
  ]) {
    const r = resolveAllowedPath(path, workdir, roots);
    assert.ok('refused' in r, path);
    assert.match(r.refused, /outside the worker's chart and values directories/);
  }
});
