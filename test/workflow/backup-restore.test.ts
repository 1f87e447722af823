// backupPlatform and restorePlatform with mocked activities, on the real dev server: every branch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { INVALID_INPUT, SECRET_REF_UNRESOLVED } from '../../contract/failures.ts';
import { progressQuery } from '../../contract/messages.ts';
import { RESTORE_INCOMPLETE } from '../../contract/failures.ts';
import { type BackupReport, type RestoreReport } from '../../contract/types/backup.ts';
import { BACKUP_INVALID, VOLUME_SNAPSHOT_FAILED } from '../../contract/failures.ts';
import { BACKUP_COUNTS, TEST_RECIPIENT, writtenBackup } from '../helpers/backup-mocks.ts';
import { plannedRestoreKinds, restoredObjectsMocks } from '../helpers/restore-mocks.ts';
import { failsWith } from '../helpers/failing-activity.ts';
import { recordedMocks, type RecordedMocks } from '../helpers/recorded-mocks.ts';
import { uniqueTaskQueue, useTestTemporal, withTestWorker } from '../helpers/temporal.ts';

const testTemporal = useTestTemporal();
type Behaviour = (arg: never) => Promise<unknown>;
const helmObjects = { releases: [{ name: 'orchestrator', revision: 2, objects: 7 }], total: 7, existing: 0 };
const snapshot = {
  name: 'b1-workspace-12345678',
  namespace: 'orchestrator',
  pvc: 'workspace',
  size: '1Gi',
  storageClass: 'fast',
  accessModes: ['ReadWriteOnce'],
  volumeSnapshotClass: 'csi-snap',
  readyToUse: true,
};
const volumesPlan = {
  total: 2,
  existing: 0,
  unavailable: [
    { pvc: 'cache', snapshot: 'orchestrator/b1-cache-12345678', reason: 'the VolumeSnapshot no longer exists' },
  ],
};

function mock(behaviour: Record<string, Behaviour> = {}): RecordedMocks {
  const defaults: Record<string, Behaviour> = {
    planBackup: async () => ({
      namespace: 'orchestrator',
      counts: BACKUP_COUNTS,
      helmRelease: { name: 'orchestrator', revision: 2, chart: 'orchestrator', chartVersion: '0.1.0' },
      volumeSnapshots: { pvcs: 1, snapshotted: 0, skippedReason: 'no VolumeSnapshot CRD' },
    }),
    writeBackup: async (arg: { workflowId: string }) => writtenBackup(arg),
    applyBackupRetention: async () => ({ kept: ['b2'], deleted: ['b0', 'b1'] }),
    verifyBackup: async () => ({
      id: 'b1',
      createdAt: '2026-11-26T02:00:00Z',
      cluster: 'https://k',
      sourceNamespace: 'orchestrator',
      counts: BACKUP_COUNTS,
      filesVerified: 5,
    }),
    planRestore: async (arg: { targetNamespace?: string; include: Record<string, boolean> }) => ({
      targetNamespace: arg.targetNamespace ?? 'orchestrator',
      namespaceExists: false,
      kinds: plannedRestoreKinds(arg.include),
      ...(arg.include.helmReleases ? { helmObjects } : {}),
    }),
    snapshotVolumes: async (arg: { volumeSnapshotClass: string }) => ({
      pvcs: 2,
      snapshotted: 1,
      volumeSnapshotClass: arg.volumeSnapshotClass,
      snapshots: [snapshot],
      skippedPvcs: [{ pvc: 'scratch', reason: 'not Bound (Pending): nothing to snapshot' }],
    }),
    restoreHelmObjects: async () => ({
      releases: helmObjects.releases,
      created: 7,
      updated: 0,
      skipped: 0,
      adopted: 0,
    }),
    restoreVolumes: async () => ({
      created: ['workspace'],
      skipped: [],
      unavailable: [
        { pvc: 'cache', snapshot: 'orchestrator/b1-cache-12345678', reason: 'the VolumeSnapshot no longer exists' },
      ],
    }),
    ensureNamespaces: async (names: string[]) => names.map((name) => ({ name, changed: true })),
    ...restoredObjectsMocks(),
  };
  return recordedMocks(defaults, behaviour);
}

async function run<T>(
  workflow: string,
  input: unknown,
  m: ReturnType<typeof mock>,
  workflowId = uniqueTaskQueue(workflow),
): Promise<{ result: T; steps: string[] }> {
  const env = await testTemporal();
  return withTestWorker(env, m.activities, 'backup-wf', async (taskQueue) => {
    const handle = await env.client.workflow.start(workflow, { taskQueue, workflowId, args: [input] });
    const result = (await handle.result()) as T;
    const steps = (await handle.query(progressQuery)).steps.map((s) => `${s.name}:${s.status}`);
    return { result, steps };
  });
}

