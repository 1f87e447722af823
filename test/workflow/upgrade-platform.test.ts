// upgradePlatform with mocked activities: every branch, on the real dev server; the 24-hour
// decision deadline on Temporal's time-skipping test server.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { HELM_RELEASE_LOCKED, INVALID_INPUT, WAIT_TIMEOUT } from '../../contract/failures.ts';
import { decideUpdate, progressQuery, upgradeStateQuery, type UpgradeReport } from '../../contract/messages.ts';
import { type UpgradePlatformInput } from '../../contract/types/upgrade.ts';
import { UPGRADE_BACKUP_FAILED } from '../../contract/failures.ts';
import { SECRET_REF_UNRESOLVED } from '../../contract/failures.ts';
import { recordHistory } from '../helpers/record-history.ts';
import { BACKUP_COUNTS, TEST_RECIPIENT, preUpgradeBackupMocks, writtenBackup } from '../helpers/backup-mocks.ts';
import { deployedReleaseMocks } from '../helpers/deployed-release-mocks.ts';
import { failsWith } from '../helpers/failing-activity.ts';
import { recordedMocks, type MockBehaviour, type RecordedMocks } from '../helpers/recorded-mocks.ts';
import {
  startTimeSkipping,
  uniqueTaskQueue,
  useTestTemporal,
  withTestWorker,
  type TestTemporal,
} from '../helpers/temporal.ts';
import { workflowFailure } from '../helpers/workflow-failure.ts';

const testTemporal = useTestTemporal();

/** A release at revision 1 (image 1.0.0); `behaviour` overrides single activities. */
function mockActivities(behaviour: Partial<Record<string, MockBehaviour>> = {}): RecordedMocks {
  let revision = 1;
  const defaults: Record<string, MockBehaviour> = {
    ...deployedReleaseMocks(() => revision),
    helmGetValues: async () => ({ image: { repository: 'example/orchestrator', tag: '1.0.0' }, replicas: 1 }),
    helmUpgradeInstall: async () => ({
      changed: true,
      revision: ++revision,
      status: 'deployed',
      digest: `digest-${revision}`,
    }),
    helmRollback: async () => ({ revision: ++revision }),
    applyChartCrds: async () => [{ name: 'taskruns.orchestrator.io', changed: false }],
    waitCrdsEstablished: async () => undefined,
    waitReleaseRollout: async () => [{ deployment: 'orchestrator', ready: 1, replicas: 1 }],
    probeOrchestrator: async () => ({ checked: true, via: 'url', ok: true, statusCode: 200, detail: 'answered 200' }),
    // The pre-upgrade backup: no recipients configured unless a test says so; backupPlatform's activities.
    ...preUpgradeBackupMocks(),
  };
  return recordedMocks(defaults, behaviour);
}

const rolloutTimeout = () =>
  ApplicationFailure.create({
    type: WAIT_TIMEOUT,
    message: 'timed out waiting for rollout of orchestrator/orchestrator',
    nonRetryable: true,
  });
const failFirst = (attempt: number) =>
  attempt === 1
    ? Promise.reject(rolloutTimeout())
    : Promise.resolve([{ deployment: 'orchestrator', ready: 1, replicas: 1 }]);

const baseInput: UpgradePlatformInput = { imageTag: '1.1.0', smokeTest: { healthUrl: 'http://127.0.0.1:9/health' } };

async function withUpgrade<T>(
  env: Pick<TestTemporal, 'client' | 'nativeConnection'> & { namespace?: string },
  mock: RecordedMocks,
  input: unknown,
  drive: (handle: WorkflowHandle) => Promise<T>,
  workflowId = uniqueTaskQueue('upgradePlatform'),
): Promise<T> {
  return withTestWorker(env, mock.activities, 'upgrade', async (taskQueue) =>
    drive(await env.client.workflow.start('upgradePlatform', { taskQueue, workflowId, args: [input] })),
  );
}

async function waitPaused(handle: WorkflowHandle): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await handle.query(upgradeStateQuery)).phase === 'paused') return;
    await sleep(100);
  }
  throw new Error('the upgrade never paused');
}

