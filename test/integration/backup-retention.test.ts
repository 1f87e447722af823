// Retention acts on one series (namespace + the schedule or runbook that took the backups), read from
// each backup's authenticated manifest: a backup of a scratch namespace with keepLast 1 (or maxAgeDays 0)
// deletes none of another namespace's backups, nor backups whose manifest does not authenticate.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { before, test } from 'node:test';
import type { BackupReport } from '../../contract/types/backup.ts';
import { uniqueNamespace, useTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal.ts';
import { startWorkerStack } from '../helpers/worker-stack.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const platform = uniqueNamespace('retention-orch');
const scratch = uniqueNamespace('retention-scratch');
process.env.RETENTION_TEST_HMAC_KEY = randomBytes(32).toString('hex');
// The worker's backup key (its configuration, never an input).
const backupKeys = { hmacKey: { env: 'RETENTION_TEST_HMAC_KEY' } };
const store = mkdtempSync(join(tmpdir(), 'backup-retention-store-'));
const include = { crds: false, secrets: false, helmReleases: false, taskRuns: false, configMaps: true };

let temporal: TestTemporal;
let cluster: TestCluster;
let taskQueue: string;

before(async () => {
  const stack = {
    prefix: 'retention',
    deps: { backupDir: store, backupKeys },
    namespaces: [platform, scratch],
    dirs: [store],
  };
  ({ temporal, cluster, taskQueue } = await startWorkerStack(testTemporal, testCluster, stack));
  for (const ns of [platform, scratch]) {
    await cluster.kubectl(['create', 'namespace', ns]);
    await cluster.kubectl(['create', 'configmap', 'settings', '-n', ns, '--from-literal=k=v']);
  }
});

async function backup(
  namespace: string,
  retention?: { keepLast?: number; maxAgeDays?: number },
): Promise<BackupReport> {
  return (await temporal.client.workflow.execute('backupPlatform', {
    taskQueue,
    workflowId: uniqueTaskQueue('backupPlatform'),
    args: [{ namespace, include, ...(retention ? { retention } : {}) }],
  })) as BackupReport;
}

const stored = () =>
  readdirSync(store)
    .filter((d) => !d.startsWith('.'))
    .sort();

test('a backup of a scratch namespace with keepLast 1 or maxAgeDays 0 deletes no backup of another namespace', async () => {
  const platformBackups = [];
  for (let i = 0; i < 3; i++) platformBackups.push((await backup(platform)).backupId);
  // A directory whose manifest does not authenticate (no HMAC): never deleted by retention.
  mkdirSync(join(store, 'unsigned'));
  writeFileSync(
    join(store, 'unsigned', 'manifest.json'),
    JSON.stringify({ createdAt: '2020-01-01T00:00:00.000Z', namespace: scratch, series: 'backupPlatform' }),
  );

  const first = await backup(scratch, { keepLast: 1 });
  assert.deepEqual(first.retention?.deleted, []);
  assert.equal(first.retention?.series, 'backupPlatform');
  const manifest = JSON.parse(readFileSync(join(store, first.backupId, 'manifest.json'), 'utf8')) as {
    series: string;
    namespace: string;
  };
  assert.deepEqual([manifest.series, manifest.namespace], ['backupPlatform', scratch]);
  assert.deepEqual(stored(), [...platformBackups, first.backupId, 'unsigned'].sort());

  const second = await backup(scratch, { maxAgeDays: 0 });
  // Its own series: the first scratch backup is older than 0 days and goes; nothing else does.
  assert.deepEqual(second.retention?.deleted, [first.backupId]);
  assert.deepEqual(stored(), [...platformBackups, second.backupId, 'unsigned'].sort());

  // The platform's own series still expires its own backups.
  const newest = await backup(platform, { keepLast: 1 });
  assert.deepEqual([...(newest.retention?.deleted ?? [])].sort(), [...platformBackups].sort());
  assert.deepEqual(stored(), [newest.backupId, second.backupId, 'unsigned'].sort());
});
