// incidentResponse with mocked activities, on the real dev server: approval (with the validators'
// refusals), a deadline without approval (nothing contained), auto containment, a failed recovery
// step paused then retried, invalid input, and the lease's line (the incident goes to its head).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { BACKUP_NOT_FOUND, INVALID_INPUT, KUBE_UNAVAILABLE } from '../../contract/failures.ts';
import { failureCause } from '../../contract/failure-cause.ts';
import {
  approveUpdate,
  incidentDecideUpdate,
  incidentStateQuery,
  recoverUpdate,
} from '../../contract/incident-messages.ts';
import { leaseQuery, maintenanceLeaseId } from '../../contract/lease-messages.ts';
import type { BlastRadius, EvidenceSummary, IncidentInput, IncidentReport } from '../../contract/types/incident.ts';
import type { DrainRoundRequest, DrainRoundResult } from '../../contract/types/drain.ts';
import { runTestWorker, useTestTemporal, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.ts';
import { untilQuery } from '../helpers/eventually.ts';
import { workflowFailure } from '../helpers/workflow-failure.ts';

const testTemporal = useTestTemporal();
const RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

const evidence: EvidenceSummary = {
  dir: '/tmp/incidents/x',
  reused: false,
  files: [{ file: 'pods.jsonl.gz.age', what: 'pods', count: 2, size: 10, sha256: 'ab', encrypted: true }],
  manifestSha256: 'cafe',
  pods: 2,
  logs: { current: 2, previous: 2, errors: 0 },
};
const radius: BlastRadius = {
  namespace: 'orchestrator',
  pods: [{ name: 'orchestrator-1', node: 'n1', phase: 'Running', restarts: 0, images: ['x:1'] }],
  jobs: [],
  taskRuns: [],
  secrets: ['orchestrator-secrets'],
  nodes: ['n1'],
  restarts: [],
  failureEvents: [],
  truncated: [],
};

/** Records every call; `fail` makes the named activity throw once per listed count. */
function mock(fail: Record<string, number> = {}) {
  const calls: string[] = [];
  const failures = { ...fail };
  const act =
    <R>(name: string, result: (req: never) => R) =>
    async (req: never): Promise<R> => {
      calls.push(name);
      if ((failures[name] ?? 0) > 0) {
        failures[name]!--;
        throw ApplicationFailure.create({
          type: KUBE_UNAVAILABLE,
          nonRetryable: true,
          message: `${name} failed (test)`,
        });
      }
      return result(req);
    };
  const activities = {
    preserveIncidentEvidence: act('preserveIncidentEvidence', () => evidence),
    assessIncident: act('assessIncident', () => radius),
    scaleForIncident: act('scaleForIncident', () => ({ replicas: 2, found: true })),
    scaleBackAfterIncident: act('scaleBackAfterIncident', (r: { replicas: number }) => ({ replicas: r.replicas })),
    blankSecretKeys: act('blankSecretKeys', (r: { keys: string[] }) =>
      r.keys.map((key) => ({ key, fingerprint: 'sha256:0123456789ab', present: true })),
    ),
    clearBlankedMark: act('clearBlankedMark', () => undefined),
    applyIncidentNetworkPolicy: act('applyIncidentNetworkPolicy', () => ({ name: 'incident-deny-all-x' })),
    deleteIncidentNetworkPolicy: act('deleteIncidentNetworkPolicy', () => ({ deleted: true })),
    cordonNode: act('cordonNode', () => ({ cordonedByUs: true })),
    uncordonNode: act('uncordonNode', () => ({ uncordoned: true })),
    applySecrets: act(
      'applySecrets',
      (r: { namespace: string; secrets: { name: string; keys: { key: string }[] }[] }) =>
        r.secrets.map((s) => ({
          namespace: r.namespace,
          name: s.name,
          keys: s.keys.map((k) => ({ key: k.key, fingerprint: 'sha256:feedfeedfeed' })),
          changed: true,
        })),
    ),
    verifyIncidentIntegrity: act('verifyIncidentIntegrity', () => ({
      ok: true,
      images: [],
      rbac: { ok: true, extra: [], missing: [] },
      unknown: [],
    })),
    writeIncidentReport: act('writeIncidentReport', (r: { incidentId: string }) => ({
      file: `/tmp/incidents/${r.incidentId}/report.md`,
    })),
    // restorePlatform's first activity: the backup is not there (the child fails before any write).
    verifyBackup: act('verifyBackup', () => {
      throw ApplicationFailure.create({
        type: BACKUP_NOT_FOUND,
        nonRetryable: true,
        message: 'backup b-1 not found (test)',
      });
    }),
    // drainNode's, for the lease test.
    planDrain: async () => ({
      node: 'n9',
      unschedulable: false,
      evict: [{ namespace: 'a', name: 'p', uid: 'u' }],
      kept: [],
      warnings: [],
      errors: [],
    }),
    drainRound: async (req: DrainRoundRequest): Promise<DrainRoundResult> => {
      await sleep(300);
      return {
        gone: [],
        remaining: req.pods.map((p) => ({
          ...p,
          state: 'blocked' as const,
          blockedBy: [{ name: 'pdb', disruptionsAllowed: 0 }],
        })),
      };
    },
  };
  return { calls, activities };
}

const input = (over: Partial<IncidentInput> = {}): IncidentInput => ({
  severity: 'critical',
  summary: 'API key leaked in a log',
  recipients: [RECIPIENT],
  scope: { namespace: 'orchestrator', nodes: ['n1'] },
  containment: {
    deployment: 'orchestrator',
    secrets: [{ name: 'orchestrator-secrets', keys: ['ANTHROPIC_API_KEY'] }],
    networkPolicy: true,
    suspendController: true,
  },
  ...over,
});
const credentials = [{ secret: 'orchestrator-secrets', key: 'ANTHROPIC_API_KEY', from: { env: 'NEW_KEY' } }];
const phase = (h: WorkflowHandle, p: string) =>
  untilQuery(`phase ${p}`, async () => (await h.query(incidentStateQuery)).phase === p);
const CONTAIN = ['scaleForIncident', 'blankSecretKeys', 'applyIncidentNetworkPolicy', 'cordonNode'];

async function setup(
  fail: Record<string, number> = {},
): Promise<{ env: TestTemporal; taskQueue: string; calls: string[] }> {
  const env = await testTemporal();
  const { calls, activities } = mock(fail);
  return { env, taskQueue: await runTestWorker(env, activities as never, 'incident'), calls };
}

async function rejected(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowUpdateFailedError, `expected a rejected update, got ${String(err)}`);
  assert.match(String((err.cause as Error | undefined)?.message), pattern);
}

