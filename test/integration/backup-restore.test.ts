// backupPlatform, restorePlatform and the nightly schedule end to end: real dev server, in-process
// worker with real activities, real local cluster and helm. The tests run in order: back up a
// deployed platform, delete its namespace and the CRD, restore, compare every object.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { execa } from 'execa';
import { createActivities } from '../../activities/index.ts';
import { ensureNightlyBackupSchedule } from '../../client/schedules.ts';
import { toolPath } from '../../scripts/stack/tools.ts';
import { createRunbookWorker } from '../../worker/worker.ts';
import { BACKUP_INVALID, type BackupReport, type RestoreReport } from '../../workflows/types/backup.ts';
import { testActivityDeps, uniqueNamespace, useTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { uniqueTaskQueue, useTestTemporal, workflowBundle, type TestTemporal } from '../helpers/temporal.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const namespace = uniqueNamespace('backup');
const keysNamespace = uniqueNamespace('backup-keys');
const SECRET_VALUE = `api-key-${randomBytes(8).toString('hex')}`;
process.env.BACKUP_TEST_API_KEY = SECRET_VALUE;
process.env.BACKUP_TEST_HMAC_KEY = randomBytes(32).toString('hex');
const hmacKey = { env: 'BACKUP_TEST_HMAC_KEY' };
// The identity is read from a Secret (restore's other reference kind); the recipient is public.
const identityRef = { secret: { name: 'backup-identity', key: 'identity', namespace: keysNamespace } };
const store = mkdtempSync(join(tmpdir(), 'backup-store-'));

let temporal: TestTemporal;
let cluster: TestCluster;
let taskQueue: string;
let identity: string;
let recipient: string;
let backup: BackupReport;
let before_: Snapshot;

before(async () => {
  temporal = await testTemporal();
  cluster = await testCluster();
  identity = await generateX25519Identity();
  recipient = await identityToRecipient(identity);
  taskQueue = uniqueTaskQueue('backup');
  const worker = await createRunbookWorker({
    connection: temporal.nativeConnection, namespace: temporal.namespace, taskQueue, workflowBundle: await workflowBundle(),
    activities: createActivities({ ...testActivityDeps(cluster), backupDir: store }),
  });
  const running = worker.run();
  temporal.defer(async () => {
    worker.shutdown();
    await running;
  });
  // This file deletes and restores the cluster-wide TaskRun CRD: leave it as found, for the files after it
  // (a restored CRD carries server defaults in .spec.versions, which conflict with a later non-forced apply of the chart's file).
  const crdExisted = (await execa(toolPath('kubectl'), ['get', 'crd', 'taskruns.orchestrator.io', '--kubeconfig', cluster.kubeconfigPath], { reject: false })).exitCode === 0;
  cluster.defer(async () => {
    if (crdExisted) await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=platform-runbooks', '-f', fileURLToPath(new URL('../../charts/orchestrator/crds/taskruns.orchestrator.io.yaml', import.meta.url))]);
    else await cluster.kubectl(['delete', 'crd', 'taskruns.orchestrator.io', '--ignore-not-found', '--wait=true', '--timeout=60s']);
  });
  cluster.defer(async () => {
    for (const ns of [namespace, keysNamespace, `${namespace}-copy`, `${namespace}-t`]) await cluster.kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
    rmSync(store, { recursive: true, force: true });
  });
  await cluster.kubectl(['create', 'namespace', keysNamespace]);
  await cluster.kubectl(['create', 'secret', 'generic', 'backup-identity', '-n', keysNamespace, `--from-literal=identity=${identity}`]);
  // The platform: helm release, CRD, a Secret from a reference; then a ConfigMap and TaskRuns with status.
  await execute('deployPlatform', {
    namespace, skipHealthCheck: true, values: { image: { tag: '1.0.0' } },
    secrets: [{ name: 'orchestrator-secrets', keys: [{ key: 'ANTHROPIC_API_KEY', from: { env: 'BACKUP_TEST_API_KEY' } }] }],
  });
  const taskRuns = ['t-1', 't-2', 't-3'].map((name) => ({
    apiVersion: 'orchestrator.io/v1', kind: 'TaskRun', metadata: { name, namespace, labels: { team: 'a' } },
    spec: { service: 'auth-service', taskId: name, prompt: `do ${name}` },
  }));
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'taskrun-controller-config', namespace }, data: { 'config.yaml': 'maxConcurrentTasks: 3\n' } };
  await cluster.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [cm, ...taskRuns] }));
  for (const [name, phase] of [['t-1', 'Succeeded'], ['t-2', 'Failed']]) {
    await cluster.kubectl(['patch', 'taskrun', name!, '-n', namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase, jobName: `job-${name}` } })]);
  }
});

