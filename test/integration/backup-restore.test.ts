// test-isolation: exclusive (deletes and restores the cluster-wide TaskRun CRD)
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
import { BACKUP_ID_LABEL, snapshotName } from '../../activities/backup/snapshots.ts';
import { helmValuesDigest, signManifest } from '../../activities/backup/manifest.ts';
import { ensureNightlyBackupSchedule } from '../../client/schedules.ts';
import { toolPath } from '../../scripts/stack/tools.ts';
import { binaryStdout } from '../helpers/binary-stdout.ts';
import { type BackupReport, type RestoreReport } from '../../contract/types/backup.ts';
import { BACKUP_INVALID } from '../../contract/failures.ts';
import { RESTORED_FROM_ANNOTATION } from '../../contract/types/taskrun.ts';
import { uniqueNamespace, useTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal.ts';
import { applyObjects } from '../helpers/apply-objects.ts';
import { helmValues } from '../helpers/release-state.ts';
import { startWorkerStack } from '../helpers/worker-stack.ts';
import { historyText } from '../helpers/history-text.ts';
import { deleteTaskRunCrd, getControllerConfigMap, installTaskRunCrd, taskRunCrdExists } from '../helpers/taskrun.ts';
import { setTaskRunStatus, taskRunObject, taskSpec } from '../helpers/taskrun-objects.ts';
import { claimOn, volumeFor } from '../helpers/static-volume.ts';
import { emptyBackupManifest } from '../helpers/backup-manifest.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const namespace = uniqueNamespace('backup');
const keysNamespace = uniqueNamespace('backup-keys');
const SECRET_VALUE = `api-key-${randomBytes(8).toString('hex')}`;
process.env.BACKUP_TEST_API_KEY = SECRET_VALUE;
process.env.BACKUP_TEST_HMAC_KEY = randomBytes(32).toString('hex');
// The worker's backup keys (its configuration, never an input): the HMAC key from an env var, the identity
// from a Secret (the other reference kind); the recipient is public.
const hmacKey = { env: 'BACKUP_TEST_HMAC_KEY' };
const identityRef = { secret: { name: 'backup-identity', key: 'identity', namespace: keysNamespace } };
const store = mkdtempSync(join(tmpdir(), 'backup-store-'));
const pvcNamespace = uniqueNamespace('backup-pvc');
const SNAPSHOT_CRDS = fileURLToPath(new URL('../fixtures/volume-snapshot-crds.yaml', import.meta.url));

let temporal: TestTemporal;
let cluster: TestCluster;
let taskQueue: string;
let identity: string;
let recipient: string;
let backup: BackupReport;
let before_: Snapshot;

before(async () => {
  identity = await generateX25519Identity();
  recipient = await identityToRecipient(identity);
  const stack = { prefix: 'backup', deps: { backupDir: store, backupKeys: { hmacKey, identity: identityRef } } };
  ({ temporal, cluster, taskQueue } = await startWorkerStack(testTemporal, testCluster, stack));
  // This file deletes and restores the cluster-wide TaskRun CRD: leave it as found, for the files after it
  // (a restored CRD carries server defaults in .spec.versions, which conflict with a later non-forced apply of the chart's file).
  const crdExisted = await taskRunCrdExists(cluster);
  cluster.defer(() => (crdExisted ? installTaskRunCrd(cluster, 'platform-runbooks') : deleteTaskRunCrd(cluster)));
  cluster.defer(async () => {
    for (const ns of [namespace, keysNamespace, `${namespace}-copy`, `${namespace}-t`, pvcNamespace])
      await cluster.kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
    await cluster.kubectl([
      'delete',
      'persistentvolume',
      `${pvcNamespace}-workspace`,
      `${pvcNamespace}-workspace-2`,
      '--wait=false',
      '--ignore-not-found',
    ]);
    await cluster.kubectl(['delete', '-f', SNAPSHOT_CRDS, '--ignore-not-found', '--wait=true', '--timeout=60s']);
    rmSync(store, { recursive: true, force: true });
  });
  await cluster.kubectl(['create', 'namespace', keysNamespace]);
  await cluster.kubectl([
    'create',
    'secret',
    'generic',
    'backup-identity',
    '-n',
    keysNamespace,
    `--from-literal=identity=${identity}`,
  ]);
  // The platform: helm release, CRD, a Secret from a reference; then a ConfigMap and TaskRuns with status.
  await execute('deployPlatform', {
    namespace,
    skipHealthCheck: true,
    values: { image: { tag: '1.0.0' } },
    secrets: [
      { name: 'orchestrator-secrets', keys: [{ key: 'ANTHROPIC_API_KEY', from: { env: 'BACKUP_TEST_API_KEY' } }] },
    ],
  });
  const taskRuns = ['t-1', 't-2', 't-3'].map((name) =>
    taskRunObject({ name, namespace, labels: { team: 'a' } }, taskSpec(name)),
  );
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'taskrun-controller-config', namespace },
    data: { 'config.yaml': 'maxConcurrentTasks: 3\n' },
  };
  await applyObjects(cluster, cm, ...taskRuns);
  for (const [name, phase] of [
    ['t-1', 'Succeeded'],
    ['t-2', 'Failed'],
  ]) {
    await setTaskRunStatus(cluster, namespace, name!, { phase, jobName: `job-${name}` });
  }
});

