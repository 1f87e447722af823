// `npm run reliability`: the reliability suite against a real dev server and local cluster (the
// stack of scripts/test.ts): generated bad inputs, the SIGKILL crash tests, a Temporal restart and
// Kubernetes API outages (*.reliability.ts: too slow for npm test), and the leak scan of all of
// them. Test output goes to
// stderr; the last line on stdout is one JSON object with the counts:
//   runs, crashes, lost, duplicates, leaks, unclearErrors (summed from what the tests recorded) and
//   failed (failing tests). It passes when the last five are 0.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SUITE = ['test/reliability/*.test.ts', 'test/reliability/*.reliability.ts', 'test/integration/*-crash.test.ts'];
const patterns = process.argv.slice(2).length ? process.argv.slice(2) : SUITE;

const dir = mkdtempSync(join(tmpdir(), 'runbooks-reliability-'));
const tapFile = join(dir, 'results.tap');
const run = spawnSync(process.execPath, ['scripts/test.ts', ...patterns], {
  stdio: ['ignore', process.stderr, process.stderr],
  env: { ...process.env, RELIABILITY_REPORT_DIR: dir, TEST_TAP_FILE: tapFile, CRASH_TESTS_REAL_TIMEOUTS: '1' },
});

const totals = { runs: 0, crashes: 0, lost: 0, duplicates: 0, leaks: 0, unclearErrors: 0, failed: 0 };
const countsFile = join(dir, 'counts.jsonl');
if (existsSync(countsFile)) {
  for (const line of readFileSync(countsFile, 'utf8').split('\n').filter(Boolean)) {
    const counts = JSON.parse(line) as Partial<typeof totals>;
    for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += counts[key] ?? 0;
  }
}
// Top-level TAP results ("not ok N - name" at no indentation) are the failing test files' tests.
const tap = existsSync(tapFile) ? readFileSync(tapFile, 'utf8') : '';
totals.failed = (tap.match(/^\s*not ok \d+ /gm) ?? []).filter((l) => !/^\s{4,}/.test(l)).length;
if (run.status !== 0 && totals.failed === 0) totals.failed = 1; // the stack or the runner itself failed
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(totals));
process.exitCode = totals.failed + totals.lost + totals.duplicates + totals.leaks + totals.unclearErrors === 0 ? 0 : 1;
