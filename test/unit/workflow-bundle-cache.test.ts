// The workflow bundle's cache: a bundle is named by the hash of what it is built from, built once,
// then read from the cache; any change to those inputs names another bundle.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { bundleKey, workflowBundlePath } from '../../worker/workflow-bundle.ts';

const scratch = mkdtempSync(join(tmpdir(), 'bundle-cache-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A stand-in repo with one file in each input the key reads. */
function fakeRepo(): string {
  const repo = mkdtempSync(join(scratch, 'repo-'));
  for (const dir of ['workflows', 'contract', 'activities', 'worker']) mkdirSync(join(repo, dir));
  for (const file of [
    'workflows/index.ts',
    'contract/messages.ts',
    'activities/index.ts',
    'worker/workflow-bundle.ts',
    'worker/bundle-workflows.ts',
    'worker/worker.ts',
    'package-lock.json',
  ])
    writeFileSync(join(repo, file), `// ${file}\n`);
  return repo;
}

test('the key changes with a workflow, a contract or an activity file, the bundler setup or the lockfile', () => {
  const repo = fakeRepo();
  const keys = new Set([bundleKey(repo)]);
  assert.equal(bundleKey(repo), [...keys][0], 'the same inputs give the same key');
  for (const file of [
    'workflows/index.ts',
    'contract/messages.ts',
    'activities/index.ts',
    'worker/worker.ts',
    'package-lock.json',
  ]) {
    writeFileSync(join(repo, file), `// ${file}, changed\n`);
    keys.add(bundleKey(repo));
  }
  mkdirSync(join(repo, 'workflows', 'drain-node'));
  writeFileSync(join(repo, 'workflows', 'drain-node', 'index.ts'), '// a new runbook\n');
  keys.add(bundleKey(repo));
  assert.equal(keys.size, 7, 'every change named another bundle');
});

test('the bundle is built once into the cache, then read from it', async () => {
  const cache = join(scratch, 'cache');
  const first = await workflowBundlePath(cache);
  assert.match(readFileSync(first, 'utf8'), /upgradePlatform/);
  const built = statSync(first).mtimeMs;
  writeFileSync(first, '// the cached bundle\n'); // a rebuild would overwrite this
  const again = await workflowBundlePath(cache);
  assert.equal(again, first);
  assert.equal(readFileSync(again, 'utf8'), '// the cached bundle\n', 'read from the cache, not built again');
  assert.ok(statSync(again).mtimeMs >= built, 'marked as recently used');
});