async function execute<T>(workflow: string, input: unknown, workflowId = uniqueTaskQueue(workflow)): Promise<T> {
  return (await temporal.client.workflow.execute(workflow, { taskQueue, workflowId, args: [input] })) as T;
}

interface Snapshot {
  /** The Helm release's Deployments and Services (the objects a restore must bring back). */
  helmObjects: Record<string, unknown>;
  /** Who applied the Deployment (manager and operation of its Apply entries). */
  deploymentAppliers: string[];
  secrets: Record<string, unknown>;
  configMaps: Record<string, unknown>;
  taskRuns: Record<string, unknown>;
  crd: unknown;
  helmHistory: unknown;
}

/** Every object that a backup holds, without server-set fields, by name. */
type K8sObject = { metadata: { name: string; labels?: unknown; annotations?: unknown } } & Record<string, unknown>;

/** The backed-up TaskRuns as a restore writes them: each one with a phase marked restored-from the backup. */
function restoredFrom(taskRuns: Record<string, unknown>, backupId: string): Record<string, unknown> {
  const mark = (t: K8sObject & { status?: { phase?: string } }) =>
    t.status?.phase
      ? {
          ...t,
          metadata: {
            ...t.metadata,
            annotations: { ...(t.metadata.annotations as object), [RESTORED_FROM_ANNOTATION]: backupId },
          },
        }
      : t;
  return Object.fromEntries(Object.entries(taskRuns).map(([name, t]) => [name, mark(t as K8sObject)]));
}

/** Every object that a backup holds, without server-set fields, by name. */
async function snapshot(ns: string): Promise<Snapshot> {
  const get = async (kind: string) =>
    (
      JSON.parse(await cluster.kubectl(['get', kind, '-n', ns, '-o', 'json', '--show-managed-fields'])) as {
        items: K8sObject[];
      }
    ).items;
  const strip = ({ metadata, ...rest }: K8sObject) => ({
    ...rest,
    metadata: { name: metadata.name, labels: metadata.labels ?? {}, annotations: metadata.annotations ?? {} },
  });
  const byName = (items: K8sObject[]) => Object.fromEntries(items.map((o) => [o.metadata.name, strip(o)]));
  const crd = JSON.parse(await cluster.kubectl(['get', 'crd', 'taskruns.orchestrator.io', '-o', 'json'])) as {
    spec: unknown;
  };
  const helm = await execa(toolPath('helm'), [
    'history',
    'orchestrator',
    '-n',
    ns,
    '-o',
    'json',
    '--kubeconfig',
    cluster.kubeconfigPath,
  ]);
  const deployments = await get('deployments');
  // A recreated Service gets a new cluster IP, a Deployment a new status; everything else must be the same.
  const objects = [
    ...deployments.map(({ status: _s, ...d }) => ({
      ...d,
      metadata: { ...d.metadata, name: `Deployment/${d.metadata.name}` },
    })),
    ...(await get('services')).map((svc) => {
      const { clusterIP: _a, clusterIPs: _b, ...spec } = svc.spec as Record<string, unknown>;
      return { ...svc, spec, metadata: { ...svc.metadata, name: `Service/${svc.metadata.name}` } };
    }),
  ];
  type Managed = { metadata: { managedFields?: { manager: string; operation: string }[] } };
  return {
    helmObjects: byName(objects),
    deploymentAppliers: deployments
      .flatMap((d) =>
        ((d as unknown as Managed).metadata.managedFields ?? [])
          .filter((f) => f.operation === 'Apply')
          .map((f) => `${d.metadata.name}:${f.manager}`),
      )
      .sort(),
    secrets: byName(await get('secrets')),
    configMaps: byName((await get('configmaps')).filter((c) => c.metadata.name !== 'kube-root-ca.crt')),
    taskRuns: byName(await get('taskruns')),
    crd: crd.spec,
    helmHistory: (JSON.parse(helm.stdout) as Record<string, unknown>[]).map(
      ({ revision, status, chart, app_version, description }) => ({
        revision,
        status,
        chart,
        app_version,
        description,
      }),
    ),
  };
}

