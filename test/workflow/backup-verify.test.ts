// backupAndVerify with mocked activities, on the real dev server: backupPlatform and restorePlatform run as
// child workflows; the scratch namespace is deleted on success, on a mismatch, on a failure and on cancel.
// Also which workflow the nightly schedule starts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, ChildWorkflowFailure } from '@temporalio/common';
import { nightlyAction } from '../../client/schedules.ts';
import { INVALID_INPUT, KUBE_INVALID } from '../../contract/failures.ts';
import { progressQuery } from '../../contract/messages.ts';
import { type BackupVerifyReport, type KindComparison } from '../../contract/types/backup-verify.ts';
import { BACKUP_VERIFY_FAILED, BACKUP_VERIFY_MISMATCH } from '../../contract/failures.ts';
import { recordHistory } from '../helpers/record-history.ts';
import { recordedMocks, type RecordedMocks } from '../helpers/recorded-mocks.ts';
import { BACKUP_COUNTS, TEST_RECIPIENT, writtenBackup } from '../helpers/backup-mocks.ts';
import { plannedRestoreKinds, restoredObjectsMocks } from '../helpers/restore-mocks.ts';
import { uniqueTaskQueue, useTestTemporal, withTestWorker } from '../helpers/temporal.ts';
import { workflowFailure } from '../helpers/workflow-failure.ts';

const testTemporal = useTestTemporal();
type Behaviour = (arg: never) => Promise<unknown>;
const input = { backup: { recipients: [TEST_RECIPIENT], retention: { keepLast: 3 } } };

const kindResult = (kind: keyof typeof BACKUP_COUNTS, over: Partial<KindComparison> = {}): KindComparison => ({
  kind,
  backup: BACKUP_COUNTS[kind],
  restored: BACKUP_COUNTS[kind],
  matching: BACKUP_COUNTS[kind],
  missing: [],
  differing: [],
  extra: [],
  equal: true,
  source: { count: BACKUP_COUNTS[kind], changedSinceBackup: 0, addedSinceBackup: 0, removedSinceBackup: 0 },
  ...over,
});

function mock(behaviour: Record<string, Behaviour> = {}): RecordedMocks {
  const defaults: Record<string, Behaviour> = {
    // backupPlatform's
    planBackup: async () => ({
      namespace: 'orchestrator',
      counts: BACKUP_COUNTS,
      helmRelease: null,
      volumeSnapshots: { pvcs: 0, snapshotted: 0, skippedReason: 'no VolumeSnapshot CRD' },
    }),
    writeBackup: async (arg: { workflowId: string }) => writtenBackup(arg),
    applyBackupRetention: async () => ({ kept: ['b2'], deleted: ['b0'] }),
    // restorePlatform's
    verifyBackup: async (arg: { backupId: string }) => ({
      id: arg.backupId,
      createdAt: '2026-11-26T02:00:00Z',
      cluster: 'https://k',
      sourceNamespace: 'orchestrator',
      counts: BACKUP_COUNTS,
      filesVerified: 5,
    }),
    planRestore: async (arg: { targetNamespace: string; include: Record<string, boolean> }) => ({
      targetNamespace: arg.targetNamespace,
      namespaceExists: true,
      kinds: plannedRestoreKinds(arg.include),
    }),
    ensureNamespaces: async (names: string[]) => names.map((name) => ({ name, changed: false })),
    ...restoredObjectsMocks(),
    restoreHelmObjects: async () => ({ releases: [], created: 0, updated: 0, skipped: 0 }),
    restoreVolumes: async () => ({ created: [], skipped: [], unavailable: [] }),
    // backupAndVerify's
    prepareScratchNamespace: async (arg: { name: string }) => ({ name: arg.name, created: true }),
    compareRestoredBackup: async (arg: {
      backupId: string;
      targetNamespace: string;
      sourceNamespace: string;
      include: Record<string, boolean>;
    }) => ({
      backupId: arg.backupId,
      targetNamespace: arg.targetNamespace,
      sourceNamespace: arg.sourceNamespace,
      equal: true,
      kinds: (['secrets', 'configMaps', 'helmReleases', 'taskRuns'] as const)
        .filter((k) => arg.include[k])
        .map((k) => kindResult(k)),
    }),
    deleteScratchNamespace: async (arg: { name: string }) => ({ name: arg.name, deleted: true }),
    recordBackupVerified: async (arg: { backupId: string }) => ({
      backupId: arg.backupId,
      verifiedAt: '2026-11-26T02:10:00Z',
    }),
  };
  return recordedMocks(defaults, behaviour);
}