async function failure(workflow: string, input: unknown, m: ReturnType<typeof mock>): Promise<ApplicationFailure> {
  try {
    await run(workflow, input, m);
  } catch (err) {
    assert.ok(err instanceof WorkflowFailedError);
    const cause = err.cause instanceof ApplicationFailure ? err.cause : err.cause?.cause;
    assert.ok(cause instanceof ApplicationFailure, String(err.cause));
    return cause;
  }
  throw new Error('the workflow did not fail');
}

test('backupPlatform: plan, capture with the workflow ID as backup id, retention', async () => {
  const m = mock();
  const { result, steps } = await run<BackupReport>(
    'backupPlatform',
    { recipients: [TEST_RECIPIENT], retention: { keepLast: 1 } },
    m,
    'backup-wf-fixed-id',
  );
  assert.deepEqual(m.names(), ['planBackup', 'writeBackup', 'applyBackupRetention']);
  assert.equal(m.calls[1]!.arg.workflowId, 'backup-wf-fixed-id');
  // The HMAC key is the worker's configuration: nothing in the activity's input names it.
  assert.equal(m.calls[1]!.arg.hmacKey, undefined);
  // A manual run: the series is the runbook's name; retention acts on it only (the activity reads it back from the authenticated manifest).
  assert.equal(m.calls[1]!.arg.series, 'backupPlatform');
  assert.deepEqual(m.calls[2]!.arg, {
    policy: { keepLast: 1 },
    protect: 'backup-wf-fixed-id',
    namespace: 'orchestrator',
  });
  assert.equal(result.backupId, 'backup-wf-fixed-id');
  assert.deepEqual(result.retention?.deleted, ['b0', 'b1']);
  assert.deepEqual(steps, [
    'validate:succeeded',
    'plan:succeeded',
    'snapshots:skipped',
    'capture:succeeded',
    'retention:succeeded',
    'report:succeeded',
  ]);
  // Without a VolumeSnapshotClass, the plan's reason is what the manifest records.
  assert.deepEqual(m.calls[1]!.arg.volumeSnapshots, {
    pvcs: 1,
    snapshotted: 0,
    skippedReason: 'no VolumeSnapshot CRD',
  });
  assert.equal(result.volumeSnapshots.skippedReason, 'no VolumeSnapshot CRD');
});

test('backupPlatform: with a VolumeSnapshotClass, PVCs are snapshotted before the capture, which records them', async () => {
  const m = mock({
    planBackup: async () => ({
      namespace: 'orchestrator',
      counts: BACKUP_COUNTS,
      helmRelease: null,
      volumeSnapshots: { pvcs: 2, snapshotted: 0, volumeSnapshotClass: 'csi-snap' },
    }),
  });
  const { result, steps } = await run<BackupReport>(
    'backupPlatform',
    { recipients: [TEST_RECIPIENT], volumeSnapshotClass: 'csi-snap', timeoutSeconds: 300 },
    m,
    'backup-wf-snap',
  );
  assert.deepEqual(m.names(), ['planBackup', 'snapshotVolumes', 'writeBackup']);
  assert.equal(m.calls[0]!.arg.volumeSnapshotClass, 'csi-snap');
  assert.deepEqual(m.calls[1]!.arg, {
    workflowId: 'backup-wf-snap',
    namespace: 'orchestrator',
    volumeSnapshotClass: 'csi-snap',
    timeoutSeconds: 300,
  });
  const recorded = m.calls[2]!.arg.volumeSnapshots as BackupReport['volumeSnapshots'];
  assert.equal(recorded.snapshotted, 1);
  assert.deepEqual(recorded.snapshots, [snapshot]);
  assert.deepEqual(result.volumeSnapshots, recorded);
  assert.ok(steps.includes('snapshots:succeeded'), steps.join());
});

test('backupPlatform: a snapshot that never gets ready fails the run before anything is written', async () => {
  let attempts = 0;
  const m = mock({
    planBackup: async () => ({
      namespace: 'orchestrator',
      counts: BACKUP_COUNTS,
      helmRelease: null,
      volumeSnapshots: { pvcs: 1, snapshotted: 0, volumeSnapshotClass: 'csi-snap' },
    }),
    snapshotVolumes: async () => {
      attempts++;
      throw ApplicationFailure.create({
        type: VOLUME_SNAPSHOT_FAILED,
        message: 'VolumeSnapshots not readyToUse after 60s: b1-workspace-12345678',
        nonRetryable: true,
      });
    },
  });
  const err = await failure('backupPlatform', { recipients: [TEST_RECIPIENT] }, m);
  assert.equal(err.type, VOLUME_SNAPSHOT_FAILED);
  assert.equal(attempts, 1);
  assert.deepEqual(m.names(), ['planBackup', 'snapshotVolumes']);
});