test('backupPlatform without a recipient is refused before any side effect', async () => {
  await assert.rejects(
    execute('backupPlatform', { namespace }),
    (err: unknown) =>
      err instanceof WorkflowFailedError &&
      /Secrets are never written in plain text/.test(String((err.cause as Error).message)),
  );
});

test("an input cannot name a backup key: the HMAC key and the age identity are the worker's configuration", async () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['backupPlatform', { namespace, recipients: [recipient], hmacKey }, 'hmacKey'],
    ['restorePlatform', { backupId: 'any', hmacKey }, 'hmacKey'],
    ['restorePlatform', { backupId: 'any', identity: { env: 'BACKUP_TEST_API_KEY' } }, 'identity'],
    [
      'backupAndVerify',
      { backup: { namespace, recipients: [recipient] }, verify: { identity: identityRef } },
      'verify.identity',
    ],
  ];
  for (const [runbook, input, field] of cases) {
    await assert.rejects(
      execute(runbook, input),
      (err: unknown) => {
        const message = String(((err as WorkflowFailedError).cause as Error | undefined)?.message);
        return (
          err instanceof WorkflowFailedError &&
          message.includes(`${field}: is the worker's configuration now, not an input`)
        );
      },
      `${runbook} ${field}`,
    );
  }
});

test('backupPlatform writes an authenticated, encrypted backup; a re-run with the same id reuses it', async () => {
  before_ = await snapshot(namespace);
  assert.ok(
    Object.keys(before_.helmObjects).some((k) => k.startsWith('Deployment/')) &&
      Object.keys(before_.helmObjects).some((k) => k.startsWith('Service/')),
    Object.keys(before_.helmObjects).join(),
  );
  // Helm 4 applies server-side as field manager "helm": the restore must apply as the same manager.
  assert.ok(
    before_.deploymentAppliers.length && before_.deploymentAppliers.every((a) => a.endsWith(':helm')),
    before_.deploymentAppliers.join(),
  );
  const workflowId = uniqueTaskQueue('backupPlatform');
  backup = await execute<BackupReport>('backupPlatform', { namespace, recipients: [recipient] }, workflowId);
  assert.equal(backup.backupId, workflowId);
  assert.equal(backup.backup.reused, false);
  assert.deepEqual(backup.backup.counts, { crds: 1, secrets: 1, helmReleases: 1, configMaps: 1, taskRuns: 3 });
  assert.deepEqual(backup.plan.counts, backup.backup.counts);
  assert.equal(backup.plan.helmRelease?.revision, 1);
  assert.match(backup.plan.volumeSnapshots.skippedReason ?? '', /no VolumeSnapshot CRD/);
  const dir = join(store, backup.backupId);
  assert.deepEqual(readdirSync(dir).sort(), [
    'configMaps.jsonl.gz',
    'crds.jsonl.gz',
    'helmReleases.jsonl.gz.age',
    'manifest.json',
    'secrets.jsonl.gz.age',
    'taskRuns.jsonl.gz',
  ]);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    hmac: { alg: string };
    helm: { chart: string; revision: number; values?: unknown; valuesSha256: string };
    tools: Record<string, string>;
  };
  assert.equal(manifest.hmac.alg, 'HMAC-SHA256');
  assert.equal(manifest.helm.revision, 1);
  // The values are in the encrypted release records only; the manifest keeps their digest.
  assert.equal(manifest.helm.values, undefined);
  const values = await helmValues(cluster, namespace);
  assert.deepEqual((values.image as Record<string, unknown>).tag, '1.0.0');
  assert.equal(manifest.helm.valuesSha256, helmValuesDigest(values));
  assert.ok(!readFileSync(join(dir, 'manifest.json'), 'utf8').includes('"image"'));
  assert.ok(manifest.tools.helm && manifest.tools.node);
  // Nothing secret in plain text on disk or in history; the standard age CLI decrypts the Secrets.
  for (const f of readdirSync(dir))
    assert.ok(!readFileSync(join(dir, f)).includes(Buffer.from(SECRET_VALUE).toString('base64')), f);
  assert.ok(!(await historyText(temporal.client, workflowId)).includes(SECRET_VALUE));
  const keyFile = join(store, '..', `${backup.backupId}-key.txt`);
  writeFileSync(keyFile, identity, { mode: 0o600 });
  const plain = await binaryStdout(toolPath('age'), ['-d', '-i', keyFile, join(dir, 'secrets.jsonl.gz.age')]);
  rmSync(keyFile);
  const secret = JSON.parse(gunzipSync(plain).toString()) as { data: Record<string, string> };
  assert.equal(Buffer.from(secret.data.ANTHROPIC_API_KEY!, 'base64').toString(), SECRET_VALUE);

  // A new run of the same workflow ID (the server allows it once the first closed).
  const again = await execute<BackupReport>('backupPlatform', { namespace, recipients: [recipient] }, workflowId);
  assert.equal(again.backup.reused, true);
  assert.deepEqual(
    readdirSync(store).filter((d) => !d.startsWith('.')),
    [backup.backupId],
  );
});