test("success: upgrade, rollout, smoke test; the new tag is merged (by the activity) over the recorded revision's values", async () => {
  const mock = mockActivities();
  const report = await withUpgrade(await testTemporal(), mock, baseInput, (h) => h.result() as Promise<UpgradeReport>);
  assert.equal(report.outcome, 'succeeded');
  assert.deepEqual(report.revisions, [{ revision: 2, action: 'upgrade', detail: 'image tag 1.1.0' }]);
  assert.equal(report.previous.revision, 1);
  const upgrade = mock.calls.find((c) => c.name === 'helmUpgradeInstall')!.arg as {
    values: Record<string, unknown>;
    baseValuesRevision: number;
  };
  // Only the input's change and the revision to merge it over travel through history, not the release's values.
  assert.deepEqual(upgrade.values, { image: { tag: '1.1.0' } });
  assert.equal(upgrade.baseValuesRevision, 1);
  assert.ok(!mock.names().includes('helmGetValues'), 'the release values were read into history');
  assert.ok(!mock.names().includes('helmRollback'));
});

test('onFailure rollback: a rollout that never completes rolls back to the recorded revision', async () => {
  const mock = mockActivities({ waitReleaseRollout: (_arg, attempt) => failFirst(attempt) });
  const report = await withUpgrade(await testTemporal(), mock, { ...baseInput, onFailure: 'rollback' }, async (h) => {
    const result = (await h.result()) as UpgradeReport;
    await recordHistory(h, 'upgradePlatform-rollback');
    return result;
  });
  assert.equal(report.outcome, 'rolled-back');
  assert.deepEqual(
    report.revisions.map((r) => [r.revision, r.action]),
    [
      [2, 'upgrade'],
      [3, 'rollback'],
    ],
  );
  assert.equal((mock.calls.find((c) => c.name === 'helmRollback')!.arg as { revision: number }).revision, 1);
  assert.match(report.failures[0]!, /timed out waiting for rollout/);
});

test('pause -> retry: the operator retries and the upgrade completes without a second revision', async () => {
  let upgrades = 0;
  const mock = mockActivities({
    waitReleaseRollout: (_arg, attempt) => failFirst(attempt),
    helmUpgradeInstall: async () => ({ changed: ++upgrades === 1, revision: 2, status: 'deployed', digest: 'd' }),
  });
  const report = await withUpgrade(await testTemporal(), mock, baseInput, async (h) => {
    await waitPaused(h);
    const state = await h.query(upgradeStateQuery);
    assert.match(state.failure ?? '', /timed out waiting for rollout/);
    assert.ok(state.decisionDeadline);
    assert.deepEqual(
      await h.executeUpdate(decideUpdate, { args: [{ action: 'retry', by: 'alice', reason: 'capacity added' }] }),
      { accepted: true, action: 'retry' },
    );
    const result = (await h.result()) as UpgradeReport;
    await recordHistory(h, 'upgradePlatform-pause-retry');
    return result;
  });
  assert.equal(report.outcome, 'succeeded');
  assert.deepEqual(
    report.revisions.map((r) => r.revision),
    [2],
  );
  assert.equal(report.decisions[0]?.by, 'alice');
  assert.equal(mock.names().filter((n) => n === 'helmUpgradeInstall').length, 2);
});

test('pause -> abort: nothing is rolled back, the report says aborted', async () => {
  const mock = mockActivities({ waitReleaseRollout: async () => Promise.reject(rolloutTimeout()) });
  const report = await withUpgrade(await testTemporal(), mock, baseInput, async (h) => {
    await waitPaused(h);
    await h.executeUpdate(decideUpdate, { args: [{ action: 'abort', by: 'bob' }] });
    return h.result() as Promise<UpgradeReport>;
  });
  assert.equal(report.outcome, 'aborted');
  assert.ok(!mock.names().includes('helmRollback'));
  assert.equal(report.final.revision, 2);
});

test('pause -> rollback decision rolls back', async () => {
  const mock = mockActivities({ waitReleaseRollout: (_arg, attempt) => failFirst(attempt) });
  const report = await withUpgrade(await testTemporal(), mock, baseInput, async (h) => {
    await waitPaused(h);
    await h.executeUpdate(decideUpdate, { args: [{ action: 'rollback', by: 'carol' }] });
    return h.result() as Promise<UpgradeReport>;
  });
  assert.equal(report.outcome, 'rolled-back');
});

