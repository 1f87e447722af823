// test-isolation: serial namespace-orchestrator (the README's tour: namespace orchestrator and its controller, namespace scratch)
// The README's tour, run as written: every command of the code blocks that README.md marks with
// `<!-- journey -->` (`<!-- journey: terminal 1 -->`: the terminal that runs `npm start`), in order,
// each through bash in its terminal's session (its exports carry to the next command), against this
// file's stack: `npm start` is this file's dev server, local cluster and a real worker process with the
// local health stand-in and terminal 1's environment. The only substitutions: TEMPORAL_ADDRESS and
// RUNBOOK_TASK_QUEUE in terminal 2's environment (npm start's defaults otherwise), and `.data` (npm
// start's state directory) is a directory of this test's, whose cluster/kubeconfig.yaml is the test
// cluster's. Every command has a check of its outcome below, and every check a command: a README
// change that adds, drops or breaks a step fails here.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { tryFirstCommands } from '../../scripts/stack/try-first.ts';
import type { DeployReport, PlatformHealthReport, UpgradeReport } from '../../contract/messages.ts';
import type { Progress } from '../../contract/progress.ts';
import type { RotateSecretReport } from '../../contract/types/rotate-secret.ts';
import type { BackupReport, RestoreReport } from '../../contract/types/backup.ts';
import type { CleanupReport } from '../../contract/types/taskrun.ts';
import { useTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal.ts';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.ts';
import { setTestSecret } from '../helpers/secrets.ts';
import { ensureNightlyBackupSchedule, nightlyInputFromEnv, NIGHTLY_BACKUP_SCHEDULE } from '../../client/schedules.ts';
import {
  CLEANUP_SCHEDULE,
  ensureTaskRunCleanupSchedule,
  ensureTaskRunController,
} from '../../client/taskrun-controller.ts';
import { deploymentImage } from '../helpers/release-state.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(join(repo, 'README.md'), 'utf8');

interface Command {
  terminal: 1 | 2;
  text: string;
}

/** The commands of the journey blocks, in order: one a line, a here-document with its lines; comment-only lines dropped. */
export function journeyCommands(markdown: string): Command[] {
  const commands: Command[] = [];
  for (const block of markdown.matchAll(/<!-- journey(: terminal 1)? -->\n```sh\n([\s\S]*?)\n```/g)) {
    const terminal = block[1] ? 1 : 2;
    const lines = block[2]!.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (!line.trim() || line.trim().startsWith('#')) continue;
      const heredoc = /<<-?'?(\w+)'?/.exec(line);
      if (!heredoc) {
        commands.push({ terminal, text: line });
        continue;
      }
      const end = lines.indexOf(heredoc[1]!, i + 1);
      assert.ok(end > i, `here-document ${heredoc[1]} of "${line}" has no end`);
      commands.push({ terminal, text: lines.slice(i, end + 1).join('\n') });
      i = end;
    }
  }
  return commands;
}

const commands = journeyCommands(readme);
const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
// npm start's state directory (.data) for this test: the keys, and the test cluster's kubeconfig where npm start writes its own.
const dataDir = mkdtempSync(join(tmpdir(), 'readme-journeys-'));
// The worker's backup store: under TEST_LOG_DIR in a full run, where the leak scan reads.
const store = mkdtempSync(join(process.env.TEST_LOG_DIR ?? tmpdir(), 'readme-backups-'));
const namespace = 'orchestrator';
const taskQueue = uniqueTaskQueue('readme');

let temporal: TestTemporal;
let cluster: TestCluster;
let worker: WorkerProcess | undefined;
// Each terminal's environment, as its last command left it (`env -0` after each command).
const sessions: Record<1 | 2, Record<string, string>> = { 1: {}, 2: {} };