test('restorePlatform refuses a tampered backup and writes nothing', async () => {
  const target = `${namespace}-t`;
  const dir = join(store, backup.backupId);
  const pristine = join(store, `.pristine-${backup.backupId}`);
  cpSync(dir, pristine, { recursive: true });
  const restoreFails = async (pattern: RegExp) => {
    await assert.rejects(
      execute('restorePlatform', { backupId: backup.backupId, targetNamespace: target }),
      (err: unknown) => {
        const cause = (err as WorkflowFailedError).cause?.cause as ApplicationFailure | undefined;
        return cause instanceof ApplicationFailure && cause.type === BACKUP_INVALID && pattern.test(cause.message);
      },
    );
  };
  const reset = () => {
    rmSync(dir, { recursive: true });
    cpSync(pristine, dir, { recursive: true });
  };
  try {
    // 1: a changed file; 2: a changed file and its checksum in the manifest (the HMAC catches it).
    const taskRuns = join(dir, 'taskRuns.jsonl.gz');
    const bytes = readFileSync(taskRuns);
    bytes[bytes.length - 5]! ^= 0xff;
    writeFileSync(taskRuns, bytes);
    await restoreFails(/does not match its checksum/);
    const manifestPath = join(dir, 'manifest.json');
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      files: { file: string; sha256: string; size: number }[];
    };
    const { createHash } = await import('node:crypto');
    m.files.find((f) => f.file === 'taskRuns.jsonl.gz')!.sha256 = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(manifestPath, JSON.stringify(m));
    await restoreFails(/HMAC does not match/);
    reset();
    // 3: an intact backup copied under another id: its authentic manifest names the original.
    const copy = `${backup.backupId}-copy`;
    cpSync(dir, join(store, copy), { recursive: true });
    await assert.rejects(execute('restorePlatform', { backupId: copy, targetNamespace: target }), (err: unknown) => {
      const cause = (err as WorkflowFailedError).cause?.cause as ApplicationFailure | undefined;
      return (
        cause instanceof ApplicationFailure &&
        cause.type === BACKUP_INVALID &&
        /manifest.json names backup/.test(cause.message)
      );
    });
    rmSync(join(store, copy), { recursive: true });
    // A wrong identity in the worker's configured Secret is refused the same way, with a clear error.
    const setIdentity = (value: string) =>
      cluster.kubectl([
        'patch',
        'secret',
        'backup-identity',
        '-n',
        keysNamespace,
        '--type=merge',
        '-p',
        JSON.stringify({ data: { identity: Buffer.from(value).toString('base64') } }),
      ]);
    await setIdentity(await generateX25519Identity());
    try {
      await restoreFails(/secrets.jsonl.gz.age: cannot decrypt with the given age identity/);
    } finally {
      await setIdentity(identity);
    }
  } finally {
    reset();
    rmSync(pristine, { recursive: true });
  }
  const ns = await execa(toolPath('kubectl'), ['get', 'namespace', target, '--kubeconfig', cluster.kubeconfigPath], {
    reject: false,
  });
  assert.notEqual(ns.exitCode, 0, 'the target namespace was created');
});

test('restorePlatform dryRun into another namespace returns the plan and changes nothing', async () => {
  const target = `${namespace}-copy`;
  const report = await execute<RestoreReport>('restorePlatform', {
    backupId: backup.backupId,
    targetNamespace: target,
    dryRun: true,
  });
  assert.equal(report.plan.namespaceExists, false);
  assert.deepEqual(
    report.plan.kinds.map((k) => [k.kind, k.total, k.existing]),
    [
      ['crds', 1, 1],
      ['secrets', 1, 0],
      ['helmReleases', 1, 0],
      ['configMaps', 1, 0],
      ['taskRuns', 3, 0],
    ],
  );
  assert.deepEqual(report.restored, []);
  // The plan counts the release's objects (Deployment, Service...) that the restore would apply.
  const manifest = (
    await execa(toolPath('helm'), [
      'get',
      'manifest',
      'orchestrator',
      '-n',
      namespace,
      '--kubeconfig',
      cluster.kubeconfigPath,
    ])
  ).stdout;
  const kinds = [...manifest.matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]);
  assert.ok(kinds.includes('Deployment') && kinds.includes('Service'), kinds.join());
  assert.deepEqual(report.plan.helmObjects, {
    releases: [{ name: 'orchestrator', revision: 1, objects: kinds.length }],
    total: kinds.length,
    existing: 0,
  });
  assert.equal(report.plan.helmObjects?.existing, 0);
  assert.equal(report.helmObjects, undefined);
  assert.notEqual(
    (
      await execa(toolPath('kubectl'), ['get', 'namespace', target, '--kubeconfig', cluster.kubeconfigPath], {
        reject: false,
      })
    ).exitCode,
    0,
  );
});

