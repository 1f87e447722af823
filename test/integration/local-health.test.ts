// test-isolation: serial namespace-orchestrator (deploys into the fixed namespace orchestrator)
// The local stack's health stand-in end to end: the real worker process with RUNBOOK_LOCAL_HEALTH=1
// (as `npm start` runs it on its local cluster), driven by the commands `npm start` prints, run as
// printed through the CLI (`npm run runbook -- start ...`), with the README's inputs: deploy, health,
// upgrade to a new tag, then an upgrade to the image tag the stand-in answers 503 for.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { cliEnvPrefix, tryFirstCommands, type TryFirstOptions } from '../../scripts/stack/try-first.ts';
import type { DeployReport, PlatformHealthReport, UpgradeReport } from '../../contract/messages.ts';
import type { RotateSecretReport } from '../../contract/types/rotate-secret.ts';
import { useTestCluster, uniqueNamespace, type TestCluster } from '../helpers/cluster.ts';
import { uniqueTaskQueue, useTestTemporal } from '../helpers/temporal.ts';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.ts';
import { deploymentImage } from '../helpers/release-state.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
// The README's inputs name no namespace: the journey runs in the default one, `orchestrator`.
const namespace = 'orchestrator';

let cluster: TestCluster;
let worker: WorkerProcess;
let stack: TryFirstOptions;

before(async () => {
  const temporal = await testTemporal();
  cluster = await testCluster();
  stack = {
    temporalAddress: temporal.address,
    uiUrl: 'http://127.0.0.1:8233',
    taskQueue: uniqueTaskQueue('local-health'),
  };
  worker = await startWorkerProcess({
    temporalAddress: temporal.address,
    kubeconfigPath: cluster.kubeconfigPath,
    taskQueue: stack.taskQueue,
    env: { RUNBOOK_LOCAL_HEALTH: '1', ANTHROPIC_API_KEY: 'local-health-test-key' },
  });
  cluster.defer(async () => {
    await worker.kill('SIGTERM').catch(() => undefined);
    // Leave the default namespace as it was for the test files that run after this one.
    await cluster
      .kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=true', '--timeout=90s'])
      .catch(() => undefined);
  });
});

/** Runs a CLI command line as a user types it (a shell: the env prefix), and returns the runbook's result. */
async function run<T>(command: string): Promise<{ result: T; output: string }> {
  const out = await execa(command, { shell: true, cwd: repo, reject: false, all: true });
  assert.equal(out.exitCode, 0, `${command} failed:\n${out.all}`);
  // The CLI prints the steps as they change, then the result as indented JSON.
  const start = out.stdout.split('\n').findIndex((line) => line === '{');
  assert.ok(start >= 0, `no result in:\n${out.stdout}`);
  return { result: JSON.parse(out.stdout.split('\n').slice(start).join('\n')) as T, output: out.stdout };
}

/** The README's form for a runbook that `npm start` does not print. */
const cli = (runbook: string, input: unknown) =>
  `${cliEnvPrefix(stack)}npm run runbook -- start ${runbook} --input '${JSON.stringify(input)}'`;

const image = () => deploymentImage(cluster, namespace);

/** Every null in a report (lists are [], never null): their paths. */
function nulls(value: unknown, path = '$'): string[] {
  if (value === null) return [path];
  if (Array.isArray(value)) return value.flatMap((v, i) => nulls(v, `${path}[${i}]`));
  if (typeof value === 'object') return Object.entries(value as object).flatMap(([k, v]) => nulls(v, `${path}.${k}`));
  return [];
}

