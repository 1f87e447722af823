// deployPlatform with mocked activities: success, dry run (no writes), invalid input, health failure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { INVALID_INPUT } from '../../contract/failures.ts';
import type { DeployReport } from '../../contract/messages.ts';
import { recordHistory } from '../helpers/record-history.ts';
import { uniqueTaskQueue, useTestTemporal, withTestWorker } from '../helpers/temporal.ts';

const testTemporal = useTestTemporal();
const WRITES = ['ensureNamespaces', 'applyChartCrds', 'applySecrets', 'helmUpgradeInstall:write', 'waitReleaseRollout'];

function mockActivities(calls: string[], healthOk = true) {
  const record = (name: string) => calls.push(name);
  return {
    planPlatformObjects: async () => (
      record('planPlatformObjects'),
      {
        namespaces: [{ kind: 'Namespace', name: 'orchestrator', exists: false }],
        crds: [{ kind: 'CustomResourceDefinition', name: 'taskruns.orchestrator.io', exists: false }],
        secrets: [{ name: 'orchestrator-secrets', keys: ['ANTHROPIC_API_KEY'], exists: false }],
      }
    ),
    helmStatus: async () => (record('helmStatus'), null),
    helmUpgradeInstall: async (req: { dryRun?: string }) => {
      record(req.dryRun ? `helmUpgradeInstall:dry-run-${req.dryRun}` : 'helmUpgradeInstall:write');
      return {
        changed: true,
        revision: req.dryRun ? 0 : 1,
        status: req.dryRun ? 'pending-install' : 'deployed',
        digest: 'd',
        objects: ['Deployment/orchestrator'],
      };
    },
    ensureNamespaces: async (names: string[]) => (
      record('ensureNamespaces'),
      names.map((name) => ({ name, changed: true }))
    ),
    applyChartCrds: async () => (record('applyChartCrds'), [{ name: 'taskruns.orchestrator.io', changed: true }]),
    waitCrdsEstablished: async () => void record('waitCrdsEstablished'),
    applySecrets: async () => (
      record('applySecrets'),
      [
        {
          namespace: 'orchestrator',
          name: 'orchestrator-secrets',
          keys: [{ key: 'ANTHROPIC_API_KEY', fingerprint: 'sha256:abc' }],
          changed: true,
        },
      ]
    ),
    waitReleaseRollout: async () => (
      record('waitReleaseRollout'),
      [{ deployment: 'orchestrator', ready: 1, replicas: 1 }]
    ),
    probeOrchestrator: async () => (
      record('probeOrchestrator'),
      {
        checked: true,
        via: 'url',
        ok: healthOk,
        statusCode: healthOk ? 200 : 500,
        detail: healthOk ? 'answered 200' : 'answered 500: unhealthy',
      }
    ),
  };
}

async function run(activities: object, input: unknown) {
  const temporal = await testTemporal();
  return withTestWorker(temporal, activities, 'deploy', async (taskQueue) => {
    const handle = await temporal.client.workflow.start('deployPlatform', {
      taskQueue,
      workflowId: uniqueTaskQueue('deployPlatform'),
      args: [input],
    });
    const outcome = await handle.result().then(
      (report) => ({ report: report as DeployReport, error: undefined }),
      (error: unknown) => ({ report: undefined, error }),
    );
    return { ...outcome, handle };
  });
}

const secrets = [
  { name: 'orchestrator-secrets', keys: [{ key: 'ANTHROPIC_API_KEY', from: { env: 'ANTHROPIC_API_KEY' } }] },
];

test('deploy: every step in order, secrets reported by fingerprint only', async () => {
  const calls: string[] = [];
  const { report, error, handle } = await run(mockActivities(calls), {
    secrets,
    healthUrl: 'http://127.0.0.1:9/health',
  });
  await recordHistory(handle, 'deployPlatform-success');
  assert.equal(error, undefined);
  assert.deepEqual(calls, [
    'planPlatformObjects',
    'helmStatus',
    'helmUpgradeInstall:dry-run-client',
    'ensureNamespaces',
    'applyChartCrds',
    'waitCrdsEstablished',
    'applySecrets',
    'helmUpgradeInstall:write',
    'waitReleaseRollout',
    'probeOrchestrator',
  ]);
  assert.equal(report?.helm?.revision, 1);
  assert.equal(report?.secrets?.[0]?.keys[0]?.fingerprint, 'sha256:abc');
});

test('dryRun returns the plan and writes nothing', async () => {
  const calls: string[] = [];
  const { report } = await run(mockActivities(calls), { dryRun: true, secrets });
  assert.equal(report?.dryRun, true);
  assert.equal(report?.plan.helm.willChange, true);
  assert.deepEqual(report?.plan.helm.objects, ['Deployment/orchestrator']);
  for (const write of WRITES) assert.ok(!calls.includes(write), `${write} must not run in a dry run`);
});

test('invalid input names every bad field and changes nothing', async () => {
  const calls: string[] = [];
  const { error } = await run(mockActivities(calls), {
    namespace: 'UPPER',
    chart: { url: 'x' },
    secrets: [{ name: 's', keys: [{ key: 'k', from: { value: 'plaintext' } }] }],
  });
  assert.ok(error instanceof WorkflowFailedError);
  assert.ok(error.cause instanceof ApplicationFailure);
  assert.equal(error.cause.type, INVALID_INPUT);
  for (const field of ['namespace', 'chart', 'secrets.0.keys.0.from'])
    assert.match(error.cause.message, new RegExp(`${field.replace(/\./g, '\\.')}:`));
  assert.deepEqual(calls, []);
});

test('an unhealthy platform after the rollout fails the deploy with the reason', async () => {
  const calls: string[] = [];
  const { error } = await run(mockActivities(calls, false), { healthUrl: 'http://127.0.0.1:9/health' });
  assert.ok(error instanceof WorkflowFailedError);
  assert.match(String(error.cause?.message), /health check failed: answered 500/);
});
