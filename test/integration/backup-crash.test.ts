// backupPlatform survives a SIGKILLed worker at every step boundary of one run (after planBackup,
// after writeBackup, after applyBackupRetention): each time a new worker resumes it. The end state:
// exactly one backup directory for the workflow id, whose manifest authenticates (HMAC) and whose
// files match their checksums; retention deleted the series' old backups and nothing else (not the
// newest other one it keeps, not another series' backup in the same namespace).
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { verifyManifest } from '../../activities/backup/manifest.ts';
import { existingBackup } from '../../activities/backup/store.ts';
import type { BackupReport } from '../../contract/types/backup.ts';
import { useTestCluster, uniqueNamespace } from '../helpers/cluster.ts';
import { setTestSecret } from '../helpers/secrets.ts';
import { uniqueTaskQueue, useTestTemporal } from '../helpers/temporal.ts';
import { recordReliability } from '../reliability/report.ts';
import { crashWorkers, killAtBoundaries } from '../helpers/crash-workers.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();

test("SIGKILL after every step of backupPlatform: one backup that verifies; retention deletes only the series' expired backups", async () => {
  const temporal = await testTemporal();
  const cluster = await testCluster();
  const namespace = uniqueNamespace('backup-crash');
  const taskQueue = uniqueTaskQueue('backup-crash');
  const store = mkdtempSync(join(tmpdir(), 'backup-crash-store-'));
  const hmacKey = setTestSecret('BACKUP_CRASH_TEST_HMAC_KEY', randomBytes(32).toString('hex'));
  const secretValue = setTestSecret('BACKUP_CRASH_TEST_VALUE', `value-${randomUUID()}`);
  const recipient = await identityToRecipient(await generateX25519Identity());
  const workers = crashWorkers(temporal, cluster, taskQueue, {
    RUNBOOK_BACKUP_DIR: store,
    RUNBOOK_BACKUP_HMAC_KEY: hmacKey,
  });
  cluster.defer(async () => {
    await workers.stopAll();
    await cluster.kubectl(['delete', 'namespace', namespace, '--wait=false']);
    rmSync(store, { recursive: true, force: true });
  });
  await cluster.kubectl(['create', 'namespace', namespace]);
  await cluster.kubectl([
    'create',
    'secret',
    'generic',
    'orchestrator-secrets',
    '-n',
    namespace,
    `--from-literal=ANTHROPIC_API_KEY=${secretValue}`,
  ]);
  await cluster.kubectl(['create', 'configmap', 'settings', '-n', namespace, '--from-literal=mode=crash-test']);

  const first = await workers.start();
  // The series (workflow id without the appended time, as the CLI and Schedules append it): three
  // earlier backups of it, and one of another series in the same namespace.
  const series = uniqueTaskQueue('bk-crash');
  const idAt = (stem: string, hour: number) => `${stem}-2026-11-28T0${hour}-00-00-000Z`;
  const input = {
    namespace,
    include: { crds: false, secrets: true, helmReleases: false, configMaps: true, taskRuns: false },
    recipients: [recipient],
  };
  for (const id of [idAt(series, 1), idAt(series, 2), idAt(series, 3), idAt(`other-${series}`, 1)]) {
    await temporal.client.workflow.execute('backupPlatform', { taskQueue, workflowId: id, args: [input] });
  }

  const started = Date.now();
  const workflowId = idAt(series, 4);
  const handle = await temporal.client.workflow.start('backupPlatform', {
    taskQueue,
    workflowId,
    args: [{ ...input, retention: { keepLast: 2 } }],
  });
  const kills = await killAtBoundaries(handle, first, workers, [
    [1, 'planBackup'],
    [2, 'writeBackup'],
    [3, 'applyBackupRetention'],
  ]);
  const report = (await handle.result()) as BackupReport;
  const seconds = Math.round((Date.now() - started) / 1000);

  const entries = readdirSync(store).sort();
  const backups = entries.filter((e) => !e.startsWith('.'));
  const expected = [idAt(series, 3), workflowId, idAt(`other-${series}`, 1)].sort();
  const ofThisRun = entries.filter((e) => e.includes(workflowId));
  const manifestText = readFileSync(join(store, workflowId, 'manifest.json'), 'utf8');
  const authentic = (() => {
    try {
      return verifyManifest(manifestText, hmacKey, workflowId);
    } catch {
      return undefined;
    }
  })();
  const complete = await existingBackup(store, workflowId, hmacKey);
  await recordReliability('backup-crash', {
    runs: 1,
    crashes: kills.killedAt.length,
    duplicates: Math.max(0, ofThisRun.length - 1),
    lost: expected.filter((id) => !backups.includes(id)).length + (complete ? 0 : 1),
  });
  console.error(
    `backup-crash: ${kills.killedAt.length} kills (${kills.killedAt.join('; ')}), ${seconds} s; store: ${entries.join(', ')}`,
  );

  assert.equal(kills.killedAt.length, 3);
  assert.deepEqual(ofThisRun, [workflowId], 'one directory for the workflow id (no second copy, no set-aside copy)');
  assert.equal(report.backupId, workflowId);
  assert.ok(authentic, "the manifest authenticates with the worker's HMAC key");
  assert.equal(authentic.series, series);
  assert.ok(complete, 'every file of the backup matches its checksum');
  assert.deepEqual(complete.counts, { secrets: 1, configMaps: 1 });
  assert.ok(
    !readdirSync(join(store, workflowId)).some((f) => readFileSync(join(store, workflowId, f)).includes(secretValue)),
    'the Secret is encrypted',
  );
  assert.deepEqual(backups, expected, "retention (keepLast 2) deleted the series' two oldest and nothing else");
  assert.deepEqual(report.retention?.deleted.sort(), [idAt(series, 1), idAt(series, 2)].sort());
});