before(async () => {
  temporal = await testTemporal();
  cluster = await testCluster();
  mkdirSync(join(dataDir, 'cluster'));
  symlinkSync(cluster.kubeconfigPath, join(dataDir, 'cluster', 'kubeconfig.yaml'));
  const base = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  sessions[1] = { ...base };
  sessions[2] = { ...base, TEMPORAL_ADDRESS: temporal.address, RUNBOOK_TASK_QUEUE: taskQueue };
  temporal.defer(async () => {
    for (const id of ['taskrun-controller-orchestrator', 'upgrade-unhealthy']) {
      await temporal.client.workflow
        .getHandle(id)
        .terminate('readme-journeys test finished')
        .catch(() => undefined);
    }
    for (const id of [CLEANUP_SCHEDULE, NIGHTLY_BACKUP_SCHEDULE])
      await temporal.client.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
  });
  cluster.defer(async () => {
    await worker?.kill('SIGTERM').catch(() => undefined);
    // Leave the cluster as it was for the test files after this one.
    await cluster
      .kubectl(['delete', 'namespace', namespace, 'scratch', '--ignore-not-found', '--wait=true', '--timeout=90s'])
      .catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    // In a full run the store stays for the leak scan after the files (npm test removes TEST_LOG_DIR).
    if (!process.env.TEST_LOG_DIR) rmSync(store, { recursive: true, force: true });
  });
});

interface Outcome {
  exitCode: number;
  stdout: string;
  all: string;
}

