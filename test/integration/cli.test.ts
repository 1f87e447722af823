// The `runbook` CLI against the dev server: a worker with the real workflows and mocked activities on
// a task queue of its own; every command through the real CLI process (exit codes, --json), the
// search attributes the runbooks keep current, and the runbook metrics the worker exports.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { registry } from '../../activities/metrics.ts';
import { KUBE_FORBIDDEN } from '../../contract/failures.ts';
import { maintenanceLeaseId } from '../../contract/lease-messages.ts';
import { observeVisibility } from '../../worker/runbook-metrics.ts';
import { historyFromJson } from '../../client/history-json.ts';
import { eventually } from '../helpers/eventually.ts';
import {
  runTestWorker,
  uniqueTaskQueue,
  useTestTemporal,
  workflowBundle,
  type TestTemporal,
} from '../helpers/temporal.ts';
import { deployedReleaseMocks } from '../helpers/deployed-release-mocks.ts';
import { healthyClusterIdentity, healthyNodes, healthyPods } from '../helpers/healthy-cluster.ts';

const testTemporal = useTestTemporal();
let env: TestTemporal;
let taskQueue: string;
const dir = mkdtempSync(join(tmpdir(), 'runbook-cli-'));

const activities = {
  // platformHealth: healthy, except namespace "forbidden" (a 403: the runbook fails).
  describeCluster: async () => healthyClusterIdentity(),
  checkNodes: async () => healthyNodes(),
  checkPods: async (namespace: string) => {
    if (namespace === 'forbidden')
      throw ApplicationFailure.create({
        type: KUBE_FORBIDDEN,
        nonRetryable: true,
        message: 'pods is forbidden: User "runbooks" cannot list pods in namespace "forbidden"',
      });
    return healthyPods(namespace);
  },
  countTaskRuns: async () => ({ crdInstalled: true, total: 0, byPhase: {} }),
  // upgradePlatform: the smoke test answers 503 for image tag "unhealthy" (the upgrade pauses for decide).
  probeOrchestrator: async (req: { healthUrl?: string }) =>
    req.healthUrl?.includes('unhealthy')
      ? { checked: true, via: 'url', ok: false, statusCode: 503, detail: 'answered 503' }
      : { checked: true, via: 'url', ok: true, statusCode: 200, detail: 'answered 200' },
  ...deployedReleaseMocks(),
  helmGetValues: async () => ({ image: { tag: '1.0.0' } }),
  helmUpgradeInstall: async () => ({ changed: true, revision: 2, status: 'deployed', digest: 'd2' }),
  helmRollback: async () => ({ revision: 3 }),
  applyChartCrds: async () => [],
  waitCrdsEstablished: async () => undefined,
  waitReleaseRollout: async () => [{ deployment: 'orchestrator', ready: 1, replicas: 1 }],
  // incidentResponse: evidence, blast radius, a scale to 0 and back, integrity, the report.
  preserveIncidentEvidence: async () => ({
    dir: '/tmp/incidents/x',
    reused: false,
    files: [],
    manifestSha256: 'cafe',
    pods: 1,
    logs: { current: 1, previous: 0, errors: 0 },
  }),
  assessIncident: async () => ({
    namespace: 'orchestrator',
    pods: [],
    jobs: [],
    taskRuns: [],
    secrets: [],
    nodes: [],
    restarts: [],
    failureEvents: [],
    truncated: [],
  }),
  scaleForIncident: async () => ({ replicas: 2, found: true }),
  scaleBackAfterIncident: async (r: { replicas: number }) => ({ replicas: r.replicas }),
  verifyIncidentIntegrity: async () => ({
    ok: true,
    images: [],
    rbac: { ok: true, extra: [], missing: [] },
    unknown: [],
  }),
  writeIncidentReport: async (r: { incidentId: string }) => ({ file: `/tmp/incidents/${r.incidentId}/report.md` }),
};

before(async () => {
  env = await testTemporal();
  // Mocks shaped for these tests only (not the full Activities signatures).
  taskQueue = await runTestWorker(env, activities as unknown as Parameters<typeof runTestWorker>[1], 'cli');
  observeVisibility(env.client, 0);
});