/** Runs backupAndVerify on its own task queue; `drive` gets the handle (default: await the result). */
async function run<T>(
  wfInput: unknown,
  m: ReturnType<typeof mock>,
  drive: (h: WorkflowHandle) => Promise<T>,
  workflowId = uniqueTaskQueue('backupAndVerify'),
): Promise<T> {
  const env = await testTemporal();
  return withTestWorker(env, m.activities, 'verify-wf', async (taskQueue) =>
    drive(await env.client.workflow.start('backupAndVerify', { taskQueue, workflowId, args: [wfInput] })),
  );
}

const steps = async (h: WorkflowHandle) => (await h.query(progressQuery)).steps.map((s) => `${s.name}:${s.status}`);

test('verified: backup child, scratch namespace, restore child into it (without CRD and Helm release), compare, scratch deleted', async () => {
  const env = await testTemporal();
  const m = mock();
  const workflowId = uniqueTaskQueue('backupAndVerify');
  const { report, stepList } = await run(
    input,
    m,
    async (h) => {
      const result = (await h.result()) as BackupVerifyReport;
      const stepList = await steps(h);
      await recordHistory(h, 'backupAndVerify-verified');
      await recordHistory(env.client.workflow.getHandle(`${workflowId}-backup`), 'backupPlatform-retention');
      await recordHistory(env.client.workflow.getHandle(`${workflowId}-restore`), 'restorePlatform-scratch');
      return { report: result, stepList };
    },
    workflowId,
  );
  assert.deepEqual(m.names(), [
    'planBackup',
    'writeBackup',
    'applyBackupRetention',
    'prepareScratchNamespace',
    'verifyBackup',
    'planRestore',
    'ensureNamespaces',
    'restoreKind',
    'restoreKind',
    'restoreKind',
    'countRestored',
    'compareRestoredBackup',
    'recordBackupVerified',
    'deleteScratchNamespace',
  ]);
  const backupId = `${workflowId}-backup`;
  assert.equal(m.arg('writeBackup')!.workflowId, backupId);
  // The child's series is its parent's (a manually started run: its whole ID); retention acts on it only.
  assert.equal(m.arg('writeBackup')!.series, workflowId);
  assert.deepEqual(m.arg('applyBackupRetention'), {
    policy: { keepLast: 3 },
    protect: backupId,
    namespace: 'orchestrator',
  });
  // Only an equal comparison is recorded as a verification (retention keeps the newest verified backup).
  assert.deepEqual(m.arg('recordBackupVerified'), { backupId, namespace: 'orchestrator', workflowId });
  const scratch = m.arg('prepareScratchNamespace')!;
  assert.match(String(scratch.name), /^orchestrator-verify-[0-9a-f]{8}$/);
  assert.deepEqual(m.arg('deleteScratchNamespace'), { ...scratch, timeoutSeconds: 1800 });
  assert.deepEqual(
    m.calls.filter((c) => c.name === 'restoreKind').map((c) => [c.arg.kind, c.arg.targetNamespace, c.arg.backupId]),
    [
      ['secrets', scratch.name, backupId],
      ['configMaps', scratch.name, backupId],
      ['taskRuns', scratch.name, backupId],
    ],
  );
  assert.deepEqual(m.arg('compareRestoredBackup'), {
    backupId,
    include: { crds: false, secrets: true, configMaps: true, helmReleases: false, taskRuns: true },
    targetNamespace: scratch.name,
    sourceNamespace: 'orchestrator',
  });
  assert.equal(report.outcome, 'verified');
  assert.equal(report.backupId, backupId);
  assert.deepEqual(report.backup.retention, { kept: ['b2'], deleted: ['b0'] });
  assert.equal(report.verification?.restoreWorkflowId, `${workflowId}-restore`);
  assert.deepEqual(
    report.verification?.comparison.kinds.map((k) => [k.kind, k.backup, k.restored, k.equal]),
    [
      ['secrets', 2, 2, true],
      ['configMaps', 1, 1, true],
      ['taskRuns', 3, 3, true],
    ],
  );
  assert.deepEqual(report.verification?.cleanup, { deleted: true });
  assert.ok(
    stepList.every((s) => s.endsWith(':succeeded')),
    stepList.join(),
  );
  const restore = await env.client.workflow.getHandle(`${workflowId}-restore`).describe();
  assert.equal(restore.parentExecution?.workflowId, workflowId);
  assert.equal(restore.status.name, 'COMPLETED');
});