test('backupPlatform: a volumeSnapshotClass that is not a name is an input error', async () => {
  const m = mock();
  const err = await failure('backupPlatform', { recipients: [TEST_RECIPIENT], volumeSnapshotClass: 'Not_A_Name' }, m);
  assert.equal(err.type, INVALID_INPUT);
  assert.match(err.message, /volumeSnapshotClass: must be a VolumeSnapshotClass name/);
  assert.deepEqual(m.calls, []);
});

test('backupPlatform: no retention policy skips the step; recipientsFrom is passed through', async () => {
  const m = mock();
  const recipientsFrom = { configMap: { name: 'backup-recipients', key: 'recipients' } };
  const { steps } = await run<BackupReport>('backupPlatform', { recipientsFrom }, m);
  assert.deepEqual(m.names(), ['planBackup', 'writeBackup']);
  assert.deepEqual(m.calls[1]!.arg.recipientsFrom, recipientsFrom);
  assert.ok(steps.includes('retention:skipped'));
});

test('backupPlatform: without recipients, secrets are refused unless excluded', async () => {
  const m = mock();
  const err = await failure('backupPlatform', {}, m);
  assert.equal(err.type, INVALID_INPUT);
  assert.match(err.message, /never written in plain text.*include.secrets and include.helmReleases/);
  assert.deepEqual(m.calls, []);
  const ok = mock();
  await run('backupPlatform', { include: { secrets: false, helmReleases: false } }, ok);
  assert.deepEqual(ok.calls[1]!.arg.include as Record<string, boolean>, {
    crds: true,
    secrets: false,
    configMaps: true,
    helmReleases: false,
    taskRuns: true,
  });
});

test('backupPlatform: bad fields are named; an unresolved HMAC key fails without retries', async () => {
  const m = mock();
  const err = await failure(
    'backupPlatform',
    { recipients: ['ssh-rsa x'], retention: { keepLast: 0 }, namespace: 'Bad' },
    m,
  );
  assert.match(err.message, /recipients.0: must be an age recipient/);
  assert.match(err.message, /retention.keepLast/);
  assert.match(err.message, /namespace/);
  let attempts = 0;
  const unresolved = mock({
    writeBackup: async () => {
      attempts++;
      throw ApplicationFailure.create({
        type: SECRET_REF_UNRESOLVED,
        message: 'environment variable RUNBOOK_BACKUP_HMAC_KEY is not set on the worker',
        nonRetryable: true,
      });
    },
  });
  const e2 = await failure('backupPlatform', { recipients: [TEST_RECIPIENT] }, unresolved);
  assert.equal(e2.type, SECRET_REF_UNRESOLVED);
  assert.equal(attempts, 1);
});

test('restorePlatform: verify, plan, then namespace -> CRD (Established) -> Secrets -> ConfigMaps -> Helm records -> Helm objects -> TaskRuns -> check', async () => {
  const m = mock();
  const { result, steps } = await run<RestoreReport>(
    'restorePlatform',
    { backupId: 'b1', targetNamespace: 'scratch' },
    m,
  );
  assert.deepEqual(m.names(), [
    'verifyBackup',
    'planRestore',
    'ensureNamespaces',
    'restoreKind',
    'waitCrdsEstablished',
    'restoreKind',
    'restoreKind',
    'restoreKind',
    'restoreHelmObjects',
    'restoreKind',
    'countRestored',
  ]);
  assert.deepEqual(
    m.calls.filter((c) => c.name === 'restoreKind').map((c) => c.arg.kind),
    ['crds', 'secrets', 'configMaps', 'helmReleases', 'taskRuns'],
  );
  assert.ok(
    m.calls
      .filter((c) => c.name === 'restoreKind')
      .every((c) => c.arg.targetNamespace === 'scratch' && c.arg.existing === 'skip'),
  );
  assert.deepEqual(m.calls[2]!.arg, ['scratch']);
  const helm = m.calls.find((c) => c.name === 'restoreHelmObjects')!.arg;
  assert.equal(helm.targetNamespace, 'scratch');
  assert.equal(helm.existing, 'skip');
  assert.equal(result.restored.length, 5);
  assert.equal(result.helmObjects?.created, 7);
  assert.equal(result.volumes, undefined);
  // Into scratch, not the backed-up namespace: no maintenance lease.
  assert.deepEqual(
    steps.filter((s) => !s.endsWith(':succeeded')),
    ['lease:skipped', 'volumes:skipped'],
  );
});