test('required approval: evidence first, nothing contained until approve; recover in reverse order; the report names who approved', async () => {
  const { env, taskQueue, calls } = await setup();
  const h = await env.client.workflow.start('incidentResponse', {
    taskQueue,
    workflowId: uniqueTaskQueue('incident-approve'),
    args: [input()],
  });
  await phase(h, 'awaiting-approval');
  assert.deepEqual(calls, ['preserveIncidentEvidence', 'assessIncident']);
  await rejected(
    h.executeUpdate(approveUpdate, { args: [{ phase: 'recovery' as never, by: 'alice', reason: 'x' }] }),
    /phase/,
  );
  await rejected(
    h.executeUpdate(recoverUpdate, { args: [{ by: 'alice', reason: 'early', options: { credentials } }] }),
    /not contained/,
  );
  assert.deepEqual(calls, ['preserveIncidentEvidence', 'assessIncident'], 'a refused update changed nothing');
  await h.executeUpdate(approveUpdate, { args: [{ phase: 'containment', by: 'alice', reason: 'confirmed leak' }] });
  await phase(h, 'contained');
  const state = await h.query(incidentStateQuery);
  assert.deepEqual(state.blankedKeys, ['orchestrator-secrets/ANTHROPIC_API_KEY']);
  assert.equal(
    state.containment.find((c) => c.action.kind === 'suspend-controller')?.action.kind,
    'suspend-controller',
  );
  // No credential for the blanked key: refused.
  await rejected(
    h.executeUpdate(recoverUpdate, { args: [{ by: 'bob', reason: 'fixed' }] }),
    /missing orchestrator-secrets\/ANTHROPIC_API_KEY/,
  );
  await h.executeUpdate(recoverUpdate, {
    args: [{ by: 'bob', reason: 'key rotated upstream', options: { credentials } }],
  });
  const report = (await h.result()) as IncidentReport;
  assert.equal(report.outcome, 'recovered');
  assert.deepEqual(calls.slice(2, 6), CONTAIN);
  // Reverse order: (controller: not running, nothing to resume), uncordon, policy, credentials, scale back.
  assert.deepEqual(calls.slice(6), [
    'uncordonNode',
    'deleteIncidentNetworkPolicy',
    'applySecrets',
    'clearBlankedMark',
    'scaleBackAfterIncident',
    'verifyIncidentIntegrity',
    'writeIncidentReport',
  ]);
  assert.equal(report.approval?.by, 'alice');
  assert.ok(
    report.containment.every((c) => c.compensated),
    'every action compensated',
  );
  assert.match(report.markdown, /\| containment approved \| confirmed leak \| alice \|/);
  assert.match(report.markdown, /manifest\.json sha256 cafe/);
  assert.match(report.markdown, /orchestrator-secrets\/ANTHROPIC_API_KEY \(was sha256:0123456789ab\)/);
  assert.match(report.markdown, /no TaskRun controller runs as taskrun-controller-orchestrator/);
});