test('after the namespace and the CRD are deleted, restorePlatform brings back every object', async () => {
  await cluster.kubectl(['delete', 'namespace', namespace, '--wait=true', '--timeout=120s']);
  await cluster.kubectl(['delete', 'crd', 'taskruns.orchestrator.io', '--wait=true', '--timeout=60s']);
  const workflowId = uniqueTaskQueue('restorePlatform');
  const report = await execute<RestoreReport>('restorePlatform', { backupId: backup.backupId }, workflowId);
  assert.equal(report.plan.targetNamespace, namespace);
  assert.deepEqual(
    report.restored.map((r) => [r.kind, r.created, r.skipped]),
    [
      ['crds', 1, 0],
      ['secrets', 1, 0],
      ['configMaps', 1, 0],
      ['helmReleases', 1, 0],
      ['taskRuns', 3, 0],
    ],
  );
  assert.equal(report.restored.find((r) => r.kind === 'taskRuns')?.statusRestored, 2); // t-3 never had a status
  assert.ok(report.verify?.every((v) => v.found === v.expected));
  const after = await snapshot(namespace);
  assert.deepEqual(after.crd, before_.crd);
  assert.deepEqual(after.secrets, before_.secrets);
  assert.deepEqual(after.configMaps, before_.configMaps);
  assert.deepEqual(after.taskRuns, restoredFrom(before_.taskRuns, backup.backupId));
  assert.deepEqual(after.helmHistory, before_.helmHistory);
  // The release's objects are back (not only its records), with the same spec, applied as Helm applies.
  assert.ok(
    report.plan.helmObjects && report.plan.helmObjects.total >= 2 && report.plan.helmObjects.existing === 0,
    JSON.stringify(report.plan.helmObjects),
  );
  // The chart's ConfigMap is also a backed-up ConfigMap: restored with its backed-up data by that step,
  // then handed to Helm's field manager; every other object of the release is created by this step.
  const total = report.plan.helmObjects.total;
  assert.deepEqual(report.helmObjects, {
    releases: [{ name: 'orchestrator', revision: 1, objects: total }],
    created: total - 1,
    updated: 0,
    skipped: 1,
    adopted: 1,
  });
  const cmManagers = (
    JSON.parse(await getControllerConfigMap(cluster, namespace, '-o', 'json', '--show-managed-fields')) as {
      metadata: { managedFields: { manager: string; operation: string }[] };
    }
  ).metadata.managedFields.map((f) => `${f.manager}:${f.operation}`);
  assert.deepEqual(cmManagers, ['helm:Apply']);
  assert.deepEqual(
    report.verify?.find((v) => v.kind === 'helmObjects'),
    { kind: 'helmObjects', expected: report.plan.helmObjects.total, found: report.plan.helmObjects.total },
  );
  assert.deepEqual(after.helmObjects, before_.helmObjects);
  assert.deepEqual(after.deploymentAppliers, before_.deploymentAppliers);
  assert.equal(
    Buffer.from(
      (after.secrets['orchestrator-secrets'] as { data: Record<string, string> }).data.ANTHROPIC_API_KEY!,
      'base64',
    ).toString(),
    SECRET_VALUE,
  );
  assert.ok(!(await historyText(temporal.client, workflowId)).includes(SECRET_VALUE));

  // Again: everything exists, so everything is skipped.
  const again = await execute<RestoreReport>('restorePlatform', { backupId: backup.backupId });
  assert.ok(
    again.restored.every((r) => r.created === 0 && r.skipped > 0),
    JSON.stringify(again.restored),
  );
  assert.deepEqual(
    [again.helmObjects?.created, again.helmObjects?.updated, again.helmObjects?.skipped, again.helmObjects?.adopted],
    [0, 0, total, 0],
  );
});