async function execute<T>(workflow: string, input: unknown, workflowId = uniqueTaskQueue(workflow)): Promise<T> {
  return (await temporal.client.workflow.execute(workflow, { taskQueue, workflowId, args: [input] })) as T;
}

async function historyText(workflowId: string): Promise<string> {
  const history = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
  return JSON.stringify(history, (_k, v: unknown) => (typeof v === 'object' && v !== null && 'data' in v && v.data instanceof Uint8Array ? Buffer.from(v.data).toString('utf8') : v));
}

interface Snapshot {
  secrets: Record<string, unknown>;
  configMaps: Record<string, unknown>;
  taskRuns: Record<string, unknown>;
  crd: unknown;
  helmHistory: unknown;
}

/** Every object that a backup holds, without server-set fields, by name. */
type K8sObject = { metadata: { name: string; labels?: unknown; annotations?: unknown } } & Record<string, unknown>;

/** Every object that a backup holds, without server-set fields, by name. */
async function snapshot(ns: string): Promise<Snapshot> {
  const get = async (kind: string) => (JSON.parse(await cluster.kubectl(['get', kind, '-n', ns, '-o', 'json'])) as { items: K8sObject[] }).items;
  const strip = ({ metadata, ...rest }: K8sObject) => ({ ...rest, metadata: { name: metadata.name, labels: metadata.labels ?? {}, annotations: metadata.annotations ?? {} } });
  const byName = (items: K8sObject[]) => Object.fromEntries(items.map((o) => [o.metadata.name, strip(o)]));
  const crd = JSON.parse(await cluster.kubectl(['get', 'crd', 'taskruns.orchestrator.io', '-o', 'json'])) as { spec: unknown };
  const helm = await execa(toolPath('helm'), ['history', 'orchestrator', '-n', ns, '-o', 'json', '--kubeconfig', cluster.kubeconfigPath]);
  return {
    secrets: byName(await get('secrets')), configMaps: byName((await get('configmaps')).filter((c) => c.metadata.name !== 'kube-root-ca.crt')),
    taskRuns: byName(await get('taskruns')), crd: crd.spec,
    helmHistory: (JSON.parse(helm.stdout) as Record<string, unknown>[]).map(({ revision, status, chart, app_version, description }) => ({ revision, status, chart, app_version, description })),
  };
}

test('backupPlatform without a recipient is refused before any side effect', async () => {
  await assert.rejects(execute('backupPlatform', { namespace, hmacKey }), (err: unknown) =>
    err instanceof WorkflowFailedError && /Secrets are never written in plain text/.test(String((err.cause as Error).message)));
});

test('backupPlatform writes an authenticated, encrypted backup; a re-run with the same id reuses it', async () => {
  before_ = await snapshot(namespace);
  const workflowId = uniqueTaskQueue('backupPlatform');
  backup = await execute<BackupReport>('backupPlatform', { namespace, recipients: [recipient], hmacKey }, workflowId);
  assert.equal(backup.backupId, workflowId);
  assert.equal(backup.backup.reused, false);
  assert.deepEqual(backup.backup.counts, { crds: 1, secrets: 1, helmReleases: 1, configMaps: 1, taskRuns: 3 });
  assert.deepEqual(backup.plan.counts, backup.backup.counts);
  assert.equal(backup.plan.helmRelease?.revision, 1);
  assert.match(backup.plan.volumeSnapshots.skippedReason ?? '', /no VolumeSnapshot CRD/);
  const dir = join(store, backup.backupId);
  assert.deepEqual(readdirSync(dir).sort(), ['configMaps.jsonl.gz', 'crds.jsonl.gz', 'helmReleases.jsonl.gz.age', 'manifest.json', 'secrets.jsonl.gz.age', 'taskRuns.jsonl.gz']);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { hmac: { alg: string }; helm: { chart: string; revision: number; values: unknown }; tools: Record<string, string> };
  assert.equal(manifest.hmac.alg, 'HMAC-SHA256');
  assert.equal(manifest.helm.revision, 1);
  assert.deepEqual(manifest.helm.values, { image: { tag: '1.0.0' } });
  assert.ok(manifest.tools.helm && manifest.tools.node);
  // Nothing secret in plain text on disk or in history; the standard age CLI decrypts the Secrets.
  for (const f of readdirSync(dir)) assert.ok(!readFileSync(join(dir, f)).includes(Buffer.from(SECRET_VALUE).toString('base64')), f);
  assert.ok(!(await historyText(workflowId)).includes(SECRET_VALUE));
  const keyFile = join(store, '..', `${backup.backupId}-key.txt`);
  writeFileSync(keyFile, identity, { mode: 0o600 });
  const plain = await execa(toolPath('age'), ['-d', '-i', keyFile, join(dir, 'secrets.jsonl.gz.age')], { encoding: 'buffer' });
  rmSync(keyFile);
  const secret = JSON.parse(gunzipSync(plain.stdout).toString()) as { data: Record<string, string> };
  assert.equal(Buffer.from(secret.data.ANTHROPIC_API_KEY!, 'base64').toString(), SECRET_VALUE);

  // A new run of the same workflow ID (the server allows it once the first closed).
  const again = await execute<BackupReport>('backupPlatform', { namespace, recipients: [recipient], hmacKey }, workflowId);
  assert.equal(again.backup.reused, true);
  assert.deepEqual(readdirSync(store).filter((d) => !d.startsWith('.')), [backup.backupId]);
});