test('deadline without approval: nothing is contained and the report says so', async () => {
  const { env, taskQueue, calls } = await setup();
  const h = await env.client.workflow.start('incidentResponse', {
    taskQueue,
    workflowId: uniqueTaskQueue('incident-deadline'),
    args: [input({ approvals: { containment: 'required', deadlineSeconds: 2 } })],
  });
  const report = (await h.result()) as IncidentReport;
  assert.equal(report.outcome, 'not-contained');
  assert.deepEqual(calls, ['preserveIncidentEvidence', 'assessIncident', 'writeIncidentReport']);
  assert.deepEqual(report.containment, []);
  assert.match(report.markdown, /no approval within 2 s: nothing was contained/);
  assert.match(report.markdown, /Nothing was contained\./);
});

test('auto containment: contained without an approve; the lease is held until recovery', async () => {
  const { env, taskQueue, calls } = await setup();
  const h = await env.client.workflow.start('incidentResponse', {
    taskQueue,
    workflowId: uniqueTaskQueue('incident-auto'),
    args: [input({ approvals: { containment: 'auto' } })],
  });
  await phase(h, 'contained');
  assert.deepEqual(calls.slice(2), CONTAIN);
  const lease = await env.client.workflow.getHandle(maintenanceLeaseId(taskQueue)).query(leaseQuery);
  assert.equal(lease.holder?.workflowId, h.workflowId);
  await h.executeUpdate(recoverUpdate, { args: [{ by: 'bob', reason: 'done', options: { credentials } }] });
  const report = (await h.result()) as IncidentReport;
  assert.equal(report.outcome, 'recovered');
  assert.match(report.approval?.by ?? '', /auto/);
});

test('a failed recovery step pauses for a decision; retry runs it again and recovery completes', async () => {
  const { env, taskQueue, calls } = await setup({ deleteIncidentNetworkPolicy: 1 });
  const h = await env.client.workflow.start('incidentResponse', {
    taskQueue,
    workflowId: uniqueTaskQueue('incident-retry'),
    args: [input({ approvals: { containment: 'auto' } })],
  });
  await phase(h, 'contained');
  await rejected(h.executeUpdate(incidentDecideUpdate, { args: [{ action: 'retry', by: 'carol' }] }), /not paused/);
  await h.executeUpdate(recoverUpdate, { args: [{ by: 'bob', reason: 'done', options: { credentials } }] });
  await phase(h, 'paused');
  const paused = await h.query(incidentStateQuery);
  assert.match(paused.failure ?? '', /deleteIncidentNetworkPolicy failed \(test\)/);
  // Nothing after the failed step ran yet (reverse order: credentials and scale come after it).
  assert.ok(!calls.includes('applySecrets') && !calls.includes('scaleBackAfterIncident'));
  await h.executeUpdate(incidentDecideUpdate, { args: [{ action: 'retry', by: 'carol', reason: 'API server back' }] });
  const report = (await h.result()) as IncidentReport;
  assert.equal(report.outcome, 'recovered');
  assert.equal(calls.filter((c) => c === 'deleteIncidentNetworkPolicy').length, 2);
  assert.ok(calls.includes('scaleBackAfterIncident'));
  assert.match(report.markdown, /decision: retry \| API server back \| carol/);
});