test('after the restore, helm upgrade of the same chart works and continues the revisions', async () => {
  const helm = (args: string[]) =>
    execa(toolPath('helm'), [...args, '-n', namespace, '--kubeconfig', cluster.kubeconfigPath]);
  const chart = fileURLToPath(new URL('../../charts/orchestrator', import.meta.url));
  // A changed value: the upgrade patches fields the restore applied (a conflict if another manager owned them).
  await helm(['upgrade', 'orchestrator', chart, '--reuse-values', '--set', 'image.tag=1.0.1']);
  const history = (
    JSON.parse((await helm(['history', 'orchestrator', '-o', 'json'])).stdout) as { revision: number; status: string }[]
  ).map((h) => [h.revision, h.status]);
  assert.deepEqual(history, [
    [1, 'superseded'],
    [2, 'deployed'],
  ]);
  const deployments = JSON.parse(await cluster.kubectl(['get', 'deployments', '-n', namespace, '-o', 'json'])) as {
    items: { spec: { template: { spec: { containers: { image: string }[] } } } }[];
  };
  assert.equal(deployments.items.length, 1);
  assert.match(deployments.items[0]!.spec.template.spec.containers[0]!.image, /:1\.0\.1$/);
});

test('a restore into another namespace (remap) with existing=update', async () => {
  const target = `${namespace}-copy`;
  const report = await execute<RestoreReport>('restorePlatform', {
    backupId: backup.backupId,
    targetNamespace: target,
    existing: 'update',
  });
  assert.deepEqual(
    report.restored.map((r) => [r.kind, r.created, r.updated]),
    [
      ['crds', 0, 1],
      ['secrets', 1, 0],
      ['configMaps', 1, 0],
      ['helmReleases', 1, 0],
      ['taskRuns', 3, 0],
    ],
  );
  const copy = await snapshot(target);
  // The release's objects went into the target namespace, owned by the release there.
  assert.deepEqual([report.helmObjects?.created, report.helmObjects?.adopted], [report.plan.helmObjects!.total - 1, 1]);
  assert.deepEqual(Object.keys(copy.helmObjects).sort(), Object.keys(before_.helmObjects).sort());
  for (const obj of Object.values(copy.helmObjects) as { metadata: { annotations: Record<string, string> } }[])
    assert.equal(obj.metadata.annotations['meta.helm.sh/release-namespace'], target);
  assert.deepEqual(copy.taskRuns, restoredFrom(before_.taskRuns, backup.backupId));
  assert.deepEqual(copy.secrets, before_.secrets);
});

test('the nightly schedule, triggered from the client, produces a backup; retention keeps the newest of its series', async () => {
  const scheduleId = uniqueTaskQueue('nightly-backup');
  // An old backup of the schedule's series (authentic) that retention (keepLast 1) must delete; an old
  // directory whose manifest does not authenticate stays, and so does the first test's backup (another series).
  mkdirSync(join(store, 'old-backup'));
  writeFileSync(
    join(store, 'old-backup', 'manifest.json'),
    JSON.stringify({ createdAt: '2020-01-01T00:00:00.000Z', namespace, series: scheduleId }),
  );
  mkdirSync(join(store, 'old-scheduled'));
  const old = signManifest(
    emptyBackupManifest('old-scheduled', {
      createdAt: '2020-01-01T00:00:00.000Z',
      cluster: 'x',
      namespace,
      series: scheduleId,
    }),
    process.env.BACKUP_TEST_HMAC_KEY!,
  );
  writeFileSync(join(store, 'old-scheduled', 'manifest.json'), JSON.stringify(old));
  const opts = {
    scheduleId,
    taskQueue,
    timeZone: 'Europe/Berlin',
    input: { namespace, recipients: [recipient], retention: { keepLast: 1 } },
  };
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
    produced = readdirSync(store).find(
      (d) => d.startsWith(`${scheduleId}-`) && existsSync(join(store, d, 'manifest.json')),
    );
    if (!produced) await sleep(250);
  }
  assert.ok(produced, 'no scheduled backup appeared');
  // The run also applied retention: wait for it to finish.
  const run = temporal.client.workflow.getHandle(
    (await handle.describe()).info.recentActions[0]!.action.workflow.workflowId,
  );
  const report = (await run.result()) as BackupReport;
  // The series is the schedule's id (the server's TemporalScheduledById), recorded in the authenticated manifest.
  assert.equal(
    (JSON.parse(readFileSync(join(store, produced, 'manifest.json'), 'utf8')) as { series: string }).series,
    scheduleId,
  );
  assert.equal(report.retention?.series, scheduleId);
  assert.deepEqual(report.retention?.deleted, ['old-scheduled']);
  assert.deepEqual(
    readdirSync(store)
      .filter((d) => !d.startsWith('.'))
      .sort(),
    [backup.backupId, 'old-backup', produced].sort(),
  );
  rmSync(join(store, 'old-backup'), { recursive: true });
});

