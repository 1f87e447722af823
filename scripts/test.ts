// `npm test` after lint and typecheck: builds the pinned tools if needed, starts ONE Temporal dev
// server (in memory) and ONE local cluster for the whole run, on free ports in a temp dir, runs
// every test file with node's test runner, scans for leaked secret values (secret-scan.ts), and
// tears the stack down. Test files can also run alone (`npx node --test FILE`): they then start
// their own stack (and skip the leak scan, which needs the whole run's secrets).
import { appendFileSync, cpSync, existsSync, globSync, readFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { execa } from 'execa';
import { Client, Connection } from '@temporalio/client';
import { ensureTools } from './stack/tools.ts';
import { startDevServer } from './stack/temporal-dev-server.ts';
import { createLocalCluster } from './stack/local-cluster.ts';
import { findLeaks, readSecrets, scanFiles, scanHistories, type Leak } from './stack/secret-scan.ts';

const DEFAULT_PATTERNS = ['test/**/*.test.ts'];
const patterns = process.argv.slice(2).length ? process.argv.slice(2) : DEFAULT_PATTERNS;
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;

await ensureTools(['temporal', 'helm', 'kwok', 'etcd', 'kubernetes', 'test-server', 'age', 'chromium']);

const dir = mkdtempSync(join(tmpdir(), 'runbooks-test-'));
const secretsFile = join(dir, 'secrets.jsonl');
const workerLogs = join(dir, 'workers');
mkdirSync(workerLogs);
console.log(`test: stack logs in ${dir}`);
const temporal = await startDevServer({ logFile: join(dir, 'temporal.log') });
console.log(`test: Temporal dev server at ${temporal.address} (${elapsed()})`);
let exitCode = 1;
try {
  const clusterRef = { name: `test-${randomUUID().slice(0, 6)}`, dataDir: join(dir, 'cluster') };
  const cluster = await createLocalCluster({ ...clusterRef, nodes: 3 });
  console.log(`test: local cluster ${cluster.server} (${elapsed()})`);
  try {
    const env = {
      TEST_TEMPORAL_ADDRESS: temporal.address,
      TEST_TEMPORAL_UI_URL: temporal.uiUrl,
      TEST_KUBECONFIG: cluster.kubeconfigPath,
      TEST_CLUSTER_NAME: clusterRef.name,
      TEST_CLUSTER_DIR: clusterRef.dataDir,
      TEST_SECRETS_FILE: secretsFile,
      TEST_LOG_DIR: workerLogs,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    };
    const run = await runPhases(env);
    exitCode = run.exitCode ?? 1;
    const leaks = await scanForLeaks(temporal.address, run.output);
    if (leaks.length) exitCode = 1;
  } finally {
    await cluster.delete();
  }
} finally {
  await temporal.stop();
}
// Test artifacts (the Web UI test's screenshots) outlive a passing run: the newest run's are kept in .data/test-artifacts.
const artifacts = join(workerLogs, 'web-ui');
if (existsSync(artifacts)) {
  const kept = resolve('.data/test-artifacts/web-ui');
  rmSync(kept, { recursive: true, force: true });
  cpSync(artifacts, kept, { recursive: true });
  console.log(`test: screenshots of the Web UI test in ${kept}`);
}
if (exitCode === 0) rmSync(dir, { recursive: true, force: true });
else console.log(`test: failures; stack logs kept in ${dir}`);
console.log(`test: ${exitCode === 0 ? 'passed' : 'FAILED'} in ${elapsed()}`);
process.exitCode = exitCode;

interface TestGroup {
  name: string;
  files: string[];
  concurrency: number;
}

/** A test file that changes what other files rely on (cluster-wide objects, nodes, a fixed namespace) says so in its first lines. */
function isExclusive(file: string): boolean {
  return /^\/\/ test-isolation: exclusive/m.test(readFileSync(file, 'utf8').split('\n').slice(0, 20).join('\n'));
}

/**
 * The files that use the local cluster (test/integration) run in two phases: those marked
 * `// test-isolation: exclusive` one at a time, then the others (own namespaces, own workflow ids)
 * two at a time. Beside them, the files that need the dev server only (unit, workflow, replay,
 * generated inputs: each on task queues of its own) run two at a time. Files named on the command
 * line run one at a time.
 */
function testPhases(): TestGroup[][] {
  if (patterns !== DEFAULT_PATTERNS) return [[{ name: 'tests', files: patterns, concurrency: 1 }]];
  const all = globSync('test/**/*.test.ts').sort();
  const cluster = all.filter((f) => f.startsWith('test/integration/'));
  const exclusive = cluster.filter(isExclusive);
  return [
    [
      { name: 'cluster', files: exclusive, concurrency: 1 },
      { name: 'temporal', files: all.filter((f) => !cluster.includes(f)), concurrency: 2 },
    ],
    [{ name: 'cluster', files: cluster.filter((f) => !exclusive.includes(f)), concurrency: 2 }],
  ];
}

/** Runs the phases one after the other; the groups of a phase side by side. */
async function runPhases(env: Record<string, string>): Promise<{ exitCode: number; output: string }> {
  const results: { exitCode: number; output: string }[] = [];
  const [first, ...rest] = testPhases();
  // The Temporal-only group of the first phase keeps running through the later phases.
  const firstRuns = first!.map((group) => runGroup(group, env));
  await firstRuns[0];
  for (const phase of rest) results.push(...(await Promise.all(phase.map((group) => runGroup(group, env)))));
  results.push(...(await Promise.all(firstRuns)));
  return { exitCode: results.some((r) => r.exitCode !== 0) ? 1 : 0, output: results.map((r) => r.output).join('\n') };
}

/** Runs one group's files with node's test runner; its lines are printed as they come, prefixed with its name. */
async function runGroup(group: TestGroup, env: Record<string, string>): Promise<{ exitCode: number; output: string }> {
  // TEST_TAP_FILE (npm run reliability): a TAP copy of the results, to count failures.
  const tap = process.env.TEST_TAP_FILE
    ? [
        '--test-reporter-destination=stdout',
        '--test-reporter=tap',
        `--test-reporter-destination=${process.env.TEST_TAP_FILE}${group.name === 'tests' ? '' : `.${group.name}`}`,
      ]
    : [];
  const child = execa(
    process.execPath,
    ['--test', `--test-concurrency=${group.concurrency}`, '--test-reporter=spec', ...tap, ...group.files],
    { all: true, reject: false, env },
  );
  const lines: string[] = [];
  const prefix = group.name === 'tests' ? '' : `[${group.name}] `;
  createInterface({ input: child.all! }).on('line', (line) => {
    lines.push(line);
    console.log(`${prefix}${line}`);
  });
  const result = await child;
  return { exitCode: result.exitCode ?? 1, output: lines.join('\n') };
}

/** No secret value of the run in any history, worker log, test output or backup (the repo's .data/backups). */
async function scanForLeaks(address: string, output: string): Promise<Leak[]> {
  const secrets = readSecrets(secretsFile);
  const connection = await Connection.connect({ address });
  try {
    const histories = await scanHistories(new Client({ connection }), secrets);
    const files = scanFiles(secrets, [workerLogs, resolve('.data/backups')]);
    const leaks = [...histories.leaks, ...files.leaks, ...findLeaks(secrets, output, 'the test output')];
    console.log(
      `test: leak scan: ${secrets.length} secret values, ${histories.histories} workflow histories, ${files.files} files, the test output: ${leaks.length ? `${leaks.length} LEAKS` : 'no leaks'}`,
    );
    for (const leak of leaks) console.log(`test: LEAK: the value of ${leak.secret} is in ${leak.where}`);
    if (process.env.RELIABILITY_REPORT_DIR)
      appendFileSync(
        join(process.env.RELIABILITY_REPORT_DIR, 'counts.jsonl'),
        `${JSON.stringify({ name: 'secret-scan', leaks: leaks.length })}\n`,
      );
    if (!secrets.length) {
      console.log(
        'test: LEAK SCAN HAD NOTHING TO LOOK FOR: no test registered a secret value (test/helpers/secrets.ts)',
      );
      if (patterns === DEFAULT_PATTERNS) return [{ secret: '(none registered)', where: 'the leak scan' }];
    }
    return leaks;
  } finally {
    await connection.close();
  }
}