test("series: a run started by a Schedule (or the CLI) gives its child backup the schedule's id (or the runbook name) as series", async () => {
  const scheduleId = uniqueTaskQueue('nightly-verify');
  for (const [workflowId, series] of [
    [`${scheduleId}-2026-11-28T02:00:00Z`, scheduleId],
    [`${scheduleId}-2026-11-28T12-00-00-000Z`, scheduleId],
  ] as const) {
    // The real activity makes the id safe as a directory name (backupIdFor): ':' is not allowed.
    const m = mock({
      writeBackup: async (arg: { workflowId: string }) =>
        writtenBackup(arg, { id: arg.workflowId.replace(/:/g, '-'), dir: '/b', createdAt: '2026-11-28T02:00:00Z' }),
    });
    await run(input, m, (h) => h.result(), workflowId);
    assert.equal(m.arg('writeBackup')!.series, series);
  }
});

test('helmRelease: true restores and compares the Helm release too; an explicit scratch namespace is used', async () => {
  const m = mock();
  const report = await run(
    { ...input, verify: { helmRelease: true, scratchNamespace: 'verify-here' } },
    m,
    (h) => h.result() as Promise<BackupVerifyReport>,
  );
  assert.equal(m.arg('prepareScratchNamespace')!.name, 'verify-here');
  assert.deepEqual(
    m.calls.filter((c) => c.name === 'restoreKind').map((c) => c.arg.kind),
    ['secrets', 'configMaps', 'helmReleases', 'taskRuns'],
  );
  assert.ok(report.verification?.comparison.kinds.some((k) => k.kind === 'helmReleases'));
});

test('mismatch: fails with BackupVerifyMismatch naming the differences; the report is in the details; scratch deleted', async () => {
  const m = mock({
    compareRestoredBackup: async (arg: { backupId: string; targetNamespace: string }) => ({
      backupId: arg.backupId,
      targetNamespace: arg.targetNamespace,
      sourceNamespace: 'orchestrator',
      equal: false,
      kinds: [
        kindResult('secrets'),
        kindResult('configMaps', { matching: 0, differing: ['taskrun-controller-config'], equal: false }),
        kindResult('taskRuns', { restored: 2, matching: 2, missing: ['t-3'], equal: false }),
      ],
    }),
  });
  const { err, stepList } = await run(input, m, async (h) => {
    const e = await workflowFailure(h);
    await recordHistory(h, 'backupAndVerify-mismatch');
    return { err: e, stepList: await steps(h) };
  });
  assert.ok(err.cause instanceof ApplicationFailure);
  assert.equal(err.cause.type, BACKUP_VERIFY_MISMATCH);
  assert.match(
    err.cause.message,
    /was written, but its test restore into orchestrator-verify-\w+ differs: secrets 2\/2; configMaps 0\/1, differing taskrun-controller-config; taskRuns 2\/3, missing t-3/,
  );
  const report = err.cause.details?.[0] as BackupVerifyReport;
  assert.equal(report.outcome, 'mismatch');
  assert.equal(report.verification?.comparison.equal, false);
  assert.deepEqual(report.verification?.cleanup, { deleted: true });
  assert.equal(m.names().at(-1), 'deleteScratchNamespace');
  assert.ok(!m.names().includes('recordBackupVerified'), 'a backup that differs is not recorded as verified');
  assert.ok(stepList.includes('cleanup:succeeded') && stepList.includes('report:failed'), stepList.join());
});

test("a failed restore still deletes the scratch namespace; the error is the restore's", async () => {
  const m = mock({
    restoreKind: async (arg: { kind: string }) => {
      if (arg.kind === 'taskRuns')
        throw ApplicationFailure.create({
          type: KUBE_INVALID,
          message: 'restore TaskRun t-1: HTTP 422 invalid',
          nonRetryable: true,
        });
      return { kind: arg.kind, created: 1, updated: 0, skipped: 0 };
    },
  });
  const err = await run(input, m, workflowFailure);
  assert.ok(err.cause instanceof ApplicationFailure, String(err.cause));
  assert.equal(err.cause.type, BACKUP_VERIFY_FAILED);
  assert.match(
    err.cause.message,
    /backup .*-backup was written, but its test restore into orchestrator-verify-\w+ failed: restore TaskRun t-1: HTTP 422 invalid/,
  );
  assert.ok(err.cause.cause instanceof ChildWorkflowFailure, String(err.cause.cause));
  assert.ok(!m.names().includes('compareRestoredBackup'));
  assert.deepEqual(m.names().slice(-1), ['deleteScratchNamespace']);
});

test('cancelled during the restore: the scratch namespace is still deleted', async () => {
  const m = mock({
    restoreKind: async () => {
      // A long restore that notices cancellation through its heartbeats.
      for (let i = 0; i < 100; i++) {
        Context.current().heartbeat();
        await Context.current().sleep(200);
      }
      throw new Error('was not cancelled');
    },
  });
  const err = await run(input, m, async (h) => {
    for (let i = 0; i < 100 && !m.names().includes('restoreKind'); i++) await sleep(100);
    assert.ok(m.names().includes('restoreKind'), 'the restore never started');
    await h.cancel();
    return workflowFailure(h);
  });
  assert.ok(err.cause instanceof CancelledFailure, String(err.cause));
  assert.deepEqual(
    m.names().filter((n) => n === 'deleteScratchNamespace'),
    ['deleteScratchNamespace'],
  );
  assert.ok(!m.names().includes('compareRestoredBackup'));
});

