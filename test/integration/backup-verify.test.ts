// backupAndVerify end to end: real dev server, in-process worker with real activities, real local cluster.
// A namespace with ConfigMaps, Secrets and TaskRuns (with status) is backed up, restored into a scratch
// namespace, compared object by object, and the scratch namespace is gone afterwards. Then the comparison
// finds changed, missing and extra objects, the scratch guards refuse a namespace that is not theirs,
// and the nightly schedule with verification runs it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { execa } from 'execa';
import type { ActivityDeps } from '../../activities/deps.ts';
import { listBackups } from '../../activities/backup/store.ts';
import {
  compareRestoredBackup,
  deleteScratchNamespace,
  prepareScratchNamespace,
} from '../../activities/backup/verification.ts';
import { ensureNightlyBackupSchedule } from '../../client/schedules.ts';
import { toolPath } from '../../scripts/stack/tools.ts';
import { INVALID_INPUT } from '../../contract/failures.ts';
import type { BackupVerifyReport } from '../../contract/types/backup-verify.ts';
import type { RestoreReport } from '../../contract/types/backup.ts';
import { uniqueNamespace, useTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal.ts';
import { applyObjects } from '../helpers/apply-objects.ts';
import { startWorkerStack } from '../helpers/worker-stack.ts';
import { historyText } from '../helpers/history-text.ts';
import { installTaskRunCrd, taskRunCrdExists } from '../helpers/taskrun.ts';
import { taskRunObject, taskSpec } from '../helpers/taskrun-objects.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const namespace = uniqueNamespace('verify');
const SECRET_VALUE = `token-${randomBytes(12).toString('hex')}`;
process.env.VERIFY_TEST_HMAC_KEY = randomBytes(32).toString('hex');
const hmacKey = { env: 'VERIFY_TEST_HMAC_KEY' };
const identityRef = { env: 'VERIFY_TEST_AGE_IDENTITY' };
const store = mkdtempSync(join(tmpdir(), 'verify-store-'));

let temporal: TestTemporal;
let cluster: TestCluster;
let deps: ActivityDeps;
let taskQueue: string;
let recipient: string;
let verified: BackupVerifyReport;

before(async () => {
  const identity = await generateX25519Identity();
  process.env.VERIFY_TEST_AGE_IDENTITY = identity;
  recipient = await identityToRecipient(identity);
  const stack = { prefix: 'verify', deps: { backupDir: store, backupKeys: { hmacKey, identity: identityRef } } };
  ({ temporal, cluster, taskQueue, deps } = await startWorkerStack(testTemporal, testCluster, stack));
  // TaskRuns need the CRD: applied if missing, and left in place (files beside this one use it too).
  if (!(await taskRunCrdExists(cluster))) await installTaskRunCrd(cluster, 'platform-runbooks');
  cluster.defer(async () => {
    for (const ns of [namespace, `${namespace}-copy`])
      await cluster.kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
    rmSync(store, { recursive: true, force: true });
  });
  const configMaps = ['cm-a', 'cm-b', 'cm-c'].map((name, i) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels: { team: 'a' } },
    data: { 'config.yaml': `n: ${i}\n` },
  }));
  const secrets = [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'api-keys', namespace },
      type: 'Opaque',
      stringData: { TOKEN: SECRET_VALUE },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'tls', namespace, annotations: { note: 'x' } },
      type: 'Opaque',
      stringData: { 'tls.key': 'k' },
    },
  ];
  const taskRuns = ['t-1', 't-2', 't-3'].map((name) => taskRunObject({ name, namespace }, taskSpec(name)));
  await cluster.kubectl(['create', 'namespace', namespace]);
  await applyObjects(cluster, ...configMaps, ...secrets, ...taskRuns);
  await cluster.kubectl([
    'patch',
    'taskrun',
    't-1',
    '-n',
    namespace,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status: { phase: 'Succeeded', jobName: 'job-t-1' } }),
  ]);
});

