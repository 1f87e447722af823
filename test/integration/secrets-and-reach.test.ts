// rotateSecret on the local cluster after deployPlatform: rotating one key keeps every other key of
// the Secret, a re-run restarts the pods again, and the worker's own credentials or env vars outside
// its allowlist are refused before anything is written; so are chart paths and values files outside
// the worker's chart and values directories.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { SECRET_SOURCE_REFUSED } from '../../contract/failures.ts';
import type { RotateSecretReport } from '../../contract/types/rotate-secret.ts';
import { useTestCluster, uniqueNamespace, type TestCluster } from '../helpers/cluster.ts';
import { eventually } from '../helpers/eventually.ts';
import { uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal.ts';
import { setTestSecret } from '../helpers/secrets.ts';
import { applyObjects } from '../helpers/apply-objects.ts';
import { deploymentField, restartStamp } from '../helpers/release-state.ts';
import { startWorkerStack } from '../helpers/worker-stack.ts';
import { startControllerWorkflow } from '../helpers/taskrun.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const namespace = uniqueNamespace('rotate');
const release = 'orchestrator';
const values = {
  API_KEY: `api-${namespace}-first`,
  TOKEN: `token-${namespace}-kept`,
  ROTATED: `api-${namespace}-rotated`,
};
setTestSecret('ROTATE_TEST_API_KEY', values.API_KEY);
setTestSecret('ROTATE_TEST_TOKEN', values.TOKEN);
setTestSecret('ROTATE_TEST_ROTATED', values.ROTATED);
setTestSecret('RUNBOOK_BACKUP_HMAC_KEY', process.env.RUNBOOK_BACKUP_HMAC_KEY ?? `rotate-test-hmac-${randomUUID()}`);

let temporal: TestTemporal;
let cluster: TestCluster;
let taskQueue: string;

before(async () => {
  const stack = { prefix: 'rotate', namespaces: [namespace] };
  ({ temporal, cluster, taskQueue } = await startWorkerStack(testTemporal, testCluster, stack));
});

const execute = <T>(workflow: string, input: unknown, workflowId = uniqueTaskQueue(workflow)) =>
  temporal.client.workflow.execute(workflow, { taskQueue, workflowId, args: [input] }) as Promise<T>;

async function secretData(): Promise<Record<string, string>> {
  const json = JSON.parse(
    await cluster.kubectl(['get', 'secret', 'orchestrator-secrets', '-n', namespace, '-o', 'json']),
  ) as { data: Record<string, string> };
  return Object.fromEntries(Object.entries(json.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}
const stamp = () => restartStamp(cluster, namespace, release);

const rotateInput = (from: unknown) => ({
  namespace,
  key: 'ANTHROPIC_API_KEY',
  from,
  restart: [release],
  skipHealthCheck: true,
});

function assertRefused(err: unknown, pattern: RegExp): true {
  assert.ok(err instanceof WorkflowFailedError, String(err));
  let cause: unknown = err.cause;
  while (
    cause instanceof Error &&
    !(cause instanceof ApplicationFailure && cause.type === SECRET_SOURCE_REFUSED) &&
    cause.cause
  )
    cause = cause.cause;
  assert.ok(cause instanceof ApplicationFailure, String(cause));
  assert.equal(cause.type, SECRET_SOURCE_REFUSED);
  assert.match(cause.message, pattern);
  return true;
}

test('deployPlatform writes a Secret with two keys', async () => {
  await execute('deployPlatform', {
    namespace,
    release,
    skipHealthCheck: true,
    secrets: [
      {
        name: 'orchestrator-secrets',
        keys: [
          { key: 'ANTHROPIC_API_KEY', from: { env: 'ROTATE_TEST_API_KEY' } },
          { key: 'GITHUB_TOKEN', from: { env: 'ROTATE_TEST_TOKEN' } },
        ],
      },
    ],
  });
  assert.deepEqual(await secretData(), { ANTHROPIC_API_KEY: values.API_KEY, GITHUB_TOKEN: values.TOKEN });
});

test("one reconciler: deployPlatform turns the orchestrator's own off; a TaskRun gets one Job from the workflow controller", async () => {
  const envJson = await deploymentField(cluster, namespace, '{.spec.template.spec.containers[0].env}', release);
  const env = JSON.parse(envJson) as { name: string; value?: string }[];
  assert.equal(env.find((e) => e.name === 'TASKRUN_RECONCILER_ENABLED')?.value, 'false');
  const controller = await startControllerWorkflow(temporal, taskQueue, { namespace, resyncSeconds: 30 });
  try {
    await applyObjects(cluster, {
      apiVersion: 'orchestrator.io/v1',
      kind: 'TaskRun',
      metadata: { name: 'one-job', namespace },
      spec: { service: 'svc', taskId: 't-1', prompt: 'p' },
    });
    await eventually(
      'the TaskRun to succeed',
      async () =>
        (
          await cluster.kubectl(['get', 'taskrun', 'one-job', '-n', namespace, '-o', 'jsonpath={.status.phase}'])
        ).trim() === 'Succeeded'
          ? true
          : undefined,
      120_000,
      250,
    );
    const jobs = (await cluster.kubectl(['get', 'jobs', '-n', namespace, '-l', 'app=claude-agent', '-o', 'name']))
      .trim()
      .split('\n')
      .filter(Boolean);
    assert.equal(jobs.length, 1, jobs.join(', '));
  } finally {
    await controller.terminate('test done');
  }
});

test('rotateSecret of one key leaves every other key as it was', async () => {
  const report = await execute<RotateSecretReport>('rotateSecret', rotateInput({ env: 'ROTATE_TEST_ROTATED' }));
  assert.equal(report.changed, true);
  assert.deepEqual(await secretData(), { ANTHROPIC_API_KEY: values.ROTATED, GITHUB_TOKEN: values.TOKEN });
});

test('deployPlatform again keeps the rotated value of a key it does not name', async () => {
  await execute('deployPlatform', {
    namespace,
    release,
    skipHealthCheck: true,
    secrets: [{ name: 'orchestrator-secrets', keys: [{ key: 'GITHUB_TOKEN', from: { env: 'ROTATE_TEST_TOKEN' } }] }],
  });
  assert.deepEqual(await secretData(), { ANTHROPIC_API_KEY: values.ROTATED, GITHUB_TOKEN: values.TOKEN });
});

test('rotateSecret re-run under the same workflow id restarts the pods again', async () => {
  const workflowId = uniqueTaskQueue('rotate-rerun');
  await execute('rotateSecret', rotateInput({ env: 'ROTATE_TEST_ROTATED' }), workflowId);
  const first = await stamp();
  await execute('rotateSecret', rotateInput({ env: 'ROTATE_TEST_ROTATED' }), workflowId);
  const second = await stamp();
  assert.ok(first.startsWith(workflowId), first);
  assert.notEqual(second, first, 'the second run did not restart the Deployment');
});

test("the worker's own credentials are never copied into a Secret", async () => {
  const before = await secretData();
  await assert.rejects(execute('rotateSecret', rotateInput({ env: 'RUNBOOK_BACKUP_HMAC_KEY' })), (err) =>
    assertRefused(err, /RUNBOOK_BACKUP_HMAC_KEY.*worker's own credentials/),
  );
  await assert.rejects(execute('rotateSecret', rotateInput({ env: 'PATH' })), (err) =>
    assertRefused(err, /PATH.*allowlist/),
  );
  assert.deepEqual(await secretData(), before);
});

test('Secrets of a namespace outside the allowlist are not read', async () => {
  await assert.rejects(
    execute('rotateSecret', rotateInput({ secret: { name: 'any', key: 'token', namespace: 'kube-system' } })),
    (err) => assertRefused(err, /namespace kube-system may not be read/),
  );
  await assert.rejects(
    execute('deployPlatform', {
      namespace,
      release,
      skipHealthCheck: true,
      secrets: [{ name: 'orchestrator-secrets', keys: [{ key: 'X', from: { env: 'RUNBOOK_BACKUP_HMAC_KEY' } }] }],
    }),
    (err) => assertRefused(err, /secrets\[0\]\.keys\[0\]\.from/),
  );
});

test("files outside the worker's chart and values directories are refused before anything is written", async () => {
  const helmRevisions = async () =>
    (await cluster.kubectl(['get', 'secrets', '-n', namespace, '-l', 'owner=helm', '-o', 'name'])).trim().split('\n')
      .length;
  const before = await helmRevisions();
  for (const [input, field] of [
    [{ valuesFiles: ['/etc/passwd'] }, /valuesFiles\[0\]: \/etc\/passwd is outside/],
    [{ valuesFiles: ['charts/../package.json'] }, /valuesFiles\[0\]: charts\/\.\.\/package\.json is outside/],
    [{ chart: { path: '/etc' } }, /chart\.path: \/etc is outside/],
  ] as const) {
    await assert.rejects(
      execute('deployPlatform', { namespace, release, skipHealthCheck: true, ...input }),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        let cause: unknown = err.cause;
        while (cause instanceof Error && !(cause instanceof ApplicationFailure) && cause.cause) cause = cause.cause;
        assert.match(String((cause as Error).message), field);
        return true;
      },
    );
  }
  assert.equal(await helmRevisions(), before);
});