test('a scratch namespace that is not ours is refused; a refused cleanup does not hide that error', async () => {
  const refuse = (message: string) => async () => {
    throw ApplicationFailure.create({ type: INVALID_INPUT, message, nonRetryable: true });
  };
  const m = mock({
    prepareScratchNamespace: refuse("namespace team-a exists and is not this verification's scratch namespace"),
    deleteScratchNamespace: refuse(
      "refusing to delete namespace team-a: it is not this verification's scratch namespace",
    ),
  });
  const err = await run({ ...input, verify: { scratchNamespace: 'team-a' } }, m, workflowFailure);
  assert.ok(err.cause instanceof ApplicationFailure);
  assert.equal(err.cause.type, BACKUP_VERIFY_FAILED);
  assert.match(
    err.cause.message,
    /test restore into team-a failed: namespace team-a exists and is not this verification's scratch namespace$/,
  );
  assert.deepEqual(m.names().slice(-2), ['prepareScratchNamespace', 'deleteScratchNamespace']);
  assert.ok(!m.names().includes('verifyBackup'));
});

test('verification disabled: only the backup', async () => {
  const m = mock();
  const { report, stepList } = await run({ ...input, verify: { enabled: false } }, m, async (h) => ({
    report: (await h.result()) as BackupVerifyReport,
    stepList: await steps(h),
  }));
  assert.deepEqual(m.names(), ['planBackup', 'writeBackup', 'applyBackupRetention']);
  assert.equal(report.outcome, 'backed-up');
  assert.equal(report.verification, undefined);
  assert.ok(stepList.includes('restore:skipped') && stepList.includes('cleanup:skipped'));
});

test('invalid input fails at once, naming the fields, before any activity', async () => {
  const m = mock();
  const err = await run(
    {
      backup: { namespace: 'orchestrator' },
      verify: { scratchNamespace: 'orchestrator', identity: { env: 'no such var!' } },
    },
    m,
    workflowFailure,
  );
  assert.ok(err.cause instanceof ApplicationFailure);
  assert.equal(err.cause.type, INVALID_INPUT);
  assert.match(err.cause.message, /backup\.recipients: Secrets are never written in plain text/);
  assert.match(err.cause.message, /verify\.identity: is the worker's configuration now, not an input/);
  const reserved = await run({ ...input, verify: { scratchNamespace: 'kube-system' } }, m, workflowFailure);
  assert.match(String(reserved.cause?.message), /verify\.scratchNamespace: must not be one of default, kube-system/);
  const same = await run(
    { backup: { ...input.backup, namespace: 'team-a' }, verify: { scratchNamespace: 'team-a' } },
    m,
    workflowFailure,
  );
  assert.match(String(same.cause?.message), /verify\.scratchNamespace: must differ from backup\.namespace/);
  assert.deepEqual(m.calls, []);
});

test('the nightly schedule starts backupPlatform, or backupAndVerify with RUNBOOK_BACKUP_VERIFY=1 or verify', () => {
  const nightly = { recipients: [TEST_RECIPIENT], retention: { keepLast: 14 } };
  assert.deepEqual(nightlyAction({ input: nightly }, {}), { workflowType: 'backupPlatform', input: nightly });
  assert.deepEqual(nightlyAction({ input: nightly }, { RUNBOOK_BACKUP_VERIFY: '1' }), {
    workflowType: 'backupAndVerify',
    input: { backup: nightly, verify: { enabled: true } },
  });
  assert.deepEqual(nightlyAction({ input: nightly, verify: { helmRelease: true } }, {}), {
    workflowType: 'backupAndVerify',
    input: { backup: nightly, verify: { helmRelease: true, enabled: true } },
  });
  assert.equal(
    nightlyAction({ input: nightly, verify: false }, { RUNBOOK_BACKUP_VERIFY: '1' }).workflowType,
    'backupPlatform',
  );
  assert.throws(
    () => nightlyAction({ input: nightly, verify: { scratchNamespace: 'default' } }, {}),
    /invalid nightly backup input: verify\.scratchNamespace/,
  );
  assert.throws(
    () => nightlyAction({ input: {} }, { RUNBOOK_BACKUP_VERIFY: '1' }),
    /invalid nightly backup input: recipients/,
  );
});