test('invalid updates are rejected and change nothing; a valid one is then accepted', async () => {
  const mock = mockActivities({ waitReleaseRollout: async () => Promise.reject(rolloutTimeout()) });
  await withUpgrade(await testTemporal(), mock, baseInput, async (h) => {
    await waitPaused(h);
    await assert.rejects(
      h.executeUpdate(decideUpdate, { args: [{ action: 'explode' as never, by: '' }] }),
      (err: unknown) =>
        err instanceof WorkflowUpdateFailedError &&
        /action: must be one of retry, rollback, abort; by: the operator's identity is required/.test(
          String(err.cause?.message),
        ),
    );
    assert.equal((await h.query(upgradeStateQuery)).phase, 'paused');
    assert.deepEqual((await h.query(upgradeStateQuery)).decisions, []);
    await h.executeUpdate(decideUpdate, { args: [{ action: 'abort', by: 'dave' }] });
    const report = (await h.result()) as UpgradeReport;
    assert.equal(report.outcome, 'aborted');
    await assert.rejects(h.executeUpdate(decideUpdate, { args: [{ action: 'retry', by: 'dave' }] }));
  });
});

test('invalid input fails at once, naming the fields, before any activity', async () => {
  const mock = mockActivities();
  await withUpgrade(await testTemporal(), mock, { imageTag: 'not a tag!', onFailure: 'shrug' }, async (h) => {
    const err = await workflowFailure(h);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, INVALID_INPUT);
    assert.match(err.cause.message, /imageTag: must be a valid image tag/);
    assert.match(err.cause.message, /onFailure/);
  });
  assert.deepEqual(mock.calls, []);
});

test('a release stuck by a worker that died during helm is recovered, then upgraded once', async () => {
  const mock = mockActivities({
    helmUpgradeInstall: async (_arg, attempt) => {
      if (attempt === 1)
        throw ApplicationFailure.create({
          type: HELM_RELEASE_LOCKED,
          message: 'another operation (install/upgrade/rollback) is in progress',
          nonRetryable: true,
        });
      return { changed: true, revision: 4, status: 'deployed', digest: 'd' };
    },
    recoverStuckRelease: async (_arg, attempt) =>
      attempt === 1
        ? { recovered: false, previousStatus: 'deployed', action: 'none' }
        : { recovered: true, previousStatus: 'pending-upgrade', action: 'rollback', revision: 3 },
  });
  const report = await withUpgrade(await testTemporal(), mock, baseInput, (h) => h.result() as Promise<UpgradeReport>);
  assert.equal(report.outcome, 'succeeded');
  assert.deepEqual(
    report.revisions.map((r) => [r.revision, r.action]),
    [
      [3, 'recover'],
      [4, 'upgrade'],
    ],
  );
});

test("a pending release younger than helm's timeout is not recovered until its helm must have exited", async () => {
  const at: number[] = [];
  const mock = mockActivities({
    recoverStuckRelease: async (_arg, attempt) => {
      at.push(Date.now());
      // Pending for 308 s; helm's --timeout is rolloutSeconds (300) + a 10 s margin: 2 s to go.
      if (attempt === 1)
        throw ApplicationFailure.create({
          type: HELM_RELEASE_LOCKED,
          message: 'too young',
          details: [{ status: 'pending-upgrade', revision: 2, ageSeconds: 308 }],
        });
      return { recovered: true, previousStatus: 'pending-upgrade', action: 'rollback', revision: 3 };
    },
  });
  const report = await withUpgrade(await testTemporal(), mock, baseInput, (h) => h.result() as Promise<UpgradeReport>);
  assert.equal(report.outcome, 'succeeded');
  const requests = mock.calls
    .filter((c) => c.name === 'recoverStuckRelease')
    .map((c) => c.arg as { minPendingAgeSeconds: number });
  assert.deepEqual(
    requests.map((r) => r.minPendingAgeSeconds),
    [310, 310],
  );
  assert.ok(
    at[1]! - at[0]! >= 1900,
    `recovered again after ${at[1]! - at[0]!} ms, before the pending revision was old enough`,
  );
  assert.deepEqual(
    report.revisions.map((r) => r.action),
    ['recover', 'upgrade'],
  );
});