test('a failed restore (restorePlatform child) pauses for a decision too; skip goes on to the integrity check', async () => {
  const { env, taskQueue, calls } = await setup();
  const h = await env.client.workflow.start('incidentResponse', {
    taskQueue,
    workflowId: uniqueTaskQueue('incident-restore'),
    args: [input({ approvals: { containment: 'auto' } })],
  });
  await phase(h, 'contained');
  await h.executeUpdate(recoverUpdate, {
    args: [{ by: 'bob', reason: 'restore too', options: { credentials, restoreBackupId: 'b-1' } }],
  });
  await phase(h, 'paused');
  assert.match((await h.query(incidentStateQuery)).failure ?? '', /restorePlatform|b-1/);
  assert.ok(!calls.includes('verifyIncidentIntegrity'));
  await h.executeUpdate(incidentDecideUpdate, {
    args: [{ action: 'skip', by: 'carol', reason: 'restore later by hand' }],
  });
  const report = (await h.result()) as IncidentReport;
  assert.equal(report.outcome, 'recovered');
  assert.equal(report.restore?.backupId, 'b-1');
  assert.match(report.restore?.outcome ?? '', /failed; skipped by carol/);
  assert.equal(calls.filter((c) => c === 'verifyBackup').length, 1);
  assert.ok(calls.includes('verifyIncidentIntegrity'));
  assert.match(report.markdown, /restorePlatform b-1 .* \| FAILED: /);
});

test('no decision on a failed step by the deadline: aborted, what comes after it stays contained, the report says so', async () => {
  const { env, taskQueue, calls } = await setup({ applySecrets: 5 });
  const h = await env.client.workflow.start('incidentResponse', {
    taskQueue,
    workflowId: uniqueTaskQueue('incident-abort'),
    args: [input({ approvals: { containment: 'auto' }, decisionTimeoutSeconds: 1 })],
  });
  await phase(h, 'contained');
  await h.executeUpdate(recoverUpdate, { args: [{ by: 'bob', reason: 'go', options: { credentials } }] });
  const report = (await h.result()) as IncidentReport;
  assert.equal(report.outcome, 'aborted');
  assert.ok(!calls.includes('scaleBackAfterIncident'), 'the Deployment stays at 0');
  assert.ok(!calls.includes('verifyIncidentIntegrity'));
  assert.deepEqual(
    report.containment.filter((c) => !c.compensated).map((c) => c.action.kind),
    ['scale', 'blank-secret'],
  );
  assert.match(report.markdown, /decision: abort \| [^|]* \| deadline \|/);
  assert.match(report.markdown, /\*\*Outcome\*\*: aborted/);
});

test('invalid input fails at once naming the field; nothing is read or changed', async () => {
  const { env, taskQueue, calls } = await setup();
  const fails = async (args: unknown) => {
    const h = await env.client.workflow.start('incidentResponse', {
      taskQueue,
      workflowId: uniqueTaskQueue('incident-invalid'),
      args: [args],
    });
    const err = await workflowFailure(h);
    const cause = failureCause(err);
    assert.equal(cause.type, INVALID_INPUT);
    return cause.message;
  };
  const both = await fails({ severity: 'urgent', summary: 'x', recipients: ['not-a-key'] });
  assert.match(both, /severity/);
  assert.match(both, /recipients\.0: must be an age public key/);
  assert.match(await fails({ severity: 'low', summary: 'x' }), /recipients: give recipients or recipientsFrom/);
  assert.deepEqual(calls, []);
});

test("the incident goes to the head of the lease's line, before a drain that asked earlier", async () => {
  const { env, taskQueue } = await setup();
  const drain = (id: string) =>
    env.client.workflow.start('drainNode', {
      taskQueue,
      workflowId: uniqueTaskQueue(id),
      args: [{ node: 'n9', timeoutSeconds: 600 }],
    });
  const holder = await drain('drain-holder');
  const leaseHandle = env.client.workflow.getHandle(maintenanceLeaseId(taskQueue));
  await untilQuery(
    'the drain holds the lease',
    async () => (await leaseHandle.query(leaseQuery).catch(() => undefined))?.holder?.workflowId === holder.workflowId,
  );
  const waiting = await drain('drain-waiting');
  await untilQuery('the second drain waits', async () => (await leaseHandle.query(leaseQuery)).waiters.length === 1);
  const incident = await env.client.workflow.start('incidentResponse', {
    taskQueue,
    workflowId: uniqueTaskQueue('incident-lease'),
    args: [input({ approvals: { containment: 'auto' } })],
  });
  const lease = await untilQuery('the incident in line', async () => {
    const l = await leaseHandle.query(leaseQuery);
    return l.waiters.length === 2 ? l : undefined;
  });
  assert.deepEqual(
    lease.waiters.map((w) => w.workflowId),
    [incident.workflowId, waiting.workflowId],
  );
  assert.equal(lease.waiters[0]!.priority, 100);
  await holder.cancel();
  await phase(incident, 'contained');
  await incident.executeUpdate(recoverUpdate, { args: [{ by: 'bob', reason: 'done', options: { credentials } }] });
  assert.equal(((await incident.result()) as IncidentReport).outcome, 'recovered');
  await waiting.cancel();
});
