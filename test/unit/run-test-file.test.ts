// npm test's runner of one test file (scripts/stack/run-test-file.ts): a file that never ends is
// killed at its time limit and counted as failed; the run does not wait for it.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runNodeTest } from '../../scripts/stack/run-test-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'run-test-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const env = { PATH: process.env.PATH ?? '' };

function testFileWith(name: string, body: string): string {
  const path = join(dir, `${name}.test.mjs`);
  writeFileSync(path, `import { test } from 'node:test';\n${body}\n`);
  return path;
}

test('a file whose test passes but leaves a server open is killed at its time limit and fails', async () => {
  const file = testFileWith(
    'hangs',
    "import { createServer } from 'node:net';\ntest('leaves a server', () => { createServer().listen(0); });",
  );
  const start = performance.now();
  const run = await runNodeTest([file], { env, timeoutMs: 3_000 });
  const seconds = (performance.now() - start) / 1000;
  assert.equal(run.timedOut, true);
  assert.equal(run.exitCode, 1);
  assert.match(run.output, /still running after 3 s: killed/);
  assert.ok(seconds < 20, `took ${seconds} s`);
});

test('a file that ends passes with its output, each line given as it comes', async () => {
  const file = testFileWith('ends', "test('fine', () => {});");
  const seen: string[] = [];
  const run = await runNodeTest([file], { env, timeoutMs: 30_000, onLine: (line) => seen.push(line) });
  assert.equal(run.timedOut, false);
  assert.equal(run.exitCode, 0);
  assert.match(run.output, /^ℹ pass 1$/m);
  assert.deepEqual(seen, run.output.split('\n'));
});