const failureOf = async (h: WorkflowHandle): Promise<ApplicationFailure> => {
  const err = await workflowFailure(h);
  assert.ok(err.cause instanceof ApplicationFailure, String(err.cause));
  return err.cause;
};

test('pre-upgrade backup: backupPlatform runs as child <id>-backup before helm; the report names the backup', async () => {
  const env = await testTemporal();
  const mock = mockActivities();
  const workflowId = uniqueTaskQueue('upgradePlatform');
  let backupStep: string | undefined;
  const report = await withUpgrade(
    env,
    mock,
    { ...baseInput, backup: { recipients: [TEST_RECIPIENT], include: { taskRuns: false } } },
    async (h) => {
      const result = (await h.result()) as UpgradeReport;
      backupStep = (await h.query(progressQuery)).steps.find((s) => s.name === 'backup')?.detail;
      await recordHistory(h, 'upgradePlatform-child-backup');
      await recordHistory(env.client.workflow.getHandle(`${workflowId}-backup`), 'backupPlatform-upgrade-child');
      return result;
    },
    workflowId,
  );
  assert.equal(report.outcome, 'succeeded');
  assert.deepEqual(report.backup, {
    backupId: `${workflowId}-backup`,
    workflowId: `${workflowId}-backup`,
    counts: BACKUP_COUNTS,
    reused: false,
    createdAt: '2026-11-26T02:00:00Z',
  });
  // The child ran the backup of the release's namespace, with the input's config, before anything changed.
  const write = mock.calls.find((c) => c.name === 'writeBackup')!.arg as Record<string, unknown>;
  assert.equal(write.workflowId, `${workflowId}-backup`);
  assert.deepEqual(
    [write.namespace, write.release, write.recipients, write.hmacKey],
    ['orchestrator', 'orchestrator', [TEST_RECIPIENT], undefined],
  );
  assert.equal((write.include as Record<string, boolean>).taskRuns, false);
  assert.ok(mock.names().indexOf('writeBackup') < mock.names().indexOf('applyChartCrds'), mock.names().join());
  assert.ok(!mock.names().includes('defaultBackupRecipients'));
  const child = await env.client.workflow.getHandle(`${workflowId}-backup`).describe();
  assert.equal(child.status.name, 'COMPLETED');
  assert.equal(child.parentExecution?.workflowId, workflowId);
  assert.equal(child.taskQueue, (await env.client.workflow.getHandle(workflowId).describe()).taskQueue);
  assert.match(backupStep ?? '', new RegExp(`revision 1 recorded; backup ${workflowId}-backup: crds 1, secrets 2`));
});

test('pre-upgrade backup: a failed backup stops the upgrade before helm runs; nothing is changed', async () => {
  const mock = mockActivities({
    writeBackup: failsWith(
      SECRET_REF_UNRESOLVED,
      'environment variable RUNBOOK_BACKUP_HMAC_KEY is not set on the worker',
    ),
  });
  const cause = await withUpgrade(
    await testTemporal(),
    mock,
    { ...baseInput, backup: { recipients: [TEST_RECIPIENT] } },
    failureOf,
  );
  assert.equal(cause.type, UPGRADE_BACKUP_FAILED);
  assert.match(
    cause.message,
    /pre-upgrade backup \(child workflow .*-backup\) failed, nothing was upgraded: .*RUNBOOK_BACKUP_HMAC_KEY is not set/,
  );
  for (const acting of ['applyChartCrds', 'helmUpgradeInstall', 'helmRollback', 'waitReleaseRollout'])
    assert.ok(!mock.names().includes(acting), `${acting} ran`);
  assert.deepEqual(
    mock.names().filter((n) => n === 'writeBackup'),
    ['writeBackup'],
  );
});