/** Runs one command in its terminal's session (bash, the repo as working directory); `.data` is this test's. */
async function inSession(command: Command): Promise<Outcome> {
  const envFile = join(dataDir, `env-${command.terminal}`);
  const text = command.text.replace(/(\$PWD\/)?\.data(?=[/\s"]|$)/g, dataDir);
  const script = `${text}\n__rc=$?\nenv -0 > ${JSON.stringify(envFile)}\nexit $__rc\n`;
  const out = await execa('bash', ['-c', script], {
    cwd: repo,
    env: sessions[command.terminal],
    extendEnv: false,
    reject: false,
    all: true,
    timeout: 300_000,
  });
  if (existsSync(envFile)) {
    sessions[command.terminal] = Object.fromEntries(
      readFileSync(envFile, 'utf8')
        .split('\0')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    rmSync(envFile);
  }
  return { exitCode: out.exitCode ?? 1, stdout: out.stdout, all: out.all ?? '' };
}

/** The JSON that the CLI prints last (after the steps): the runbook's result, progress or decision. */
function json<T>(out: Outcome): T {
  const lines = out.stdout.split('\n');
  const start = lines.findIndex((line) => line === '{' || line.startsWith('{"'));
  assert.ok(start >= 0, `no JSON in:\n${out.all}`);
  return JSON.parse(lines.slice(start).join('\n')) as T;
}

const kubectlJson = async <T>(args: string[]): Promise<T> =>
  JSON.parse(await cluster.kubectl([...args, '-o', 'json'])) as T;
const image = () => deploymentImage(cluster, namespace);
/** The platform's Secret in namespace `ns` (its data base64, as the API returns it). */
const platformSecret = (ns: string) =>
  kubectlJson<{ data?: Record<string, string> }>(['get', 'secret', 'orchestrator-secrets', '-n', ns]);
const namespaceExists = async (name: string) =>
  (await cluster.kubectl(['get', 'namespace', name, '--ignore-not-found', '-o', 'name'])).trim() !== '';

/**
 * npm start, for this test: the worker process as npm start runs it on its local cluster, in terminal 1's
 * environment, then what npm start creates after it (scripts/start.ts, the same calls): the nightly backup
 * schedule and the TaskRun controller of `orchestrator` with its cleanup schedule, before anything is deployed.
 */
async function startStack(): Promise<void> {
  const env = sessions[1];
  // The secret values that terminal 1 made (keys, the value to rotate to): the leak scan looks for them everywhere.
  for (const name of ['RUNBOOK_BACKUP_AGE_IDENTITY', 'RUNBOOK_BACKUP_HMAC_KEY', 'RUNBOOK_SECRET_API_KEY']) {
    assert.ok(env[name], `terminal 1 exports ${name} before npm start`);
    setTestSecret(name, env[name]);
  }
  worker = await startWorkerProcess({
    temporalAddress: temporal.address,
    kubeconfigPath: cluster.kubeconfigPath,
    taskQueue,
    env: { ...env, RUNBOOK_LOCAL_HEALTH: '1', RUNBOOK_BACKUP_DIR: store },
  });
  const client = temporal.client;
  await ensureNightlyBackupSchedule(client, { taskQueue, input: nightlyInputFromEnv(env) });
  await ensureTaskRunController(client, { taskQueue, input: { namespace } });
  await ensureTaskRunCleanupSchedule(client, { taskQueue, input: { namespace } });
}

interface Check {
  /** The README command it checks. */
  match: RegExp;
  /** Runs the command (once, unless the README says to repeat it) and checks its outcome. */
  run: (command: Command) => Promise<void>;
}

/** Runs the command once; it must exit 0. */
async function ok(command: Command): Promise<Outcome> {
  const out = await inSession(command);
  assert.equal(out.exitCode, 0, `exit ${out.exitCode}:\n${out.all}`);
  return out;
}

const checks: Check[] = [
  // Terminal 1: the worker's keys and the value to rotate to, then npm start.
  { match: /^npm run tools -- age/, run: async (c) => void (await ok(c)) },
  {
    match: /^export PATH=/,
    run: async (c) => {
      await ok(c);
      assert.match(sessions[c.terminal].PATH ?? '', /platform-runbooks\/tools\/bin:/);
    },
  },
  { match: /^mkdir -p \.data$/, run: async (c) => void (await ok(c)) },
  {
    match: /^test -f \.data\/backup-key\.txt/,
    run: async (c) => {
      await ok(c);
      assert.ok(existsSync(join(dataDir, 'backup-key.txt')));
    },
  },
  {
    match: /^test -f \.data\/backup-hmac\.key/,
    run: async (c) => {
      await ok(c);
      assert.equal(readFileSync(join(dataDir, 'backup-hmac.key'), 'utf8').trim().length, 64);
    },
  },
  {
    match: /^export RUNBOOK_BACKUP_AGE_IDENTITY=/,
    run: async (c) => {
      await ok(c);
      assert.match(sessions[1].RUNBOOK_BACKUP_AGE_IDENTITY ?? '', /^AGE-SECRET-KEY-1/, 'an age identity');
    },
  },
  {
    match: /^export RUNBOOK_BACKUP_RECIPIENTS=/,
    run: async (c) => {
      await ok(c);
      assert.match(sessions[1].RUNBOOK_BACKUP_RECIPIENTS ?? '', /^age1[0-9a-z]+$/);
    },
  },
  {
    match: /^export RUNBOOK_BACKUP_HMAC_KEY=/,
    run: async (c) => {
      await ok(c);
      assert.equal(sessions[1].RUNBOOK_BACKUP_HMAC_KEY?.length, 64, 'a 32-byte hex key');
    },
  },
  {
    match: /^export RUNBOOK_SECRET_API_KEY=/,
    run: async (c) => {
      await ok(c);
      assert.match(sessions[1].RUNBOOK_SECRET_API_KEY ?? '', /^demo-[0-9a-f]{16}$/, 'a demo value');
    },
  },
  { match: /^npm start$/, run: startStack },

  // Terminal 2.
  {
    match: /^export KUBECONFIG=/,
    run: async (c) => {
      await ok(c);
      assert.equal(sessions[2].KUBECONFIG, join(dataDir, 'cluster', 'kubeconfig.yaml'));
    },
  },
  {
    match: /^npm run runbook -- start deployPlatform$/,
    run: async (c) => {
      const out = await ok(c);
      const report = json<DeployReport>(out);
      assert.equal(report.dryRun, false);
      assert.equal(report.health?.ok, true, out.all);
      assert.equal(report.health?.probe, 'local-standin');
      assert.equal(report.health?.version, '1.0.0');
      assert.equal(await image(), 'ghcr.io/example/orchestrator:1.0.0');
    },
  },
  {
    match: /^npm run runbook -- start platformHealth$/,
    run: async (c) => {
      const report = json<PlatformHealthReport>(await ok(c));
      assert.equal(report.healthy, true, report.problems.join('; '));
      assert.equal(report.service.via, 'local-standin');
      assert.equal((report.service.body as { version?: string }).version, '1.0.0');
    },
  },
  {
    match: /^npm run runbook -- start upgradePlatform --input '\{"imageTag":"1\.1\.0"\}'$/,
    run: async (c) => {
      const out = await ok(c);
      const report = json<UpgradeReport>(out);
      assert.equal(report.outcome, 'succeeded', out.all);
      assert.equal(report.smokeTest?.ok, true);
      assert.equal(report.smokeTest?.version, '1.1.0');
      // RUNBOOK_BACKUP_RECIPIENTS in the worker's environment: the upgrade took a backup first.
      assert.ok(report.backup && 'backupId' in report.backup, JSON.stringify(report.backup));
      assert.ok(existsSync(join(store, report.backup.backupId, 'manifest.json')));
      assert.equal(await image(), 'ghcr.io/example/orchestrator:1.1.0');
    },
  },
  {
    match: /--id upgrade-unhealthy --no-wait$/,
    run: async (c) => {
      const out = await ok(c);
      assert.match(out.stdout, /^started upgradePlatform as upgrade-unhealthy$/m);
    },
  },
  {
    match: /^npm run runbook -- progress upgrade-unhealthy/,
    run: async (c) => {
      // "again, until its note says paused": at most 3 minutes.
      const deadline = Date.now() + 180_000;
      for (;;) {
        const progress = json<Progress>(await ok(c));
        if (progress.note?.startsWith('paused: smoke test failed: ')) {
          assert.match(progress.note, /answered 503/);
          assert.equal(progress.steps.find((s) => s.name === 'smoke test')?.status, 'failed');
          return;
        }
        assert.ok(Date.now() < deadline, `not paused after 3 minutes: ${JSON.stringify(progress)}`);
        await new Promise((r) => setTimeout(r, 2000));
      }
    },
  },
  {
    match: /^npm run runbook -- decide upgrade-unhealthy rollback /,
    run: async (c) => {
      assert.deepEqual(json(await ok(c)), { accepted: true, action: 'rollback' });
    },
  },
  {
    match: /^npm run runbook -- result upgrade-unhealthy/,
    run: async (c) => {
      const report = json<UpgradeReport>(await ok(c));
      assert.equal(report.outcome, 'rolled-back');
      assert.deepEqual(
        report.revisions.map((r) => r.action),
        ['upgrade', 'rollback'],
      );
      assert.deepEqual(
        report.decisions.map((d) => [d.action, d.by]),
        [['rollback', 'alice']],
      );
      assert.equal(report.smokeTest?.statusCode, 503);
      assert.equal(await image(), 'ghcr.io/example/orchestrator:1.1.0');
    },
  },
  {
    match: /^npm run runbook -- start rotateSecret /,
    run: async (c) => {
      const out = await ok(c);
      const report = json<RotateSecretReport>(out);
      assert.equal(report.secret, 'orchestrator-secrets');
      assert.equal(report.key, 'ANTHROPIC_API_KEY');
      assert.equal(report.health?.ok, true, out.all);
      assert.equal(report.health?.version, '1.1.0');
      const secret = await platformSecret(namespace);
      // Compared, never printed: the value is a registered secret.
      assert.ok(
        secret.data?.ANTHROPIC_API_KEY === Buffer.from(sessions[1].RUNBOOK_SECRET_API_KEY!).toString('base64'),
        'the Secret holds the value of RUNBOOK_SECRET_API_KEY',
      );
    },
  },
  {
    match: /^npm run runbook -- start backupPlatform --id first-backup /,
    run: async (c) => {
      const report = json<BackupReport>(await ok(c));
      assert.equal(report.backupId, 'first-backup');
      assert.ok(
        (report.backup.counts.secrets ?? 0) >= 1 && (report.backup.counts.helmReleases ?? 0) >= 1,
        JSON.stringify(report.backup.counts),
      );
      for (const file of ['manifest.json', 'secrets.jsonl.gz.age', 'helmReleases.jsonl.gz.age'])
        assert.ok(existsSync(join(store, 'first-backup', file)), file);
    },
  },
  {
    match: /"targetNamespace":"scratch","dryRun":true/,
    run: async (c) => {
      const report = json<RestoreReport>(await ok(c));
      assert.equal(report.dryRun, true);
      assert.equal(report.plan.targetNamespace, 'scratch');
      assert.ok(
        report.plan.kinds.some((k) => k.kind === 'secrets' && k.total >= 1),
        JSON.stringify(report.plan.kinds),
      );
      assert.equal(await namespaceExists('scratch'), false, 'a dry run creates nothing');
    },
  },
  {
    match: /"targetNamespace":"scratch"\}'$/,
    run: async (c) => {
      const out = await ok(c);
      const report = json<RestoreReport>(out);
      assert.equal(report.dryRun, false);
      assert.ok(report.restored.find((r) => r.kind === 'secrets')?.created, out.all);
      const copy = await platformSecret('scratch');
      const live = await platformSecret(namespace);
      assert.ok(
        copy.data?.ANTHROPIC_API_KEY === live.data?.ANTHROPIC_API_KEY,
        'the restored Secret has the rotated value',
      );
    },
  },
  {
    match: /^kubectl get secret orchestrator-secrets -n scratch$/,
    run: async (c) => {
      assert.match((await ok(c)).stdout, /^orchestrator-secrets\s+Opaque\s/m);
    },
  },
  {
    match: /^kubectl delete namespace scratch$/,
    run: async (c) => {
      assert.match((await ok(c)).stdout, /namespace "scratch" deleted/);
      assert.equal(await namespaceExists('scratch'), false);
    },
  },
  {
    match: /^npx node client\/taskrun-controller\.ts --namespace orchestrator$/,
    run: async (c) => {
      const out = await ok(c);
      assert.match(out.stdout, /taskrun-controller-orchestrator running/);
      const described = await temporal.client.workflow.getHandle('taskrun-controller-orchestrator').describe();
      assert.equal(described.taskQueue, taskQueue);
      assert.equal(described.status.name, 'RUNNING');
    },
  },
  {
    match: /^kubectl apply -f - <<'EOF'\n/,
    run: async (c) => {
      assert.match((await ok(c)).stdout, /taskrun\.orchestrator\.io\/hello (created|configured|unchanged)/);
    },
  },
  {
    match: /^kubectl wait taskrun\/hello /,
    run: async (c) => {
      assert.match((await ok(c)).stdout, /condition met/);
    },
  },
  {
    match: /^kubectl get jobs -n orchestrator -l task-id=hello-1$/,
    run: async (c) => {
      const out = await ok(c);
      const jobs = await kubectlJson<{
        items: { metadata: { name: string; ownerReferences?: { kind: string; name: string }[] } }[];
      }>(['get', 'jobs', '-n', namespace, '-l', 'task-id=hello-1']);
      assert.equal(jobs.items.length, 1, 'exactly one Job for the TaskRun');
      assert.deepEqual(
        jobs.items[0]!.metadata.ownerReferences?.map((o) => [o.kind, o.name]),
        [['TaskRun', 'hello']],
      );
      assert.match(out.stdout, new RegExp(`^${jobs.items[0]!.metadata.name}\\s+Complete`, 'm'));
    },
  },
  {
    match: /^npm run runbook -- start cleanupTaskRuns --input '\{"dryRun":true\}'$/,
    run: async (c) => {
      const report = json<CleanupReport>(await ok(c));
      assert.equal(report.dryRun, true);
      assert.equal(report.namespace, namespace);
      assert.ok(report.scanned >= 1, JSON.stringify(report));
      assert.equal(report.deleted, 0, 'a TaskRun that finished just now is not old enough');
      assert.equal(
        (await cluster.kubectl(['get', 'taskrun', 'hello', '-n', namespace, '-o', 'name'])).trim(),
        'taskrun.orchestrator.io/hello',
      );
    },
  },
];

const checkOf = (command: Command) => checks.filter((c) => c.match.test(command.text));

test("the README's tour: every command has exactly one check, every check a command; terminal 1 ends with npm start", () => {
  assert.ok(commands.length > 20, `journey commands found: ${commands.length}`);
  for (const command of commands)
    assert.equal(checkOf(command).length, 1, `checks of ${command.text}: ${checkOf(command).length}`);
  for (const check of checks)
    assert.ok(
      commands.some((c) => check.match.test(c.text)),
      `no README command for ${check.match}`,
    );
  assert.equal(commands.filter((c) => c.terminal === 1).at(-1)?.text, 'npm start');
});

test('Quick start shows what npm start prints first, and the tour runs those commands', () => {
  const printed = tryFirstCommands({
    temporalAddress: '127.0.0.1:7233',
    uiUrl: 'http://127.0.0.1:8233',
    taskQueue: 'runbooks',
  });
  const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Runbooks'));
  for (const c of printed) {
    assert.ok(
      quickStart.includes(`start:   ${c.command}    # ${c.what}\n`),
      `Quick start shows: ${c.command}    # ${c.what}`,
    );
    assert.ok(
      commands.some((x) => x.terminal === 2 && x.text === c.command),
      `the tour runs ${c.command}`,
    );
  }
});

let failed: string | undefined;
for (const command of commands) {
  test(`terminal ${command.terminal}: ${command.text.split('\n')[0]}`, { timeout: 300_000 }, async (t) => {
    if (failed) return t.skip(`an earlier step failed: ${failed}`);
    const [check] = checkOf(command);
    try {
      assert.ok(check, 'no check for this command');
      await check.run(command);
    } catch (err) {
      failed = command.text.split('\n')[0];
      throw err;
    }
  });
}