/**
 * Plays the CSI snapshot controller, which the local cluster lacks (kwok has no CSI driver, and a kwok
 * Stage for VolumeSnapshot stops kwok from starting where the CRD is absent): marks every VolumeSnapshot
 * of the namespace readyToUse with a restoreSize, as the external-snapshotter does once a snapshot is cut.
 */
function simulateSnapshotter(ns: string): () => Promise<void> {
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const list = JSON.parse(await cluster.kubectl(['get', 'volumesnapshots', '-n', ns, '-o', 'json'])) as {
        items: { metadata: { name: string }; status?: { readyToUse?: boolean } }[];
      };
      for (const vs of list.items.filter((i) => i.status?.readyToUse !== true)) {
        await cluster.kubectl([
          'patch',
          'volumesnapshot',
          vs.metadata.name,
          '-n',
          ns,
          '--subresource=status',
          '--type=merge',
          '-p',
          JSON.stringify({ status: { readyToUse: true, restoreSize: '1Gi' } }),
        ]);
      }
      await sleep(300);
    }
  })();
  return async () => {
    stop = true;
    await loop;
  };
}

test('PVCs: skipped without a VolumeSnapshotClass; with one, snapshotted once per backup, restored from the snapshot, deleted by retention', async () => {
  const ns = pvcNamespace;
  const kubectl = cluster.kubectl;
  await kubectl(['apply', '-f', SNAPSHOT_CRDS]);
  await kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/volumesnapshots.snapshot.storage.k8s.io',
    'crd/volumesnapshotclasses.snapshot.storage.k8s.io',
  ]);
  await kubectl(['create', 'namespace', ns]);
  // A PVC bound to a PersistentVolume made for it (static binding), and one that never binds.
  const pv = `${ns}-workspace`;
  const workspace = {
    pv,
    namespace: ns,
    claim: 'workspace',
    storageClassName: 'manual',
    hostPath: '/tmp/workspace',
    retain: true,
  };
  await applyObjects(cluster, volumeFor(workspace), claimOn(workspace), {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'unbound', namespace: ns },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'no-such-class',
      resources: { requests: { storage: '1Gi' } },
    },
  });
  await kubectl(['wait', '--for=jsonpath={.status.phase}=Bound', '--timeout=60s', 'pvc/workspace', '-n', ns]);
  const input = {
    namespace: ns,
    include: { crds: false, secrets: false, helmReleases: false, taskRuns: false, configMaps: true },
  };
  const restoreInput = {
    include: { crds: false, secrets: false, helmReleases: false, taskRuns: false, configMaps: true },
  };

  // The API exists, but no class: skipped, and the report says why.
  const noClass = await execute<BackupReport>('backupPlatform', input);
  assert.equal(noClass.volumeSnapshots.skippedReason, 'no VolumeSnapshotClass exists');
  assert.equal(noClass.volumeSnapshots.pvcs, 2);
  assert.equal(
    (JSON.parse(await kubectl(['get', 'volumesnapshots', '-n', ns, '-o', 'json'])) as { items: unknown[] }).items
      .length,
    0,
  );

  await applyObjects(
    cluster,
    {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotClass',
      metadata: { name: `${ns}-other` },
      driver: 'hostpath.csi.k8s.io',
      deletionPolicy: 'Delete',
    },
    {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotClass',
      metadata: {
        name: `${ns}-default`,
        annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' },
      },
      driver: 'hostpath.csi.k8s.io',
      deletionPolicy: 'Delete',
    },
  );
  cluster.defer(() => kubectl(['delete', 'volumesnapshotclass', `${ns}-other`, `${ns}-default`, '--ignore-not-found']));
  const stopSnapshotter = simulateSnapshotter(ns);
  const first = uniqueTaskQueue('backupPlatform');
  let report: BackupReport;
  try {
    report = await execute<BackupReport>('backupPlatform', input, first);
    // A new run of the same workflow ID finds its snapshot (create-or-get): none is created twice.
    const again = await execute<BackupReport>('backupPlatform', input, first);
    assert.deepEqual(again.volumeSnapshots.snapshots, report.volumeSnapshots.snapshots);
  } finally {
    await stopSnapshotter();
  }
  const name = snapshotName(report.backupId, 'workspace');
  assert.deepEqual(report.volumeSnapshots, {
    pvcs: 2,
    snapshotted: 1,
    volumeSnapshotClass: `${ns}-default`,
    snapshots: [
      {
        name,
        namespace: ns,
        pvc: 'workspace',
        size: '1Gi',
        storageClass: 'manual',
        accessModes: ['ReadWriteOnce'],
        volumeMode: 'Filesystem',
        volumeSnapshotClass: `${ns}-default`,
        readyToUse: true,
        restoreSize: '1Gi',
      },
    ],
    skippedPvcs: [{ pvc: 'unbound', reason: 'not Bound (Pending): nothing to snapshot' }],
  });
  const manifest = JSON.parse(readFileSync(join(store, report.backupId, 'manifest.json'), 'utf8')) as {
    volumeSnapshots: unknown;
  };
  assert.deepEqual(manifest.volumeSnapshots, report.volumeSnapshots);
  const snapshots = (
    JSON.parse(await kubectl(['get', 'volumesnapshots', '-n', ns, '-o', 'json'])) as {
      items: { metadata: { name: string; labels: Record<string, string> }; spec: unknown }[];
    }
  ).items;
  assert.deepEqual(
    snapshots.map((v) => [v.metadata.name, v.metadata.labels[BACKUP_ID_LABEL]]),
    [[name, report.backupId]],
  );
  assert.deepEqual(snapshots[0]!.spec, {
    volumeSnapshotClassName: `${ns}-default`,
    source: { persistentVolumeClaimName: 'workspace' },
  });

  // The PVC is lost: the restore recreates it from its snapshot; the existing one is left alone.
  await kubectl(['delete', 'pvc', 'workspace', '-n', ns, '--wait=true', '--timeout=60s']);
  const restored = await execute<RestoreReport>('restorePlatform', { ...restoreInput, backupId: report.backupId });
  assert.deepEqual(restored.plan.volumes, { total: 1, existing: 0, unavailable: [] });
  assert.deepEqual(restored.volumes, { created: ['workspace'], skipped: [], unavailable: [] });
  const pvc = JSON.parse(await kubectl(['get', 'pvc', 'workspace', '-n', ns, '-o', 'json'])) as {
    spec: Record<string, unknown>;
  };
  assert.deepEqual(pvc.spec.dataSource, { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name });
  assert.deepEqual(
    [pvc.spec.storageClassName, pvc.spec.accessModes, (pvc.spec.resources as { requests: unknown }).requests],
    ['manual', ['ReadWriteOnce'], { storage: '1Gi' }],
  );
  const twice = await execute<RestoreReport>('restorePlatform', { ...restoreInput, backupId: report.backupId });
  assert.deepEqual(twice.volumes, { created: [], skipped: ['workspace'], unavailable: [] });
  // No provisioner here: a volume made for the restored claim stands in for the one a CSI driver fills from the snapshot.
  await applyObjects(cluster, volumeFor({ ...workspace, pv: `${pv}-2`, hostPath: '/tmp/workspace-2' }));
  await kubectl(['wait', '--for=jsonpath={.status.phase}=Bound', '--timeout=60s', 'pvc/workspace', '-n', ns]);

  // Retention (keep the newest only) deletes the older backups and the VolumeSnapshots of the deleted ones.
  const stop2 = simulateSnapshotter(ns);
  let newest: BackupReport;
  try {
    newest = await execute<BackupReport>('backupPlatform', { ...input, retention: { keepLast: 1 } });
  } finally {
    await stop2();
  }
  assert.ok(newest.retention?.deleted.includes(report.backupId), JSON.stringify(newest.retention));
  assert.deepEqual(newest.retention?.volumeSnapshotsDeleted, [`${ns}/${name}`]);
  const newName = snapshotName(newest.backupId, 'workspace');
  let left: string[] = [];
  for (let i = 0; i < 40; i++) {
    left = (
      JSON.parse(await kubectl(['get', 'volumesnapshots', '-n', ns, '-o', 'json'])) as {
        items: { metadata: { name: string } }[];
      }
    ).items.map((v) => v.metadata.name);
    if (left.length === 1) break;
    await sleep(250);
  }
  assert.deepEqual(left, [newName]);

  // A snapshot that is gone: its PVC is reported, not created.
  await kubectl(['delete', 'volumesnapshot', newName, '-n', ns, '--wait=true', '--timeout=60s']);
  await kubectl(['delete', 'pvc', 'workspace', '-n', ns, '--wait=true', '--timeout=60s']);
  const gone = await execute<RestoreReport>('restorePlatform', { ...restoreInput, backupId: newest.backupId });
  assert.deepEqual(gone.volumes, {
    created: [],
    skipped: [],
    unavailable: [{ pvc: 'workspace', snapshot: `${ns}/${newName}`, reason: 'the VolumeSnapshot no longer exists' }],
  });
  assert.notEqual(
    (
      await execa(toolPath('kubectl'), ['get', 'pvc', 'workspace', '-n', ns, '--kubeconfig', cluster.kubeconfigPath], {
        reject: false,
      })
    ).exitCode,
    0,
  );
});