test('pre-upgrade backup: a config that cannot back up fails validation up front, naming the field', async () => {
  const mock = mockActivities();
  const cause = await withUpgrade(
    await testTemporal(),
    mock,
    { ...baseInput, backup: { hmacKey: { env: 'bad name' }, retention: { keepLast: 0 } } },
    failureOf,
  );
  assert.equal(cause.type, INVALID_INPUT);
  assert.match(cause.message, /backup\.recipients: Secrets are never written in plain text/);
  assert.match(cause.message, /backup\.hmacKey: is the worker's configuration now, not an input/);
  assert.match(cause.message, /backup\.retention\.keepLast/);
  assert.deepEqual(mock.calls, []);
});

test("pre-upgrade backup without backup config: the nightly backup's recipients if configured, else none (said in the report)", async () => {
  const env = await testTemporal();
  const configured = mockActivities({
    defaultBackupRecipients: async () => ({
      recipients: [TEST_RECIPIENT],
      source: 'RUNBOOK_BACKUP_RECIPIENTS of the worker',
    }),
  });
  const withKeys = await withUpgrade(env, configured, baseInput, (h) => h.result() as Promise<UpgradeReport>);
  assert.ok(withKeys.backup && 'backupId' in withKeys.backup, JSON.stringify(withKeys.backup));
  const write = configured.calls.find((c) => c.name === 'writeBackup')!.arg as Record<string, unknown>;
  assert.deepEqual(write.recipients, [TEST_RECIPIENT]);
  assert.deepEqual(write.include, { crds: true, secrets: true, configMaps: true, helmReleases: true, taskRuns: true });
  assert.deepEqual(configured.calls.find((c) => c.name === 'defaultBackupRecipients')!.arg, {
    namespace: 'orchestrator',
  });

  const none = mockActivities();
  const without = await withUpgrade(env, none, baseInput, (h) => h.result() as Promise<UpgradeReport>);
  assert.equal(without.outcome, 'succeeded');
  assert.match(
    (without.backup as { skipped: string }).skipped,
    /no backup config in the input and no age recipients configured \(ConfigMap orchestrator\/backup-recipients/,
  );
  assert.ok(!none.names().includes('writeBackup'));

  const off = mockActivities({
    defaultBackupRecipients: async () => ({ recipients: [TEST_RECIPIENT], source: 'env' }),
  });
  const disabled = await withUpgrade(
    env,
    off,
    { ...baseInput, backup: false },
    (h) => h.result() as Promise<UpgradeReport>,
  );
  assert.deepEqual(disabled.backup, { skipped: 'disabled by the input (backup: false)' });
  assert.ok(!off.names().includes('defaultBackupRecipients') && !off.names().includes('writeBackup'));
});

test('pre-upgrade backup: re-running an upgrade with the same workflow id reuses its backup id', async () => {
  const env = await testTemporal();
  const workflowId = uniqueTaskQueue('upgradePlatform');
  const input = { ...baseInput, backup: { recipients: [TEST_RECIPIENT] } };
  const written = new Set<string>();
  const reusing = () =>
    mockActivities({
      writeBackup: async (arg: { workflowId: string }) => {
        const reused = written.has(arg.workflowId);
        written.add(arg.workflowId);
        return writtenBackup(arg, { dir: '/b', reused });
      },
    });
  const first = await withUpgrade(env, reusing(), input, (h) => h.result() as Promise<UpgradeReport>, workflowId);
  const second = await withUpgrade(env, reusing(), input, (h) => h.result() as Promise<UpgradeReport>, workflowId);
  assert.deepEqual(
    [first.backup, second.backup].map((b) => b && 'backupId' in b && [b.backupId, b.reused]),
    [
      [`${workflowId}-backup`, false],
      [`${workflowId}-backup`, true],
    ],
  );
});

test('deadline: with no decision within 24 hours the paused upgrade rolls back (time-skipping server)', async () => {
  const env = await startTimeSkipping();
  after(() => env.teardown());
  const mock = mockActivities({ waitReleaseRollout: (_arg, attempt) => failFirst(attempt) });
  const report = await withUpgrade(env, mock, baseInput, (h) => h.result() as Promise<UpgradeReport>);
  assert.equal(report.outcome, 'rolled-back');
  assert.equal(report.decisions[0]?.by, 'deadline');
  assert.match(report.decisions[0]?.reason ?? '', /no decision within 86400 s/);
});