const backupInput = () => ({ namespace, recipients: [recipient] });

async function namespaceGone(name: string): Promise<boolean> {
  const r = await execa(toolPath('kubectl'), ['get', 'namespace', name, '--kubeconfig', cluster.kubeconfigPath], {
    reject: false,
  });
  return r.exitCode !== 0 && /NotFound/.test(r.stderr);
}

test('backupAndVerify: backs up, restores into a scratch namespace, finds every object equal, deletes the scratch namespace', async () => {
  const workflowId = uniqueTaskQueue('backupAndVerify');
  const started = Date.now();
  verified = (await temporal.client.workflow.execute('backupAndVerify', {
    taskQueue,
    workflowId,
    args: [{ backup: backupInput() }],
  })) as BackupVerifyReport;
  const seconds = (Date.now() - started) / 1000;
  assert.equal(verified.outcome, 'verified');
  assert.equal(verified.backupId, `${workflowId}-backup`);
  assert.deepEqual(verified.backup.counts, { crds: 1, secrets: 2, configMaps: 3, helmReleases: 0, taskRuns: 3 });
  const v = verified.verification!;
  assert.match(v.scratchNamespace, new RegExp(`^${namespace}-verify-[0-9a-f]{8}$`));
  assert.deepEqual(
    v.comparison.kinds.map((k) => [k.kind, k.backup, k.restored, k.matching, k.equal]),
    [
      ['secrets', 2, 2, 2, true],
      ['configMaps', 3, 3, 3, true],
      ['taskRuns', 3, 3, 3, true],
    ],
  );
  assert.ok(
    v.comparison.kinds.every((k) => k.source.count === k.backup && k.source.changedSinceBackup === 0),
    JSON.stringify(v.comparison.kinds),
  );
  assert.deepEqual(v.cleanup, { deleted: true });
  assert.ok(await namespaceGone(v.scratchNamespace), `${v.scratchNamespace} still exists`);
  // The verification is recorded next to the backup (authenticated): retention keeps the newest verified backup of its series.
  const listed = (await listBackups(store, process.env.VERIFY_TEST_HMAC_KEY)).find((b) => b.id === verified.backupId);
  assert.deepEqual(
    [listed?.authentic, listed?.verified, listed?.series, listed?.namespace],
    [true, true, workflowId, namespace],
  );
  // No secret value in any of the three histories.
  for (const id of [workflowId, `${workflowId}-backup`, `${workflowId}-restore`])
    assert.ok(!(await historyText(temporal.client, id)).includes(SECRET_VALUE), `secret value in the history of ${id}`);
  console.log(`backupAndVerify: ${seconds.toFixed(1)} s`);
});

test('the comparison finds changed, missing and extra objects, and never returns a Secret value', async () => {
  const copy = `${namespace}-copy`;
  const restore = (await temporal.client.workflow.execute('restorePlatform', {
    taskQueue,
    workflowId: uniqueTaskQueue('restorePlatform'),
    args: [{ backupId: verified.backupId, targetNamespace: copy, include: { crds: false, helmReleases: false } }],
  })) as RestoreReport;
  assert.ok(restore.verify?.every((k) => k.found === k.expected));
  const req = {
    backupId: verified.backupId,
    include: { crds: false, secrets: true, configMaps: true, helmReleases: false, taskRuns: true },
    targetNamespace: copy,
    sourceNamespace: namespace,
  };
  const equal = await compareRestoredBackup(deps, req);
  assert.equal(equal.equal, true, JSON.stringify(equal));

  await cluster.kubectl([
    'patch',
    'secret',
    'api-keys',
    '-n',
    copy,
    '--type=merge',
    '-p',
    JSON.stringify({ stringData: { TOKEN: 'changed' } }),
  ]);
  await cluster.kubectl(['delete', 'configmap', 'cm-b', '-n', copy]);
  await cluster.kubectl(['create', 'configmap', 'cm-new', '-n', copy, '--from-literal=a=b']);
  await cluster.kubectl([
    'patch',
    'taskrun',
    't-1',
    '-n',
    copy,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status: { phase: 'Failed' } }),
  ]);
  await cluster.kubectl(['label', 'taskrun', 't-2', '-n', namespace, 'changed=yes']); // the source changed since the backup
  const different = await compareRestoredBackup(deps, req);
  assert.equal(different.equal, false);
  const byKind = Object.fromEntries(different.kinds.map((k) => [k.kind, k]));
  assert.deepEqual([byKind.secrets!.differing, byKind.secrets!.matching], [['api-keys'], 1]);
  assert.deepEqual(
    [byKind.configMaps!.missing, byKind.configMaps!.extra, byKind.configMaps!.restored],
    [['cm-b'], ['cm-new'], 3],
  );
  assert.deepEqual(byKind.taskRuns!.differing, ['t-1']);
  assert.equal(byKind.taskRuns!.source.changedSinceBackup, 1);
  const text = JSON.stringify(different);
  assert.ok(!text.includes(SECRET_VALUE) && !text.includes(Buffer.from(SECRET_VALUE).toString('base64')));
});