test("the worker's start line says that it answers /health with the local stand-in", () => {
  const started = readFileSync(worker.logFile, 'utf8')
    .split('\n')
    .find((line) => line.includes('"msg":"worker started"'));
  assert.match(started ?? '', /"healthProbe":"local-standin/);
});

test("the commands npm start prints, as printed: deploy and health pass through the stand-in, the upgrade's smoke test reports the new version", async () => {
  const [deploy, health, upgrade] = tryFirstCommands(stack);

  const deployed = await run<DeployReport>(deploy!.command);
  assert.equal(deployed.result.health?.ok, true, deployed.output);
  assert.equal(deployed.result.health?.probe, 'local-standin');
  assert.equal(deployed.result.health?.version, '1.0.0');
  assert.match(
    deployed.output,
    /succeeded health: local-standin: local stand-in for service proxy orchestrator\/orchestrator\/health answered 200/,
  );

  const report = (await run<PlatformHealthReport>(health!.command)).result;
  assert.deepEqual(report.problems, []);
  assert.equal(report.healthy, true);
  assert.equal(report.service.via, 'local-standin');
  assert.deepEqual(report.service.body && { ...(report.service.body as object), timestamp: 'T' }, {
    status: 'healthy',
    version: '1.0.0',
    timestamp: 'T',
  });
  assert.deepEqual(nulls(report), []);

  const upgraded = await run<UpgradeReport>(upgrade!.command);
  assert.equal(upgraded.result.outcome, 'succeeded', upgraded.output);
  assert.equal(upgraded.result.smokeTest?.ok, true);
  assert.equal(upgraded.result.smokeTest?.probe, 'local-standin');
  assert.equal(upgraded.result.smokeTest?.version, '1.1.0');
  assert.equal(await image(), 'ghcr.io/example/orchestrator:1.1.0');
});

test('an upgrade to :unhealthy rolls out, fails its smoke test (503) and rolls back (onFailure rollback: no 24 h pause)', async () => {
  const { result, output } = await run<UpgradeReport>(
    cli('upgradePlatform', { imageTag: 'unhealthy', onFailure: 'rollback' }),
  );
  assert.equal(result.outcome, 'rolled-back', output);
  assert.deepEqual(
    result.revisions.map((r) => r.action),
    ['upgrade', 'rollback'],
  );
  assert.match(result.failures[0] ?? '', /^smoke test failed: local stand-in .* answered 503: unhealthy/);
  assert.equal(result.smokeTest?.ok, false);
  assert.equal(result.smokeTest?.statusCode, 503);
  assert.equal(result.smokeTest?.version, 'unhealthy');
  assert.equal(await image(), 'ghcr.io/example/orchestrator:1.1.0');

  const after = (await run<PlatformHealthReport>(tryFirstCommands(stack)[1]!.command)).result;
  assert.equal(after.healthy, true, after.problems.join('; '));
  assert.equal((after.service.body as { version: string }).version, '1.1.0');
});

test('rotateSecret verifies health through the stand-in after its rollout', async () => {
  const { result, output } = await run<RotateSecretReport>(
    cli('rotateSecret', { key: 'ANTHROPIC_API_KEY', from: { env: 'ANTHROPIC_API_KEY' } }),
  );
  assert.equal(result.health?.ok, true, output);
  assert.equal(result.health?.probe, 'local-standin');
  assert.equal(result.health?.version, '1.1.0');
});

test('platformHealth of an empty namespace: every list is [], never null, in the stored result too', async () => {
  const workflowId = uniqueTaskQueue('platformHealth-empty');
  const { result } = await run<PlatformHealthReport>(
    `${cli('platformHealth', { namespace: uniqueNamespace('empty') })} --id ${workflowId}`,
  );
  assert.deepEqual(nulls(result), []);
  // The result as stored in history (what the Web UI shows). `temporal workflow result` (CLI 1.5.1) prints
  // its empty lists as null: its payload shorthand (go.temporal.io/api marshalValue) writes an empty slice as null.
  const history = await (await testTemporal()).client.workflow.getHandle(workflowId).fetchHistory();
  const completed = history.events?.find(
    (e) => e.workflowExecutionCompletedEventAttributes,
  )?.workflowExecutionCompletedEventAttributes;
  const stored = Buffer.from(completed?.result?.payloads?.[0]?.data ?? new Uint8Array()).toString('utf8');
  // Nodes are the cluster's: files beside this one cordon nodes of their own, so the list may hold some.
  assert.match(stored, /"cordoned":\[/);
  assert.match(stored, /"pods":\[\]/);
  assert.ok(!stored.includes('null'), stored);
  assert.deepEqual(result.pods.pods, []);
  assert.ok(Array.isArray(result.nodes.cordoned) && Array.isArray(result.nodes.notReady), JSON.stringify(result.nodes));
  assert.equal(result.healthy, false);
});
