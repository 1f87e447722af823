// deployPlatform, upgradePlatform and rotateSecret end to end: real dev server, real worker with
// real activities, real local cluster, real helm. The tests run in order on one namespace.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { DeployReport, UpgradeReport } from '../../contract/messages.ts';
import type { RotateSecretReport } from '../../contract/types/rotate-secret.ts';
import { useTestCluster, uniqueNamespace, type TestCluster } from '../helpers/cluster.ts';
import { startProbeServer } from '../helpers/http-probe-server.ts';
import { uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal.ts';
import { setTestSecret } from '../helpers/secrets.ts';
import { deploymentImage, helmHistory, restartStamp } from '../helpers/release-state.ts';
import { startWorkerStack } from '../helpers/worker-stack.ts';
import { historyText } from '../helpers/history-text.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const namespace = uniqueNamespace('platform');
const release = 'orchestrator';
// Secret values come from the worker's environment; the test puts them there.
const FIRST_VALUE = `first-${namespace}-value`;
const ROTATED_VALUE = `rotated-${namespace}-value`;
setTestSecret('LIFECYCLE_TEST_API_KEY', FIRST_VALUE);
setTestSecret('LIFECYCLE_TEST_ROTATED_KEY', ROTATED_VALUE);

let temporal: TestTemporal;
let cluster: TestCluster;
let taskQueue: string;
let healthUrl: string;

before(async () => {
  const stack = { prefix: 'lifecycle', namespaces: [namespace] };
  ({ temporal, cluster, taskQueue } = await startWorkerStack(testTemporal, testCluster, stack));
  const probe = await startProbeServer();
  healthUrl = probe.url('/health');
  cluster.defer(() => probe.close());
});

async function execute<T>(workflow: string, input: unknown): Promise<{ result: T; workflowId: string }> {
  const workflowId = uniqueTaskQueue(workflow);
  const result = (await temporal.client.workflow.execute(workflow, { taskQueue, workflowId, args: [input] })) as T;
  return { result, workflowId };
}

const helmRevisions = async () => (await helmHistory(cluster, namespace, release)).length;
const image = () => deploymentImage(cluster, namespace, release);
const secretValue = async (key: string) =>
  Buffer.from(
    (
      await cluster.kubectl(['get', 'secret', 'orchestrator-secrets', '-n', namespace, '-o', `jsonpath={.data.${key}}`])
    ).trim(),
    'base64',
  ).toString('utf8');

const deployInput = () => ({
  namespace,
  release,
  values: { image: { tag: '1.0.0' } },
  healthUrl,
  secrets: [
    { name: 'orchestrator-secrets', keys: [{ key: 'ANTHROPIC_API_KEY', from: { env: 'LIFECYCLE_TEST_API_KEY' } }] },
  ],
});

test('deployPlatform installs the platform; the secret value never enters history', async () => {
  const { result, workflowId } = await execute<DeployReport>('deployPlatform', deployInput());
  assert.equal(result.helm?.revision, 1);
  assert.equal(result.helm?.changed, true);
  assert.deepEqual(
    result.rollout?.map((r) => r.deployment),
    [release],
  );
  assert.equal(result.health?.ok, true);
  assert.equal(result.health?.probe, 'url', 'the report says which probe answered');
  assert.equal(await image(), 'ghcr.io/example/orchestrator:1.0.0');
  assert.equal(await secretValue('ANTHROPIC_API_KEY'), FIRST_VALUE);
  assert.ok((await cluster.kubectl(['get', 'crd', 'taskruns.orchestrator.io', '-o', 'name'])).includes('taskruns'));
  assert.ok(
    !(await historyText(temporal.client, workflowId)).includes(FIRST_VALUE),
    'the secret value is in the workflow history',
  );
});

test('deployPlatform again changes nothing: no new Helm revision', async () => {
  const { result } = await execute<DeployReport>('deployPlatform', deployInput());
  assert.equal(result.helm?.changed, false);
  assert.equal(result.helm?.revision, 1);
  assert.equal(result.plan.helm.willChange, false);
  assert.equal(await helmRevisions(), 1);
});

test('deployPlatform dryRun returns the plan and changes nothing', async () => {
  const { result } = await execute<DeployReport>('deployPlatform', {
    ...deployInput(),
    values: { image: { tag: '9.9.9' } },
    dryRun: true,
  });
  assert.equal(result.plan.helm.willChange, true);
  assert.equal(result.plan.helm.currentRevision, 1);
  assert.ok(
    result.plan.helm.objects.some((o) => o.startsWith('Deployment/')),
    result.plan.helm.objects.join(),
  );
  assert.equal(await helmRevisions(), 1);
  assert.equal(await image(), 'ghcr.io/example/orchestrator:1.0.0');
});

test('upgradePlatform to a new tag: revision 2, rolled out, smoke test passes', async () => {
  const { result } = await execute<UpgradeReport>('upgradePlatform', {
    namespace,
    release,
    imageTag: '1.1.0',
    smokeTest: { healthUrl },
  });
  assert.equal(result.outcome, 'succeeded');
  assert.deepEqual(
    result.revisions.map((r) => [r.revision, r.action]),
    [[2, 'upgrade']],
  );
  assert.deepEqual([result.smokeTest?.ok, result.smokeTest?.probe, result.smokeTest?.version], [true, 'url', 'test']);
  assert.equal(await image(), 'ghcr.io/example/orchestrator:1.1.0');
});

test('upgradePlatform to a tag that never becomes ready rolls back to a healthy revision', async () => {
  const { result } = await execute<UpgradeReport>('upgradePlatform', {
    namespace,
    release,
    imageTag: 'broken',
    onFailure: 'rollback',
    smokeTest: { healthUrl },
    timeouts: { rolloutSeconds: 15 },
  });
  assert.equal(result.outcome, 'rolled-back');
  assert.deepEqual(
    result.revisions.map((r) => [r.revision, r.action]),
    [
      [3, 'upgrade'],
      [4, 'rollback'],
    ],
  );
  assert.match(result.failures[0] ?? '', /timed out|deadline|not ready/i);
  assert.equal(result.final.status, 'deployed');
  assert.equal(await image(), 'ghcr.io/example/orchestrator:1.1.0');
  const ready = (
    await cluster.kubectl([
      'get',
      'deployment',
      release,
      '-n',
      namespace,
      '-o',
      'jsonpath={.status.readyReplicas}/{.status.updatedReplicas}/{.spec.replicas}',
    ])
  ).trim();
  assert.match(ready, /^(\d+)\/\1\/\1$/);
});

test('rotateSecret replaces one key, restarts the Deployment once, and keeps the value out of history', async () => {
  const { result, workflowId } = await execute<RotateSecretReport>('rotateSecret', {
    namespace,
    key: 'ANTHROPIC_API_KEY',
    from: { env: 'LIFECYCLE_TEST_ROTATED_KEY' },
    restart: [release],
    healthUrl,
  });
  assert.equal(result.changed, true);
  assert.match(result.fingerprint, /^sha256:[0-9a-f]{12}$/);
  assert.equal(await secretValue('ANTHROPIC_API_KEY'), ROTATED_VALUE);
  const stamp = await restartStamp(cluster, namespace, release);
  assert.ok(stamp.startsWith(`${workflowId}/`), stamp);
  const history = await historyText(temporal.client, workflowId);
  assert.ok(
    !history.includes(ROTATED_VALUE) && !history.includes(FIRST_VALUE),
    'a secret value is in the workflow history',
  );
});
