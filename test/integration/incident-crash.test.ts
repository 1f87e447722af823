// incidentResponse survives a SIGKILLed worker between its containment steps (after the scale,
// after the key is blanked, after the NetworkPolicy) and during recovery (after the uncordon): each
// time a new worker process resumes it. Every action is recorded once with what was there before
// the incident (a retried scale still records 3 replicas, a retried blank the old key's
// fingerprint), and every compensation completes once: replicas 3, the key renewed (the other key
// untouched), the policy gone, the node schedulable.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { recoverUpdate, incidentStateQuery } from '../../contract/incident-messages.ts';
import type { IncidentReport } from '../../contract/types/incident.ts';
import { useTestCluster, uniqueNamespace } from '../helpers/cluster.ts';
import { eventually } from '../helpers/eventually.ts';
import { setTestSecret } from '../helpers/secrets.ts';
import { completedActivities } from '../helpers/step-boundary-kill.ts';
import { uniqueTaskQueue, useTestTemporal } from '../helpers/temporal.ts';
import { recordReliability } from '../reliability/report.ts';
import { applyObjects } from '../helpers/apply-objects.ts';
import { crashWorkers, killAtBoundaries } from '../helpers/crash-workers.ts';
import { kwokNode } from '../helpers/kwok-nodes.ts';
import { deployment } from '../helpers/workloads.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
const TAINT = 'platform-runbooks.io/incident-crash-test';

