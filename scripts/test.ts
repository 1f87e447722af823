// `npm test` after lint and typecheck: builds the pinned tools if needed, starts ONE Temporal dev
// server (in memory) and two local clusters (the second for the exclusive files, one at a time), on
// free ports in a temp dir, runs every test file with node's test runner (one process per file, side
// by side as stack/test-schedule.ts decides, each killed if it outlives TEST_FILE_TIMEOUT_S), scans
// for leaked secret values (secret-scan.ts), and tears the stack down. A skipped or todo test fails
// the run. Files named on the command line run one at a time, on one cluster. Test files can also run
// alone (`npx node --test FILE`): they then start their own stack (and skip the leak scan, which needs
// the whole run's secrets).
import {
  appendFileSync,
  cpSync,
  existsSync,
  globSync,
  readFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { ensureTools } from './stack/tools.ts';
import { startDevServer } from './stack/temporal-dev-server.ts';
import { createLocalCluster, type LocalCluster } from './stack/local-cluster.ts';
import { findLeaks, readSecrets, scanFiles, scanHistories, type Leak } from './stack/secret-scan.ts';
import { queueOrder, startable, testFile, type TestFile } from './stack/test-schedule.ts';
import { cacheRoot } from '../worker/cache-dir.ts';
import { runNodeTest } from './stack/run-test-file.ts';
import { failureDigest } from './stack/failure-digest.ts';

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
const clusters = new Set<LocalCluster>();
try {
  const base = {
    TEST_TEMPORAL_ADDRESS: temporal.address,
    TEST_TEMPORAL_UI_URL: temporal.uiUrl,
    TEST_SECRETS_FILE: secretsFile,
    TEST_LOG_DIR: workerLogs,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    // Node's compile cache (type-stripped and compiled modules): every test file, worker and CLI
    // process loads the same few hundred modules; from the cache in about half the CPU time.
    NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(cacheRoot(), 'node-compile-cache'),
  };
  // The exclusive files get a cluster of their own (the whole run only), so the others need not wait for them.
  const [shared, exclusive] = await Promise.all([
    startCluster('shared'),
    patterns === DEFAULT_PATTERNS ? startCluster('exclusive') : undefined,
  ]);
  const run = await runTests(
    { ...base, ...shared.env },
    exclusive && {
      env: { ...base, ...exclusive.env },
      // Its CPU goes to the rest of the run once the last exclusive file is done.
      done: () => deleteCluster(exclusive.cluster),
    },
  );
  exitCode = run.exitCode ?? 1;
  const leaks = await scanForLeaks(temporal.address, run.output);
  if (leaks.length) exitCode = 1;
} finally {
  for (const cluster of clusters) await deleteCluster(cluster);
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

/** A local cluster for the run, and the env that points test files at it. */
async function startCluster(role: string): Promise<{ cluster: LocalCluster; env: Record<string, string> }> {
  const ref = { name: `test-${randomUUID().slice(0, 6)}`, dataDir: join(dir, `cluster-${role}`) };
  const cluster = await createLocalCluster({ ...ref, nodes: 3 });
  clusters.add(cluster);
  console.log(`test: local cluster (${role}) ${cluster.server} (${elapsed()})`);
  return {
    cluster,
    env: { TEST_KUBECONFIG: cluster.kubeconfigPath, TEST_CLUSTER_NAME: ref.name, TEST_CLUSTER_DIR: ref.dataDir },
  };
}

async function deleteCluster(cluster: LocalCluster): Promise<void> {
  if (!clusters.delete(cluster)) return;
  await cluster.delete();
  console.log(`test: local cluster ${cluster.server} deleted (${elapsed()})`);
}

/** Runs the files named on the command line one at a time, or every test file as test-schedule.ts decides. */
async function runTests(
  env: Record<string, string>,
  exclusive?: { env: Record<string, string>; done: () => Promise<void> },
): Promise<{ exitCode: number; output: string }> {
  if (patterns !== DEFAULT_PATTERNS) return runGroup(patterns, env);
  const durations = readDurations();
  let waiting = queueOrder(globSync('test/**/*.test.ts').map((f) => testFile(f, durations[f])));
  const running = new Set<TestFile>();
  const results: FileResult[] = [];
  await new Promise<void>((done, fail) => {
    const pump = () => {
      for (const file of startable(waiting, [...running])) {
        waiting = waiting.filter((f) => f !== file);
        running.add(file);
        const own = file.pool === 'exclusive' && exclusive;
        // The last file on the exclusive cluster need not clean up after itself: the cluster is deleted next.
        const last = own && !waiting.some((f) => f.pool === 'exclusive');
        const fileEnv = own ? { ...own.env, ...(last ? { TEST_CLUSTER_DISPOSABLE: '1' } : {}) } : env;
        void runFile(file, fileEnv).then(async (result) => {
          results.push(result);
          running.delete(file);
          const exclusiveLeft = [...waiting, ...running].some((f) => f.pool === 'exclusive');
          if (own && !exclusiveLeft)
            await own.done().catch((e: unknown) => console.log(`test: deleting the exclusive cluster: ${String(e)}`));
          pump();
        }, fail);
      }
      if (running.size) return;
      if (waiting.length) fail(new Error(`test: no test file can start (${waiting.length} waiting)`));
      else done();
    };
    pump();
  });
  writeDurations(Object.fromEntries(results.map((r) => [r.file.path, r.seconds])));
  return summarize(results);
}

interface FileResult {
  file: TestFile;
  exitCode: number;
  seconds: number;
  output: string;
  counts: Record<string, number>;
}

/** One test file in a `node --test` of its own; its lines are printed as they come, prefixed with its name. */
async function runFile(file: TestFile, env: Record<string, string>): Promise<FileResult> {
  // unit/taskrun-scale and integration/taskrun-scale both exist: the folder is part of the name.
  const name = file.path.replace(/^test\//, '').replace(/\.test\.ts$/, '');
  const start = performance.now();
  const { exitCode, output } = await runGroup([file.path], env, name);
  const counts: Record<string, number> = {};
  for (const [, key, n] of output.matchAll(/^ℹ (tests|pass|fail|cancelled|skipped|todo) (\d+)$/gm))
    counts[key!] = Number(n);
  const seconds = (performance.now() - start) / 1000;
  console.log(`test: ${file.path} ${exitCode === 0 ? 'passed' : 'FAILED'} in ${seconds.toFixed(1)}s (${elapsed()})`);
  return { file, exitCode, seconds, output, counts };
}

/** Totals over the files; the failed ones and the slowest named. */
function summarize(results: FileResult[]): { exitCode: number; output: string } {
  const total = (key: string) => results.reduce((n, r) => n + (r.counts[key] ?? 0), 0);
  const failed = results.filter((r) => r.exitCode !== 0);
  const slowest = [...results].sort((a, b) => b.seconds - a.seconds).slice(0, 5);
  console.log(
    `test: ${results.length} files, ${total('tests')} tests: ${total('pass')} passed, ${total('fail')} failed, ` +
      `${total('cancelled')} cancelled, ${total('skipped')} skipped, ${total('todo')} todo`,
  );
  console.log(`test: slowest files: ${slowest.map((r) => `${r.file.path} ${r.seconds.toFixed(0)}s`).join(', ')}`);
  for (const r of failed) {
    console.log(`test: FAILED: ${r.file.path} (exit code ${r.exitCode})`);
    for (const line of failureDigest(r.output)) console.log(`test:   ${line}`);
  }
  // A skipped test is not a passed one (a test that lacks a tool must fail, not skip).
  const skippedAny = total('skipped') + total('todo') + total('cancelled') > 0;
  if (skippedAny) console.log('test: FAILED: skipped, todo or cancelled tests (see above)');
  return {
    exitCode: failed.length || skippedAny ? 1 : 0,
    output: results.map((r) => r.output).join('\n'),
  };
}

/** The last run's duration of each file: the scheduler starts the longest first. */
// Declared functions only (hoisted): the top-level run above reaches them before any const below is set.
function durationsFile(): string {
  return join(cacheRoot(), 'test-durations.json');
}
function readDurations(): Record<string, number> {
  try {
    return JSON.parse(readFileSync(durationsFile(), 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}
function writeDurations(durations: Record<string, number>): void {
  mkdirSync(dirname(durationsFile()), { recursive: true });
  writeFileSync(durationsFile(), `${JSON.stringify({ ...readDurations(), ...durations }, null, 1)}\n`);
}

/** Runs files with node's test runner, one at a time; its lines are printed as they come, prefixed with `name`. */
async function runGroup(
  files: string[],
  env: Record<string, string>,
  name?: string,
): Promise<{ exitCode: number; output: string }> {
  // TEST_TAP_FILE (npm run reliability): a TAP copy of the results, to count failures.
  const tap = process.env.TEST_TAP_FILE
    ? [
        '--test-reporter-destination=stdout',
        '--test-reporter=tap',
        `--test-reporter-destination=${process.env.TEST_TAP_FILE}${name ? `.${name.replaceAll('/', '.')}` : ''}`,
      ]
    : [];
  const prefix = name ? `[${name}] ` : '';
  return runNodeTest(files, {
    env,
    // One test still running after 10 minutes fails by its name, and the file goes on.
    nodeArgs: ['--test-timeout=600000', ...tap],
    timeoutMs: fileTimeoutSeconds() * 1000 * files.length,
    onLine: (line) => console.log(`${prefix}${line}`),
  });
}

/** The longest a test file may run (the slowest, taskrun-scale, takes ~190 s on a loaded machine). */
function fileTimeoutSeconds(): number {
  return Number(process.env.TEST_FILE_TIMEOUT_S ?? 900);
}

/** No secret value of the run in any history, worker log, test output or backup (the repo's .data/backups). */
async function scanForLeaks(address: string, output: string): Promise<Leak[]> {
  const secrets = readSecrets(secretsFile);
  // A history page of the controller's 256 KB watch results can pass gRPC's default 4 MB message limit.
  const connection = await Connection.connect({
    address,
    channelArgs: { 'grpc.max_receive_message_length': 64 * 1024 * 1024 },
  });
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
