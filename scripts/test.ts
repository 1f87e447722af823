// `npm test` after lint and typecheck: builds the pinned tools if needed, starts ONE Temporal dev
// server (in memory) and ONE local cluster for the whole run, on free ports in a temp dir, runs
// every test file with node's test runner, and tears the stack down. Test files can also run
// alone (`npx node --test FILE`): they then start their own stack.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { execa } from 'execa';
import { ensureTools } from './stack/tools.ts';
import { startDevServer } from './stack/temporal-dev-server.ts';
import { createLocalCluster } from './stack/local-cluster.ts';

const patterns = process.argv.slice(2).length ? process.argv.slice(2) : ['test/**/*.test.ts'];
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;

await ensureTools(['temporal', 'helm', 'kwok', 'etcd', 'kubernetes', 'test-server', 'age']);

const dir = mkdtempSync(join(tmpdir(), 'runbooks-test-'));
console.log(`test: stack logs in ${dir}`);
const temporal = await startDevServer({ logFile: join(dir, 'temporal.log') });
console.log(`test: Temporal dev server at ${temporal.address} (${elapsed()})`);
let exitCode = 1;
try {
  const cluster = await createLocalCluster({ name: `test-${randomUUID().slice(0, 6)}`, dataDir: join(dir, 'cluster'), nodes: 3 });
  console.log(`test: local cluster ${cluster.server} (${elapsed()})`);
  try {
    // TEST_TAP_FILE (npm run reliability): a TAP copy of the results, to count failures.
    const tap = process.env.TEST_TAP_FILE ? ['--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${process.env.TEST_TAP_FILE}`] : [];
    const run = await execa(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...tap, ...patterns], {
      stdio: 'inherit',
      reject: false,
      env: { TEST_TEMPORAL_ADDRESS: temporal.address, TEST_KUBECONFIG: cluster.kubeconfigPath, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    });
    exitCode = run.exitCode ?? 1;
  } finally {
    await cluster.delete();
  }
} finally {
  await temporal.stop();
}
if (exitCode === 0) rmSync(dir, { recursive: true, force: true });
else console.log(`test: failures; stack logs kept in ${dir}`);
console.log(`test: ${exitCode === 0 ? 'passed' : 'FAILED'} in ${elapsed()}`);
process.exitCode = exitCode;
