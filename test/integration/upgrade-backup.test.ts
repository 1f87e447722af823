// upgradePlatform's pre-upgrade backup end to end: real dev server, in-process worker with real
// activities, real local cluster and helm. The child backupPlatform writes a real backup of the
// release's namespace before helm runs; the report names it, and restorePlatform accepts that id.
// Recipients from the ConfigMap backup-recipients when the input has no backup config.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { before, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import type { RestoreReport } from '../../contract/types/backup.ts';
import { type UpgradeReport } from '../../contract/types/upgrade.ts';
import { UPGRADE_BACKUP_FAILED } from '../../contract/failures.ts';
import { uniqueNamespace, useTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { startProbeServer } from '../helpers/http-probe-server.ts';
import { uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal.ts';
import { setTestSecret } from '../helpers/secrets.ts';
import { deploymentImage, helmHistory } from '../helpers/release-state.ts';
import { startWorkerStack } from '../helpers/worker-stack.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const namespace = uniqueNamespace('upgrade-backup');
const SECRET_VALUE = `api-${randomBytes(10).toString('hex')}`;
setTestSecret('UPGRADE_BACKUP_TEST_API_KEY', SECRET_VALUE);
const HMAC_KEY = randomBytes(32).toString('hex');
setTestSecret('UPGRADE_BACKUP_TEST_HMAC_KEY', HMAC_KEY);
process.env.UPGRADE_BACKUP_TEST_IDENTITY = '';
// The default under test: the in-process worker reads it from this process's environment.
delete process.env.RUNBOOK_BACKUP_RECIPIENTS;
// The worker's backup keys (its configuration, never an input).
const backupKeys = {
  hmacKey: { env: 'UPGRADE_BACKUP_TEST_HMAC_KEY' },
  identity: { env: 'UPGRADE_BACKUP_TEST_IDENTITY' },
};
const store = mkdtempSync(join(tmpdir(), 'upgrade-backup-store-'));

let temporal: TestTemporal;
let cluster: TestCluster;
let taskQueue: string;
let recipient: string;
let healthUrl: string;

before(async () => {
  const identity = await generateX25519Identity();
  setTestSecret('UPGRADE_BACKUP_TEST_IDENTITY', identity);
  recipient = await identityToRecipient(identity);
  const stack = {
    prefix: 'upgrade-backup',
    deps: { backupDir: store, backupKeys },
    namespaces: [namespace],
    dirs: [store],
  };
  ({ temporal, cluster, taskQueue } = await startWorkerStack(testTemporal, testCluster, stack));
  const probe = await startProbeServer();
  healthUrl = probe.url('/health');
  cluster.defer(() => probe.close());
  await execute('deployPlatform', {
    namespace,
    values: { image: { tag: '1.0.0' } },
    healthUrl,
    secrets: [
      {
        name: 'orchestrator-secrets',
        keys: [{ key: 'ANTHROPIC_API_KEY', from: { env: 'UPGRADE_BACKUP_TEST_API_KEY' } }],
      },
    ],
  });
});

async function execute<T>(workflow: string, input: unknown, workflowId = uniqueTaskQueue(workflow)): Promise<T> {
  return (await temporal.client.workflow.execute(workflow, { taskQueue, workflowId, args: [input] })) as T;
}

const helmRevision = async () => (await helmHistory(cluster, namespace)).at(-1)!.revision;

test('upgradePlatform backs the release up as child <id>-backup before helm; the report names a backup that restorePlatform accepts', async () => {
  const workflowId = uniqueTaskQueue('upgradePlatform');
  const report = await execute<UpgradeReport>(
    'upgradePlatform',
    { namespace, imageTag: '1.1.0', smokeTest: { healthUrl }, backup: { recipients: [recipient] } },
    workflowId,
  );
  assert.equal(report.outcome, 'succeeded');
  assert.ok(report.backup && 'backupId' in report.backup, JSON.stringify(report.backup));
  assert.equal(report.backup.backupId, `${workflowId}-backup`);
  assert.equal(report.backup.counts.helmReleases, 1); // revision 1 only: the backup was taken before the upgrade
  assert.equal(report.backup.counts.secrets, 1);
  assert.ok(existsSync(join(store, report.backup.backupId, 'manifest.json')));
  assert.equal(await helmRevision(), 2);
  const plan = await execute<RestoreReport>('restorePlatform', {
    backupId: report.backup.backupId,
    targetNamespace: `${namespace}-x`,
    dryRun: true,
  });
  assert.equal(plan.verified.sourceNamespace, namespace);
  assert.deepEqual(plan.plan.kinds.find((k) => k.kind === 'helmReleases')?.total, 1);
});

test('without backup config: no recipients -> no backup, said in the report; recipients in the ConfigMap backup-recipients -> a backup (or a failed upgrade when it cannot be taken)', async () => {
  const without = await execute<UpgradeReport>('upgradePlatform', {
    namespace,
    imageTag: '1.2.0',
    smokeTest: { healthUrl },
  });
  assert.equal(without.outcome, 'succeeded');
  assert.match(
    (without.backup as { skipped: string }).skipped,
    new RegExp(`no age recipients configured \\(ConfigMap ${namespace}/backup-recipients`),
  );

  await cluster.kubectl([
    'create',
    'configmap',
    'backup-recipients',
    '-n',
    namespace,
    `--from-literal=recipients=# ops key\n${recipient}\n`,
  ]);
  // The worker's HMAC key (UPGRADE_BACKUP_TEST_HMAC_KEY) unset: the backup fails before helm.
  const revision = await helmRevision();
  delete process.env.UPGRADE_BACKUP_TEST_HMAC_KEY;
  const err = await execute('upgradePlatform', { namespace, imageTag: '1.3.0', smokeTest: { healthUrl } }).then(
    () => undefined,
    (e: unknown) => e,
  );
  process.env.UPGRADE_BACKUP_TEST_HMAC_KEY = HMAC_KEY;
  assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
  assert.equal(err.cause.type, UPGRADE_BACKUP_FAILED);
  assert.match(
    err.cause.message,
    /nothing was upgraded: environment variable UPGRADE_BACKUP_TEST_HMAC_KEY is not set on the worker/,
  );
  assert.equal(await helmRevision(), revision);
  assert.equal(await deploymentImage(cluster, namespace), 'ghcr.io/example/orchestrator:1.2.0');

  const workflowId = uniqueTaskQueue('upgradePlatform');
  const backedUp = await execute<UpgradeReport>(
    'upgradePlatform',
    { namespace, imageTag: '1.3.0', smokeTest: { healthUrl } },
    workflowId,
  );
  assert.equal(backedUp.outcome, 'succeeded');
  assert.ok(backedUp.backup && 'backupId' in backedUp.backup, JSON.stringify(backedUp.backup));
  assert.equal(backedUp.backup.backupId, `${workflowId}-backup`);
  assert.ok(existsSync(join(store, backedUp.backup.backupId, 'secrets.jsonl.gz.age')));
});