interface Cli {
  exitCode: number;
  stdout: string;
  stderr: string;
}
async function cli(...args: string[]): Promise<Cli> {
  const r = await execa(process.execPath, ['client/cli.ts', ...args], {
    reject: false,
    env: {
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_NAMESPACE: env.namespace,
      RUNBOOK_TASK_QUEUE: taskQueue,
      USER: 'cli-test',
    },
    extendEnv: false,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}
const json = <T>(r: Cli): T => JSON.parse(r.stdout) as T;
const attrs = async (id: string) =>
  (await env.client.workflow.getHandle(id).describe()).searchAttributes as Record<string, string[]>;
const metric = async (line: RegExp) => (await registry.metrics()).split('\n').find((l) => line.test(l));

test('start --json: a runbook that succeeds exits 0; its search attributes and metrics say so; status shows the step table', async () => {
  const id = uniqueTaskQueue('cli-health');
  const r = await cli(
    'start',
    'platformHealth',
    '--id',
    id,
    '--json',
    '--input',
    '{"healthUrl":"http://127.0.0.1:9/health"}',
  );
  assert.equal(r.exitCode, 0, r.stderr);
  const out = json<{ workflowId: string; status: string; phase: string; result: { healthy: boolean } }>(r);
  assert.deepEqual([out.workflowId, out.status, out.phase, out.result.healthy], [id, 'COMPLETED', 'succeeded', true]);
  assert.deepEqual(await attrs(id), {
    ...(await attrs(id)),
    RunbookKind: ['platformHealth'],
    RunbookPhase: ['succeeded'],
    TargetNamespace: ['orchestrator'],
  });

  const status = await cli('status', id);
  assert.equal(status.exitCode, 0, status.stderr);
  assert.match(
    status.stdout,
    new RegExp(`^${id}  platformHealth  COMPLETED  phase succeeded  namespace orchestrator$`, 'm'),
  );
  assert.match(status.stdout, /^STATUS +STEP +STARTED +TOOK +DETAIL$/m);
  assert.match(status.stdout, /^succeeded +orchestrator health /m);

  assert.match(
    (await metric(/^runbook_runs_finished_total\{runbook="platformHealth",outcome="succeeded",schedule=""\}/)) ?? '',
    / [1-9]\d*$/,
  );
  assert.match(
    (await metric(
      /^runbook_step_duration_seconds_count\{runbook="platformHealth",step="nodes",status="succeeded"\}/,
    )) ?? '',
    / [1-9]\d*$/,
  );
});

test('a runbook that fails exits 1 and names the cause; its phase is failed; usage errors exit 2 before anything starts', async () => {
  const id = uniqueTaskQueue('cli-forbidden');
  const r = await cli('start', 'platformHealth', '--id', id, '--input', '{"namespace":"forbidden"}');
  assert.equal(r.exitCode, 1, r.stdout);
  assert.match(r.stderr, /^runbook failed: pods is forbidden: .* \(KubeForbidden\)$/m);
  assert.equal((await attrs(id)).RunbookPhase?.[0], 'failed');
  assert.equal((await cli('status', id)).exitCode, 1);
  assert.match(
    (await metric(/^runbook_runs_finished_total\{runbook="platformHealth",outcome="failed"/)) ?? '',
    / [1-9]\d*$/,
  );

  for (const args of [
    ['start', 'platformHelth'],
    ['start', 'platformHealth', '--input', '{"restartWarningThreshold":"x"}'],
    ['start', 'platformHealth', '--input', '[1]'],
    ['ps', '--phase', 'sleeping'],
    ['status'],
    ['start', 'platformHealth', '--bogus'],
    ['nope'],
  ]) {
    const u = await cli(...args);
    assert.equal(u.exitCode, 2, `${args.join(' ')}: ${u.stderr}`);
    assert.match(u.stderr, /^runbook: /);
  }
  assert.match(
    (await cli('start', 'platformHealth', '--input', '{"restartWarningThreshold":"x"}')).stderr,
    /invalid platformHealth input: restartWarningThreshold: /,
  );
});

test('a paused upgrade: start --exit-on-pause exits 3, ps and status find it through RunbookPhase, lease names it, decide resumes it, watch follows it to the end', async () => {
  const id = uniqueTaskQueue('cli-upgrade');
  const input = JSON.stringify({
    imageTag: 'unhealthy',
    backup: false,
    smokeTest: { healthUrl: 'http://127.0.0.1:9/unhealthy' },
  });
  const r = await cli('start', 'upgradePlatform', '--id', id, '--input', input, '--exit-on-pause');
  assert.equal(r.exitCode, 3, r.stderr);
  assert.match(r.stderr, /^runbook paused \(paused-for-decision\): paused: smoke test failed/m);
  assert.match(r.stdout, /^ +failed +smoke test: /m);

  const status = await cli('status', id, '--json');
  assert.equal(status.exitCode, 3);
  assert.equal(json<{ phase: string }>(status).phase, 'paused-for-decision');

  // Visibility is eventually consistent.
  const row = await eventually('ps to list the paused upgrade', async () => {
    const ps = await cli('ps', '--phase', 'paused', '--task-queue', taskQueue, '--json');
    assert.equal(ps.exitCode, 0, ps.stderr);
    return json<{ workflowId: string; runbook: string; status: string; shownPhase: string; waitingFor?: string }[]>(
      ps,
    ).find((w) => w.workflowId === id);
  });
  assert.deepEqual([row.runbook, row.status, row.shownPhase], ['upgradePlatform', 'RUNNING', 'paused-for-decision']);
  assert.match(row.waitingFor ?? '', /Send the update "decide"/);
  const table = await cli('ps', '--kind', 'upgradePlatform', '--running', '--task-queue', taskQueue);
  assert.match(table.stdout, /^WORKFLOW ID +RUNBOOK +STATUS +PHASE +NAMESPACE +STARTED +WAITING FOR$/m);
  assert.match(table.stdout, new RegExp(`^${id} +upgradePlatform +RUNNING +paused-for-decision +orchestrator `, 'm'));
  assert.equal(
    json<unknown[]>(await cli('ps', '--kind', 'platformHealth', '--running', '--task-queue', taskQueue, '--json'))
      .length,
    0,
  );

  // The worker's gauge of paused runbooks, from visibility.
  assert.match(
    await eventually('runbook_paused', () =>
      metric(/^runbook_paused\{runbook="upgradePlatform",phase="paused-for-decision"\} [1-9]/),
    ),
    / [1-9]\d*$/,
  );

  const lease = await cli('lease', '--json');
  assert.equal(lease.exitCode, 0, lease.stderr);
  const state = json<{ leaseId: string; holder: { workflowId: string; runbook: string } | null }>(lease);
  assert.deepEqual(
    [state.leaseId, state.holder?.workflowId, state.holder?.runbook],
    [maintenanceLeaseId(taskQueue), id, 'upgradePlatform'],
  );
  assert.match((await cli('lease')).stdout, new RegExp(`: held by ${id} \\(upgradePlatform\\) since `));

  const refused = await cli('decide', id, 'later', '--by', 'alice');
  assert.equal(refused.exitCode, 1);
  assert.match(refused.stderr, /^decide rejected: /);
  const decided = await cli('decide', id, 'rollback', '--by', 'alice', '--reason', 'smoke test answers 503');
  assert.equal(decided.exitCode, 0, decided.stderr);
  assert.deepEqual(json(decided), { accepted: true, action: 'rollback' });

  const watched = await cli('watch', id, '--json');
  assert.equal(watched.exitCode, 0, watched.stderr);
  const end = json<{ status: string; phase: string; result: { outcome: string } }>(watched);
  assert.deepEqual([end.status, end.phase, end.result.outcome], ['COMPLETED', 'rolled-back', 'rolled-back']);
  assert.equal((await attrs(id)).RunbookPhase?.[0], 'rolled-back');
  assert.equal((await cli('status', id)).exitCode, 0);
  assert.match((await cli('lease')).stdout, /: free$/m);

  // history export: JSON that the replayer accepts (a replay test for this run).
  const file = join(dir, 'upgrade.json');
  const exported = await cli('history', 'export', id, '--out', file);
  assert.equal(exported.exitCode, 0, exported.stderr);
  const history = JSON.parse(readFileSync(file, 'utf8')) as { events: { eventType: string }[] };
  assert.equal(history.events[0]?.eventType, 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');
  assert.ok(history.events.some((e) => e.eventType === 'EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES'));
  await Worker.runReplayHistory(
    { workflowBundle: await workflowBundle(), taskQueue } as Parameters<typeof Worker.runReplayHistory>[0],
    historyFromJson(history),
    id,
  );
});

test('schedules list | pause | unpause | trigger; a scheduled run is counted with its schedule id', async () => {
  const scheduleId = uniqueTaskQueue('cli-schedule');
  const handle = await env.client.schedule.create({
    scheduleId,
    spec: { cronExpressions: ['0 3 1 1 *'] },
    action: {
      type: 'startWorkflow',
      workflowType: 'platformHealth',
      workflowId: scheduleId,
      taskQueue,
      args: [{ healthUrl: 'http://127.0.0.1:9/health' }],
    },
  });
  after(() => handle.delete());
  const listed = await eventually('the schedule in the list', async () =>
    json<{ scheduleId: string; workflowType: string; paused: boolean }[]>(
      await cli('schedules', 'list', '--json'),
    ).find((s) => s.scheduleId === scheduleId),
  );
  assert.deepEqual([listed.workflowType, listed.paused], ['platformHealth', false]);

  assert.equal((await cli('schedules', 'pause', scheduleId, '--note', 'maintenance window')).exitCode, 0);
  assert.deepEqual(
    [(await handle.describe()).state.paused, (await handle.describe()).state.note],
    [true, 'maintenance window'],
  );
  assert.equal((await cli('schedules', 'unpause', scheduleId)).exitCode, 0);
  assert.equal((await handle.describe()).state.paused, false);
  assert.equal((await cli('schedules', 'frobnicate', scheduleId)).exitCode, 2);

  const trigger = await cli('schedules', 'trigger', scheduleId);
  assert.equal(trigger.exitCode, 0, trigger.stderr);
  await eventually(
    'the triggered run to be counted',
    () =>
      metric(
        new RegExp(
          `^runbook_runs_finished_total\\{runbook="platformHealth",outcome="succeeded",schedule="${scheduleId}"\\} 1$`,
        ),
      ),
    60_000,
    500,
  );
});

test('list --json names every runbook; --help works for every command', async () => {
  const listed = json<{ name: string }[]>(await cli('list', '--json')).map((r) => r.name);
  assert.ok(
    ['platformHealth', 'upgradePlatform', 'incidentResponse', 'drainNode'].every((n) => listed.includes(n)),
    listed.join(','),
  );
  for (const command of [
    'list',
    'ps',
    'start',
    'status',
    'watch',
    'decide',
    'approve',
    'recover',
    'lease',
    'schedules',
    'history',
  ]) {
    const help = await cli(command, '--help');
    assert.equal(help.exitCode, 0);
    assert.match(help.stdout, new RegExp(`^Usage: runbook ${command}`));
  }
});

test('incidentResponse: approve and recover are sent by name; status says paused-for-approval until each arrives', async () => {
  const id = uniqueTaskQueue('cli-incident');
  const input = JSON.stringify({
    severity: 'high',
    summary: 'CLI test',
    recipients: ['age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'],
    scope: { namespace: 'orchestrator' },
    containment: { deployment: 'orchestrator', networkPolicy: false, suspendController: false },
  });
  const started = await cli('start', 'incidentResponse', '--id', id, '--input', input, '--no-wait', '--json');
  assert.equal(started.exitCode, 0, started.stderr);
  const pausedWith = (text: RegExp) =>
    eventually(
      `incident paused for ${text}`,
      async () => {
        const s = await cli('status', id, '--json');
        const out = json<{ phase: string; progress: { note?: string } | null }>(s);
        return s.exitCode === 3 && out.phase === 'paused-for-approval' && text.test(out.progress?.note ?? '') && out;
      },
      30_000,
      300,
    );
  await pausedWith(/"approve"/);
  const noReason = await cli('approve', id);
  assert.equal(noReason.exitCode, 2);
  const approved = await cli('approve', id, '--by', 'alice', '--reason', 'contain it');
  assert.equal(approved.exitCode, 0, approved.stderr);
  assert.deepEqual(json(approved), { accepted: true, phase: 'containment' });
  await pausedWith(/"recover"/);
  const recovered = await cli(
    'recover',
    id,
    '--by',
    'alice',
    '--reason',
    'key rotated',
    '--options',
    '{"credentials":[]}',
  );
  assert.equal(recovered.exitCode, 0, recovered.stderr);
  const end = await cli('watch', id, '--json');
  assert.equal(end.exitCode, 0, end.stderr);
  assert.equal(json<{ status: string }>(end).status, 'COMPLETED');
});