test('the scratch guards: an existing namespace without the owner label is neither used nor deleted', async () => {
  const refused = (err: unknown) => err instanceof ApplicationFailure && err.type === INVALID_INPUT;
  await assert.rejects(prepareScratchNamespace(deps, { name: namespace, owner: 'backup-verify-00000000' }), refused);
  await assert.rejects(
    deleteScratchNamespace(deps, { name: namespace, owner: 'backup-verify-00000000', timeoutSeconds: 10 }),
    refused,
  );
  assert.ok(!(await namespaceGone(namespace)));
  // Its own namespace: created with the label, reused by a retry, deleted, and deleting it again is a no-op.
  const own = `${namespace}-s`;
  assert.deepEqual(await prepareScratchNamespace(deps, { name: own, owner: 'backup-verify-12345678' }), {
    name: own,
    created: true,
  });
  assert.deepEqual(await prepareScratchNamespace(deps, { name: own, owner: 'backup-verify-12345678' }), {
    name: own,
    created: false,
  });
  await assert.rejects(
    deleteScratchNamespace(deps, { name: own, owner: 'backup-verify-87654321', timeoutSeconds: 10 }),
    refused,
  );
  assert.deepEqual(
    await deleteScratchNamespace(deps, { name: own, owner: 'backup-verify-12345678', timeoutSeconds: 60 }),
    { name: own, deleted: true },
  );
  assert.ok(await namespaceGone(own));
  assert.deepEqual(
    await deleteScratchNamespace(deps, { name: own, owner: 'backup-verify-12345678', timeoutSeconds: 10 }),
    { name: own, deleted: false },
  );
});

test('the nightly schedule with verification runs backupAndVerify', async () => {
  const scheduleId = uniqueTaskQueue('nightly-verify');
  assert.equal(
    await ensureNightlyBackupSchedule(temporal.client, { scheduleId, taskQueue, input: backupInput(), verify: true }),
    'created',
  );
  const handle = temporal.client.schedule.getHandle(scheduleId);
  temporal.defer(() => handle.delete());
  const description = await handle.describe();
  assert.equal(description.action.type === 'startWorkflow' && description.action.workflowType, 'backupAndVerify');
  await handle.trigger();
  let workflowId: string | undefined;
  for (let i = 0; i < 120 && !workflowId; i++) {
    workflowId = (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId;
    if (!workflowId) await sleep(250);
  }
  assert.ok(workflowId, 'the schedule started nothing');
  const report = (await temporal.client.workflow.getHandle(workflowId).result()) as BackupVerifyReport;
  assert.equal(report.outcome, 'verified');
  assert.ok(report.verification && (await namespaceGone(report.verification.scratchNamespace)));
});
