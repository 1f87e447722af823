// npm test's summary repeats each failed file's failing tests and their errors (without stack frames):
// CI keeps only the tail of a long run's output, and a failure must be readable there.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { failureDigest } from '../../scripts/stack/failure-digest.ts';
import { runNodeTest } from '../../scripts/stack/run-test-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'failure-digest-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test("a failed file's digest names the failing test and its error, not the passing ones or stack frames", async () => {
  const file = join(dir, 'fails.test.mjs');
  writeFileSync(
    file,
    [
      "import { test } from 'node:test';",
      "import assert from 'node:assert/strict';",
      "test('passes quietly', () => {});",
      "test('the phase arrives', () => { assert.equal('paused', 'contained', 'phase contained not reached'); });",
    ].join('\n'),
  );
  const run = await runNodeTest([file], { env: { PATH: process.env.PATH ?? '' }, timeoutMs: 60_000 });
  assert.equal(run.exitCode, 1);
  const digest = failureDigest(run.output);
  assert.match(digest.join('\n'), /✖ the phase arrives/);
  assert.match(digest.join('\n'), /phase contained not reached/);
  assert.doesNotMatch(digest.join('\n'), /passes quietly/);
  assert.ok(!digest.some((line) => /^\s+at /.test(line)), 'no stack frames');
});

test('a digest is cut at its limit and says how much it left out', () => {
  const output = ['✔ one', '✖ failing tests:', '', ...Array.from({ length: 50 }, (_, i) => `line ${i}`)].join('\n');
  const digest = failureDigest(output, 10);
  assert.equal(digest.length, 11);
  assert.match(digest.at(-1)!, /40 more lines/);
});

test('a file killed at its time limit: the digest is the kill line (no failing-tests section)', () => {
  const output = '✔ one\ntest: test/x.test.ts still running after 900 s: killed';
  assert.deepEqual(failureDigest(output), ['test: test/x.test.ts still running after 900 s: killed']);
});