test('restorePlatform refuses a tampered backup and writes nothing', async () => {
  const target = `${namespace}-t`;
  const copy = (suffix: string) => {
    const id = `${backup.backupId}-${suffix}`;
    cpSync(join(store, backup.backupId), join(store, id), { recursive: true });
    return id;
  };
  // 1: a changed file; 2: a changed file and its checksum in the manifest (the HMAC catches it).
  const fileOnly = copy('file');
  const taskRuns = join(store, fileOnly, 'taskRuns.jsonl.gz');
  const bytes = readFileSync(taskRuns);
  bytes[bytes.length - 5]! ^= 0xff;
  writeFileSync(taskRuns, bytes);
  const both = copy('both');
  const manifestPath = join(store, both, 'manifest.json');
  const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as { files: { file: string; sha256: string; size: number }[] };
  writeFileSync(join(store, both, 'taskRuns.jsonl.gz'), bytes);
  const { createHash } = await import('node:crypto');
  m.files.find((f) => f.file === 'taskRuns.jsonl.gz')!.sha256 = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(manifestPath, JSON.stringify(m));
  for (const [id, pattern] of [[fileOnly, /does not match its checksum/], [both, /HMAC does not match/]] as const) {
    await assert.rejects(execute('restorePlatform', { backupId: id, targetNamespace: target, hmacKey, identity: identityRef }), (err: unknown) => {
      const cause = (err as WorkflowFailedError).cause?.cause as ApplicationFailure | undefined;
      return cause instanceof ApplicationFailure && cause.type === BACKUP_INVALID && pattern.test(cause.message);
    });
  }
  // A wrong identity is refused the same way, with a clear error.
  process.env.BACKUP_TEST_WRONG_IDENTITY = await generateX25519Identity();
  await assert.rejects(execute('restorePlatform', { backupId: backup.backupId, targetNamespace: target, hmacKey, identity: { env: 'BACKUP_TEST_WRONG_IDENTITY' } }), (err: unknown) => {
    const cause = (err as WorkflowFailedError).cause?.cause as ApplicationFailure | undefined;
    return cause instanceof ApplicationFailure && cause.type === BACKUP_INVALID && /secrets.jsonl.gz.age: cannot decrypt with the given age identity/.test(cause.message);
  });
  const ns = await execa(toolPath('kubectl'), ['get', 'namespace', target, '--kubeconfig', cluster.kubeconfigPath], { reject: false });
  assert.notEqual(ns.exitCode, 0, 'the target namespace was created');
  for (const id of [fileOnly, both]) rmSync(join(store, id), { recursive: true });
});

test('restorePlatform dryRun into another namespace returns the plan and changes nothing', async () => {
  const target = `${namespace}-copy`;
  const report = await execute<RestoreReport>('restorePlatform', { backupId: backup.backupId, targetNamespace: target, hmacKey, identity: identityRef, dryRun: true });
  assert.equal(report.plan.namespaceExists, false);
  assert.deepEqual(report.plan.kinds.map((k) => [k.kind, k.total, k.existing]), [['crds', 1, 1], ['secrets', 1, 0], ['helmReleases', 1, 0], ['configMaps', 1, 0], ['taskRuns', 3, 0]]);
  assert.deepEqual(report.restored, []);
  assert.notEqual((await execa(toolPath('kubectl'), ['get', 'namespace', target, '--kubeconfig', cluster.kubeconfigPath], { reject: false })).exitCode, 0);
});