test('restorePlatform: PVCs are recreated from snapshots after the ConfigMaps, before the Helm release; gone snapshots are reported', async () => {
  const m = mock({
    planRestore: async (arg: { include: Record<string, boolean> }) => ({
      targetNamespace: 'orchestrator',
      namespaceExists: true,
      volumes: volumesPlan,
      kinds: plannedRestoreKinds(arg.include),
      helmObjects,
    }),
  });
  const { result, steps } = await run<RestoreReport>('restorePlatform', { backupId: 'b1', existing: 'update' }, m);
  const order = m.calls.map((c) => (c.name === 'restoreKind' ? String(c.arg.kind) : c.name));
  assert.deepEqual(order.slice(order.indexOf('configMaps')), [
    'configMaps',
    'restoreVolumes',
    'helmReleases',
    'restoreHelmObjects',
    'taskRuns',
    'countRestored',
  ]);
  assert.equal(m.calls.find((c) => c.name === 'restoreVolumes')!.arg.targetNamespace, 'orchestrator');
  assert.equal(m.calls.find((c) => c.name === 'restoreHelmObjects')!.arg.existing, 'update');
  assert.deepEqual(result.volumes?.created, ['workspace']);
  assert.equal(result.volumes?.unavailable[0]?.pvc, 'cache');
  assert.ok(
    steps.every((s) => s.endsWith(':succeeded')),
    steps.join(),
  );
});

test('restorePlatform: a tampered backup is refused at verify; nothing is written', async () => {
  const m = mock({
    verifyBackup: failsWith(BACKUP_INVALID, 'backup b1: taskRuns.jsonl.gz does not match its checksum'),
  });
  const err = await failure('restorePlatform', { backupId: 'b1' }, m);
  assert.equal(err.type, BACKUP_INVALID);
  assert.deepEqual(m.names(), ['verifyBackup']);
});

test('restorePlatform: dryRun returns the plan and writes nothing', async () => {
  const m = mock();
  const { result, steps } = await run<RestoreReport>('restorePlatform', { backupId: 'b1', dryRun: true }, m);
  assert.deepEqual(m.names(), ['verifyBackup', 'planRestore']);
  assert.equal(result.dryRun, true);
  assert.equal(result.plan.kinds.length, 5);
  assert.equal(result.plan.helmObjects?.total, 7);
  assert.ok(
    steps.includes('taskRuns:skipped') && steps.includes('namespace:skipped') && steps.includes('helmObjects:skipped'),
  );
});

test('restorePlatform: excluded kinds are skipped; existing=update is passed on', async () => {
  const m = mock();
  const { steps } = await run<RestoreReport>(
    'restorePlatform',
    { backupId: 'b1', include: { crds: false, secrets: false, helmReleases: false }, existing: 'update' },
    m,
  );
  assert.deepEqual(
    m.calls.filter((c) => c.name === 'restoreKind').map((c) => [c.arg.kind, c.arg.existing]),
    [
      ['configMaps', 'update'],
      ['taskRuns', 'update'],
    ],
  );
  assert.ok(!m.names().includes('waitCrdsEstablished'));
  assert.ok(!m.names().includes('restoreHelmObjects'));
  assert.ok(
    steps.includes('crds:skipped') && steps.includes('secrets:skipped') && steps.includes('helmObjects:skipped'),
  );
});

test('restorePlatform: missing objects after the restore fail the check', async () => {
  const m = mock({
    countRestored: async () => [
      { kind: 'taskRuns', expected: 3, found: 2 },
      { kind: 'helmObjects', expected: 7, found: 6 },
    ],
  });
  const err = await failure('restorePlatform', { backupId: 'b1' }, m);
  assert.equal(err.type, RESTORE_INCOMPLETE);
  assert.match(err.message, /taskRuns 2\/3, helmObjects 6\/7/);
});

test('restorePlatform: an invalid backup id is an input error', async () => {
  const m = mock();
  const err = await failure('restorePlatform', { backupId: '../etc', existing: 'replace' }, m);
  assert.equal(err.type, INVALID_INPUT);
  assert.match(err.message, /backupId: must be a backup id/);
  assert.match(err.message, /existing/);
  assert.deepEqual(m.calls, []);
});

test("restorePlatform: the cluster's own namespaces are refused as target before any activity", async () => {
  for (const targetNamespace of ['kube-system', 'default']) {
    const m = mock();
    const err = await failure('restorePlatform', { backupId: 'b1', targetNamespace }, m);
    assert.equal(err.type, INVALID_INPUT);
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /targetNamespace: must not be one of default, kube-system, kube-public, kube-node-lease/);
    assert.deepEqual(m.calls, []);
  }
});

test("backupPlatform: the series of a run whose ID ends in a Schedule's or the CLI's time is that ID's stem", async () => {
  const stem = uniqueTaskQueue('team-backup');
  const m = mock();
  await run<BackupReport>('backupPlatform', { recipients: [TEST_RECIPIENT] }, m, `${stem}-2026-11-28T12-00-00-000Z`);
  assert.equal(m.calls[1]!.arg.series, stem);
});