test('SIGKILL between containment steps and during recovery: each action recorded once, each compensation run once', async () => {
  const temporal = await testTemporal();
  const cluster = await testCluster();
  const namespace = uniqueNamespace('incident-crash');
  const node = `${namespace}-node`;
  const taskQueue = uniqueTaskQueue('incident-crash');
  const incidentId = `crash-${namespace}`;
  const oldKey = setTestSecret('INCIDENT_CRASH_TEST_OLD_KEY', `old-${randomBytes(12).toString('hex')}`);
  const other = setTestSecret('INCIDENT_CRASH_TEST_OTHER', `other-${randomBytes(12).toString('hex')}`);
  const newKey = setTestSecret('INCIDENT_CRASH_TEST_NEW_KEY', `new-${randomBytes(12).toString('hex')}`);
  const hmac = setTestSecret('INCIDENT_CRASH_TEST_HMAC', randomBytes(32).toString('hex'));
  // The worker process writes evidence to its default directory (<repo>/.data/incidents/<id>).
  const evidenceDir = fileURLToPath(new URL(`../../.data/incidents/${incidentId}`, import.meta.url));
  const workers = crashWorkers(temporal, cluster, taskQueue, {
    RUNBOOK_SECRET_ENV_ALLOW: 'INCIDENT_CRASH_TEST_*',
    RUNBOOK_BACKUP_HMAC_KEY: hmac,
    INCIDENT_CRASH_TEST_NEW_KEY: newKey,
  });
  cluster.defer(async () => {
    await workers.stopAll();
    await cluster.kubectl(['delete', 'namespace', namespace, '--wait=false']);
    await cluster.kubectl(['delete', 'node', node, '--wait=false', '--ignore-not-found']);
    rmSync(evidenceDir, { recursive: true, force: true });
  });

  await cluster.kubectl(['create', 'namespace', namespace]);
  await applyObjects(
    cluster,
    kwokNode(node, { key: TAINT, value: 'x' }),
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'orchestrator-secrets', namespace },
      stringData: { ANTHROPIC_API_KEY: oldKey, GITHUB_TOKEN: other },
    },
    deployment('orchestrator', namespace, 3, {
      containers: [
        { name: 'app', image: 'example/orchestrator:1', envFrom: [{ secretRef: { name: 'orchestrator-secrets' } }] },
      ],
    }),
  );
  await cluster.kubectl(['rollout', 'status', 'deployment/orchestrator', '-n', namespace, '--timeout=60s']);

  const started = Date.now();
  const first = await workers.start();
  const handle = await temporal.client.workflow.start('incidentResponse', {
    taskQueue,
    workflowId: uniqueTaskQueue('incident-crash'),
    args: [
      {
        incidentId,
        severity: 'high',
        summary: 'crash test',
        recipients: [RECIPIENT],
        approvals: { containment: 'auto' },
        scope: { namespace, nodes: [node] },
        containment: {
          secrets: [{ name: 'orchestrator-secrets', keys: ['ANTHROPIC_API_KEY'] }],
          suspendController: false,
        },
      },
    ],
  });
  const containKills = await killAtBoundaries(handle, first, workers, [
    [3, 'scaleForIncident'],
    [4, 'blankSecretKeys'],
    [5, 'applyIncidentNetworkPolicy'],
  ]);
  await eventually(
    'contained',
    async () => (await handle.query(incidentStateQuery)).phase === 'contained',
    180_000,
    500,
  );
  const blank = JSON.parse(
    await cluster.kubectl(['get', 'secret', 'orchestrator-secrets', '-n', namespace, '-o', 'json']),
  ) as { data: Record<string, string> };
  assert.equal(blank.data.ANTHROPIC_API_KEY ?? '', '');
  await handle.executeUpdate(recoverUpdate, {
    args: [
      {
        by: 'test',
        reason: 'crash test',
        options: {
          credentials: [
            { secret: 'orchestrator-secrets', key: 'ANTHROPIC_API_KEY', from: { env: 'INCIDENT_CRASH_TEST_NEW_KEY' } },
          ],
        },
      },
    ],
  });
  const recoverKills = await killAtBoundaries(handle, containKills.last, workers, [[7, 'uncordonNode']]);
  const report = (await handle.result()) as IncidentReport;
  const seconds = Math.round((Date.now() - started) / 1000);

  const done = await completedActivities(handle);
  const count = (type: string) => done.filter((t) => t === type).length;
  const secret = JSON.parse(
    await cluster.kubectl(['get', 'secret', 'orchestrator-secrets', '-n', namespace, '-o', 'json']),
  ) as { data: Record<string, string> };
  const data = Object.fromEntries(
    Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
  const replicas = Number(
    (
      await cluster.kubectl(['get', 'deployment', 'orchestrator', '-n', namespace, '-o', 'jsonpath={.spec.replicas}'])
    ).trim(),
  );
  const policies = (await cluster.kubectl(['get', 'networkpolicy', '-n', namespace, '-o', 'name'])).trim();
  const cordoned = (await cluster.kubectl(['get', 'node', node, '-o', 'jsonpath={.spec.unschedulable}'])).trim();
  const kills = containKills.killedAt.length + recoverKills.killedAt.length;
  const compensations = ['uncordonNode', 'deleteIncidentNetworkPolicy', 'applySecrets', 'scaleBackAfterIncident'];
  await recordReliability('incident-crash', {
    runs: 1,
    crashes: kills,
    lost: replicas === 3 && data.ANTHROPIC_API_KEY === newKey ? 0 : 1,
    duplicates: compensations.reduce((n, c) => n + Math.max(0, count(c) - 1), 0),
  });
  console.error(
    `incident-crash: ${kills} kills (${[...containKills.killedAt, ...recoverKills.killedAt].join('; ')}), ${seconds} s`,
  );

  assert.equal(kills, 4);
  assert.equal(report.outcome, 'recovered');
  assert.deepEqual(
    report.containment.map((c) => c.action.kind),
    ['scale', 'blank-secret', 'network-policy', 'cordon'],
  );
  assert.deepEqual(
    report.containment.map((c) => (c.action.kind === 'scale' ? c.action.replicas : undefined))[0],
    3,
    'the recorded replicas are the ones before the incident',
  );
  const blanked = report.containment[1]!.action as { keys: { fingerprint: string }[] };
  assert.equal(
    blanked.keys[0]!.fingerprint,
    `sha256:${createHash('sha256').update(oldKey).digest('hex').slice(0, 12)}`,
  );
  for (const c of compensations) assert.equal(count(c), 1, `${c} completed once`);
  assert.ok(report.containment.every((c) => c.compensated));
  assert.equal(replicas, 3);
  assert.deepEqual(data, { ANTHROPIC_API_KEY: newKey, GITHUB_TOKEN: other });
  assert.equal(policies, '');
  assert.equal(cordoned, '');
});
