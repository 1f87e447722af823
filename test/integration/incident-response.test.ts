// incidentResponse end to end on the real local cluster: the platform deployed by deployPlatform
// (real helm), its TaskRun controller running, a kwok node of the test's own in scope. Evidence is
// written before anything changes (files match their manifest hashes, the encrypted ones decrypt
// with the age CLI, the kwok-served logs are in them, no Secret value anywhere in plain text);
// containment after `approve` (Deployment at 0, the key blank, the NetworkPolicy, the node
// cordoned, no Job for a new TaskRun); `recover` undoes it all (replicas back, the key renewed, the
// policy gone, the node schedulable, the TaskRun gets its Job); integrity ok; report.md written.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import type { WorkflowHandle } from '@temporalio/client';
import { approveUpdate, incidentStateQuery, recoverUpdate } from '../../contract/incident-messages.ts';
import { INCIDENT_LABEL, type IncidentReport } from '../../contract/types/incident.ts';
import { SIMULATED_POD_LOG, SIMULATED_PREVIOUS_POD_LOG } from '../../scripts/stack/local-cluster.ts';
import { toolPath } from '../../scripts/stack/tools.ts';
import { binaryStdout } from '../helpers/binary-stdout.ts';
import { useTestCluster, uniqueNamespace, type TestCluster } from '../helpers/cluster.ts';
import { installTaskRunCrd, startControllerWorkflow } from '../helpers/taskrun.ts';
import { eventually } from '../helpers/eventually.ts';
import { setTestSecret } from '../helpers/secrets.ts';
import { uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal.ts';
import { applyObjects } from '../helpers/apply-objects.ts';
import { startWorkerStack } from '../helpers/worker-stack.ts';
import { kwokNode } from '../helpers/kwok-nodes.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const namespace = uniqueNamespace('incident');
const node = `${namespace}-node`;
const TAINT = 'platform-runbooks.io/incident-test';
const OLD_KEY = setTestSecret('INCIDENT_TEST_API_KEY', `old-${randomBytes(12).toString('hex')}`);
const NEW_KEY = setTestSecret('INCIDENT_TEST_NEW_KEY', `new-${randomBytes(12).toString('hex')}`);
setTestSecret('INCIDENT_TEST_HMAC_KEY', randomBytes(32).toString('hex'));
const store = mkdtempSync(join(tmpdir(), 'incident-store-'));
let temporal: TestTemporal;
let cluster: TestCluster;
let taskQueue: string;
let identity: string;
let recipient: string;

const getJson = async <T>(args: string[]): Promise<T> =>
  JSON.parse(await cluster.kubectl([...args, '-o', 'json'])) as T;
const secretKey = async () => {
  const s = await getJson<{ data?: Record<string, string> }>([
    'get',
    'secret',
    'orchestrator-secrets',
    '-n',
    namespace,
  ]);
  return Buffer.from(s.data?.ANTHROPIC_API_KEY ?? '', 'base64').toString('utf8');
};
const replicas = async () =>
  (await getJson<{ spec: { replicas: number } }>(['get', 'deployment', 'orchestrator', '-n', namespace])).spec.replicas;
const policies = async () =>
  (
    await getJson<{ items: { metadata: { name: string; labels?: Record<string, string> } }[] }>([
      'get',
      'networkpolicy',
      '-n',
      namespace,
    ])
  ).items;
const unschedulable = async () =>
  (await getJson<{ spec: { unschedulable?: boolean } }>(['get', 'node', node])).spec.unschedulable === true;
const jobsOf = async (taskRun: string) =>
  (
    await getJson<{ items: unknown[] }>([
      'get',
      'jobs',
      '-n',
      namespace,
      '-l',
      `taskrun.orchestrator.io/name=${taskRun}`,
    ])
  ).items.length;
const taskRun = (name: string) => ({
  apiVersion: 'orchestrator.io/v1',
  kind: 'TaskRun',
  metadata: { name, namespace },
  spec: { service: 'auth-service', taskId: `task-${name}`, prompt: `do ${name}` },
});

before(async () => {
  identity = await generateX25519Identity();
  recipient = await identityToRecipient(identity);
  const deps = {
    incidentDir: store,
    backupDir: join(store, 'backups'),
    backupKeys: { hmacKey: { env: 'INCIDENT_TEST_HMAC_KEY' } },
    secretSources: { envAllow: ['INCIDENT_TEST_*'], secretNamespaces: [] },
  };
  const stack = { prefix: 'incident-it', deps, namespaces: [namespace], dirs: [store] };
  ({ temporal, cluster, taskQueue } = await startWorkerStack(testTemporal, testCluster, stack));
  cluster.defer(() => cluster.kubectl(['delete', 'node', node, '--wait=false', '--ignore-not-found']));
  await installTaskRunCrd(cluster);
  // A node of the test's own (tainted: no other test's pods land there), to be cordoned.
  await applyObjects(cluster, kwokNode(node, { key: TAINT, value: 'x' }));
  await temporal.client.workflow.execute('deployPlatform', {
    taskQueue,
    workflowId: uniqueTaskQueue('incident-deploy'),
    args: [
      {
        namespace,
        skipHealthCheck: true,
        values: { replicaCount: 2 },
        secrets: [
          {
            name: 'orchestrator-secrets',
            keys: [{ key: 'ANTHROPIC_API_KEY', from: { env: 'INCIDENT_TEST_API_KEY' } }],
          },
        ],
      },
    ],
  });
  const controller = await startControllerWorkflow(temporal, taskQueue, { namespace, resyncSeconds: 30 });
  temporal.defer(() => controller.terminate('test finished').catch(() => undefined));
  await applyObjects(cluster, taskRun('before'));
  await eventually(
    'the controller creates a Job before the incident',
    async () => (await jobsOf('before')) === 1,
    60_000,
  );
});

async function decryptAge(file: string): Promise<Buffer> {
  const keyFile = join(store, 'identity.txt');
  writeFileSync(keyFile, `${identity}\n`, { mode: 0o600 });
  return gunzipSync(await binaryStdout(toolPath('age'), ['-d', '-i', keyFile, file]));
}

test('an incident end to end: evidence, approved containment, recovery, integrity, report', async () => {
  const started = Date.now();
  const incidentId = `inc-${namespace}`;
  const h: WorkflowHandle = await temporal.client.workflow.start('incidentResponse', {
    taskQueue,
    workflowId: uniqueTaskQueue('incident-it'),
    args: [
      {
        incidentId,
        severity: 'critical',
        summary: 'API key seen in a public log',
        recipients: [recipient],
        scope: { namespace, nodes: [node] },
        containment: { secrets: [{ name: 'orchestrator-secrets', keys: ['ANTHROPIC_API_KEY'] }] },
      },
    ],
  });
  await eventually(
    'awaiting approval',
    async () => (await h.query(incidentStateQuery)).phase === 'awaiting-approval',
    120_000,
  );

  // Evidence, before anything changed.
  assert.equal(await replicas(), 2);
  assert.equal(await secretKey(), OLD_KEY);
  const dir = join(store, incidentId);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    files: { file: string; sha256: string; encrypted: boolean; count: number }[];
    hmac: { value: string };
  };
  assert.ok(manifest.hmac.value.length === 64);
  const contents: Record<string, string> = {};
  for (const f of manifest.files) {
    const data = readFileSync(join(dir, f.file));
    assert.equal(createHash('sha256').update(data).digest('hex'), f.sha256, `${f.file} matches its hash`);
    assert.equal(f.file.endsWith('.age'), f.encrypted);
    contents[f.file.split('.')[0]!] = (f.encrypted ? await decryptAge(join(dir, f.file)) : gunzipSync(data)).toString(
      'utf8',
    );
    if (!f.encrypted) assert.ok(!contents[f.file.split('.')[0]!]!.includes(OLD_KEY), `${f.file} holds no Secret value`);
  }
  assert.deepEqual(Object.keys(contents).sort(), [
    'access-review',
    'configmaps-metadata',
    'events',
    'helm-release',
    'images',
    'logs',
    'nodes',
    'owners',
    'pods',
    'rbac',
    'secrets-metadata',
  ]);
  const logs = contents
    .logs!.trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { pod: string; previous: boolean; text?: string });
  const orchestratorLogs = logs.filter((l) => l.pod.startsWith('orchestrator-'));
  assert.ok(
    orchestratorLogs.some((l) => !l.previous && l.text?.includes(SIMULATED_POD_LOG)),
    'current logs captured',
  );
  assert.ok(
    orchestratorLogs.some((l) => l.previous && l.text?.includes(SIMULATED_PREVIOUS_POD_LOG)),
    'previous container logs captured',
  );
  assert.match(contents['secrets-metadata']!, /"orchestrator-secrets"/);
  assert.match(contents['secrets-metadata']!, /"ANTHROPIC_API_KEY"/);
  assert.match(contents.rbac!, /"RoleBinding"/);
  // The chart's Role: the orchestrator reads ConfigMaps, never Secrets.
  assert.match(contents['access-review']!, /"verb":"list","resource":"configmaps","namespace":"[^"]+","allowed":true/);
  assert.match(contents['access-review']!, /"verb":"get","resource":"secrets","namespace":"[^"]+","allowed":false/);
  assert.match(contents.images!, /ghcr.io\/example\/orchestrator/);
  assert.match(contents['helm-release']!, /"replicaCount":2/);

  // Containment after approval.
  await h.executeUpdate(approveUpdate, { args: [{ phase: 'containment', by: 'alice', reason: 'confirmed' }] });
  await eventually('contained', async () => (await h.query(incidentStateQuery)).phase === 'contained', 120_000);
  assert.equal(await replicas(), 0);
  assert.equal(await secretKey(), '', 'the key is blank while contained');
  const contained = await policies();
  assert.equal(contained.length, 1);
  assert.equal(contained[0]!.metadata.labels?.[INCIDENT_LABEL], incidentId);
  assert.equal(await unschedulable(), true);
  const state = await h.query(incidentStateQuery);
  const suspend = state.containment.find((c) => c.action.kind === 'suspend-controller')!.action as {
    suspended: boolean;
    detail: string;
  };
  assert.equal(suspend.suspended, true);
  assert.match(suspend.detail, /acknowledged/);
  const blanked = state.containment.find((c) => c.action.kind === 'blank-secret')!.action as {
    keys: { fingerprint: string }[];
  };
  assert.equal(
    blanked.keys[0]!.fingerprint,
    `sha256:${createHash('sha256').update(OLD_KEY).digest('hex').slice(0, 12)}`,
  );
  // The controller creates no Job while contained (it sees the TaskRun: two resyncs' worth of time would be long; 8 s of watch events).
  await applyObjects(cluster, taskRun('during'));
  await sleep(8000);
  assert.equal(await jobsOf('during'), 0, 'no Job while contained');

  await h.executeUpdate(recoverUpdate, {
    args: [
      {
        by: 'bob',
        reason: 'key revoked upstream',
        options: {
          credentials: [
            { secret: 'orchestrator-secrets', key: 'ANTHROPIC_API_KEY', from: { env: 'INCIDENT_TEST_NEW_KEY' } },
          ],
        },
      },
    ],
  });
  const report = (await h.result()) as IncidentReport;
  const seconds = Math.round((Date.now() - started) / 1000);
  console.error(
    `incident-response: end to end ${seconds} s; evidence ${report.evidence.files.length} files; integrity ${report.integrity?.ok}`,
  );

  assert.equal(report.outcome, 'recovered');
  assert.equal(await replicas(), 2, 'replicas restored');
  assert.equal(await secretKey(), NEW_KEY, 'the key is renewed');
  assert.deepEqual(await policies(), [], 'the NetworkPolicy is removed');
  assert.equal(await unschedulable(), false);
  await eventually(
    'the controller resumes: the TaskRun gets its Job',
    async () => (await jobsOf('during')) === 1,
    60_000,
  );
  assert.ok(report.integrity?.ok, `integrity: ${JSON.stringify(report.integrity)}`);
  assert.ok(existsSync(report.reportFile));
  assert.equal(readFileSync(report.reportFile, 'utf8'), report.markdown);
  assert.match(report.markdown, /\| containment approved \| confirmed \| alice \|/);
  assert.ok(report.markdown.includes(report.evidence.manifestSha256));
  assert.ok(!report.markdown.includes(OLD_KEY) && !report.markdown.includes(NEW_KEY));
  // A re-run under the same incident id reuses the evidence (and nothing was contained: the deadline passes).
  const again = (await temporal.client.workflow.execute('incidentResponse', {
    taskQueue,
    workflowId: uniqueTaskQueue('incident-again'),
    args: [
      {
        incidentId,
        severity: 'low',
        summary: 're-run',
        recipients: [recipient],
        scope: { namespace },
        approvals: { containment: 'required', deadlineSeconds: 1 },
      },
    ],
  })) as IncidentReport;
  assert.equal(again.evidence.reused, true);
  assert.equal(again.evidence.manifestSha256, report.evidence.manifestSha256);
  assert.equal(again.outcome, 'not-contained');
});