test('after the namespace and the CRD are deleted, restorePlatform brings back every object', async () => {
  await cluster.kubectl(['delete', 'namespace', namespace, '--wait=true', '--timeout=120s']);
  await cluster.kubectl(['delete', 'crd', 'taskruns.orchestrator.io', '--wait=true', '--timeout=60s']);
  const workflowId = uniqueTaskQueue('restorePlatform');
  const report = await execute<RestoreReport>('restorePlatform', { backupId: backup.backupId, hmacKey, identity: identityRef }, workflowId);
  assert.equal(report.plan.targetNamespace, namespace);
  assert.deepEqual(report.restored.map((r) => [r.kind, r.created, r.skipped]), [['crds', 1, 0], ['secrets', 1, 0], ['configMaps', 1, 0], ['helmReleases', 1, 0], ['taskRuns', 3, 0]]);
  assert.equal(report.restored.find((r) => r.kind === 'taskRuns')?.statusRestored, 2); // t-3 never had a status
  assert.ok(report.verify?.every((v) => v.found === v.expected));
  const after = await snapshot(namespace);
  assert.deepEqual(after.crd, before_.crd);
  assert.deepEqual(after.secrets, before_.secrets);
  assert.deepEqual(after.configMaps, before_.configMaps);
  assert.deepEqual(after.taskRuns, before_.taskRuns);
  assert.deepEqual(after.helmHistory, before_.helmHistory);
  assert.equal(Buffer.from((after.secrets['orchestrator-secrets'] as { data: Record<string, string> }).data.ANTHROPIC_API_KEY!, 'base64').toString(), SECRET_VALUE);
  assert.ok(!(await historyText(workflowId)).includes(SECRET_VALUE));

  // Again: everything exists, so everything is skipped.
  const again = await execute<RestoreReport>('restorePlatform', { backupId: backup.backupId, hmacKey, identity: identityRef });
  assert.ok(again.restored.every((r) => r.created === 0 && r.skipped > 0), JSON.stringify(again.restored));
});

test('a restore into another namespace (remap) with existing=update', async () => {
  const target = `${namespace}-copy`;
  const report = await execute<RestoreReport>('restorePlatform', { backupId: backup.backupId, targetNamespace: target, existing: 'update', hmacKey, identity: identityRef });
  assert.deepEqual(report.restored.map((r) => [r.kind, r.created, r.updated]), [['crds', 0, 1], ['secrets', 1, 0], ['configMaps', 1, 0], ['helmReleases', 1, 0], ['taskRuns', 3, 0]]);
  const copy = await snapshot(target);
  assert.deepEqual(copy.taskRuns, before_.taskRuns);
  assert.deepEqual(copy.secrets, before_.secrets);
});

test('the nightly schedule, triggered from the client, produces a backup; retention keeps the newest', async () => {
  // An old backup that retention (keepLast 2) must delete; the first test's backup stays.
  mkdirSync(join(store, 'old-backup'));
  writeFileSync(join(store, 'old-backup', 'manifest.json'), JSON.stringify({ createdAt: '2020-01-01T00:00:00.000Z' }));
  const scheduleId = uniqueTaskQueue('nightly-backup');
  const opts = { scheduleId, taskQueue, timeZone: 'Europe/Berlin', input: { namespace, recipients: [recipient], hmacKey, retention: { keepLast: 2 } } };
  assert.equal(await ensureNightlyBackupSchedule(temporal.client, opts), 'created');
  const handle = temporal.client.schedule.getHandle(scheduleId);
  temporal.defer(() => handle.delete());
  assert.equal(await ensureNightlyBackupSchedule(temporal.client, { ...opts, timeZone: 'UTC' }), 'updated');
  const description = await handle.describe();
  assert.equal(description.spec.timezone, 'UTC');
  assert.equal(description.policies.overlap, 'SKIP');
  await handle.trigger();
  let produced: string | undefined;
  for (let i = 0; i < 240 && !produced; i++) {
    produced = readdirSync(store).find((d) => d.startsWith(`${scheduleId}-`) && existsSync(join(store, d, 'manifest.json')));
    if (!produced) await sleep(250);
  }
  assert.ok(produced, 'no scheduled backup appeared');
  // The run also applied retention: wait for it to finish.
  const run = temporal.client.workflow.getHandle((await handle.describe()).info.recentActions[0]!.action.workflow.workflowId);
  const report = (await run.result()) as BackupReport;
  assert.deepEqual(report.retention?.deleted, ['old-backup']);
  assert.deepEqual(readdirSync(store).filter((d) => !d.startsWith('.')).sort(), [backup.backupId, produced].sort());
});
