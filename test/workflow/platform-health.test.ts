// platformHealth on the real dev server, with mocked activities: every branch of the workflow.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../activities/index.ts';
import { KUBE_FORBIDDEN, KUBE_UNAVAILABLE, INVALID_INPUT } from '../../contract/failures.ts';
import { progressQuery, type PlatformHealthReport } from '../../contract/messages.ts';
import type { PlatformHealthInput } from '../../contract/types/platform-health.ts';
import { recordHistory } from '../helpers/record-history.ts';
import { healthyClusterIdentity, healthyNodes, healthyPods } from '../helpers/healthy-cluster.ts';
import { uniqueTaskQueue, useTestTemporal, withTestWorker } from '../helpers/temporal.ts';

type HealthActivities = Pick<
  Activities,
  'describeCluster' | 'checkNodes' | 'checkPods' | 'countTaskRuns' | 'probeOrchestrator'
>;

function healthyActivities(calls: string[]): HealthActivities {
  return {
    async describeCluster() {
      calls.push('describeCluster');
      return healthyClusterIdentity();
    },
    async checkNodes() {
      calls.push('checkNodes');
      return healthyNodes();
    },
    async checkPods(namespace) {
      calls.push(`checkPods:${namespace}`);
      return healthyPods(namespace);
    },
    async countTaskRuns(namespace) {
      calls.push(`countTaskRuns:${namespace}`);
      return { crdInstalled: true, total: 3, byPhase: { Succeeded: 3 } };
    },
    async probeOrchestrator(req) {
      calls.push(`probe:${req.healthUrl ?? req.serviceName}`);
      return {
        checked: true,
        via: req.healthUrl ? 'url' : 'service-proxy',
        ok: true,
        statusCode: 200,
        detail: 'answered 200',
      };
    },
  };
}

const testTemporal = useTestTemporal();

async function run(activities: HealthActivities, input: PlatformHealthInput | Record<string, unknown>) {
  const temporal = await testTemporal();
  // Queries need a running worker, so the progress is read before the worker stops.
  return withTestWorker(temporal, activities, 'health', async (taskQueue) => {
    const handle = await temporal.client.workflow.start('platformHealth', {
      taskQueue,
      workflowId: uniqueTaskQueue('platformHealth'),
      args: [input],
    });
    const outcome = await handle.result().then(
      (report) => ({ report: report as PlatformHealthReport, error: undefined }),
      (error: unknown) => ({ report: undefined, error }),
    );
    return { ...outcome, progress: await handle.query(progressQuery), handle };
  });
}

test('a healthy platform: every step succeeds and the report says healthy', async () => {
  const calls: string[] = [];
  const { report, error, progress, handle } = await run(healthyActivities(calls), {
    namespace: 'platform',
    healthUrl: 'http://127.0.0.1:9/health',
  });
  await recordHistory(handle, 'platformHealth-healthy');
  assert.equal(error, undefined);
  assert.equal(report?.healthy, true);
  assert.equal(report?.taskRuns.byPhase.Succeeded, 3);
  assert.deepEqual(calls, [
    'describeCluster',
    'checkNodes',
    'checkPods:platform',
    'countTaskRuns:platform',
    'probe:http://127.0.0.1:9/health',
  ]);
  assert.deepEqual(
    progress.steps.map((s) => s.status),
    Array(7).fill('succeeded'),
  );
  assert.equal(progress.runbook, 'platformHealth');
});

test('invalid input fails at once, naming the fields, before any activity', async () => {
  const calls: string[] = [];
  const { error } = await run(healthyActivities(calls), { namespace: 'Not A Namespace', restartWarningThreshold: -1 });
  assert.ok(error instanceof WorkflowFailedError);
  assert.ok(error.cause instanceof ApplicationFailure);
  assert.equal(error.cause.type, INVALID_INPUT);
  assert.match(error.cause.message, /namespace: must be a lowercase RFC 1123 label/);
  assert.match(error.cause.message, /restartWarningThreshold/);
  assert.deepEqual(calls, []);
});

test('a non-retryable failure (403) fails the runbook after one attempt and marks the step', async () => {
  const calls: string[] = [];
  const activities = healthyActivities(calls);
  activities.checkNodes = async () => {
    calls.push('checkNodes');
    throw ApplicationFailure.create({ type: KUBE_FORBIDDEN, message: 'list nodes: HTTP 403', nonRetryable: true });
  };
  const { error, progress } = await run(activities, {});
  assert.ok(error instanceof WorkflowFailedError);
  assert.match(String((error.cause?.cause as Error | undefined)?.message), /HTTP 403/);
  assert.equal(calls.filter((c) => c === 'checkNodes').length, 1);
  const nodesStep = progress.steps.find((s) => s.name === 'nodes');
  assert.equal(nodesStep?.status, 'failed');
});

test('a retryable failure (API server unavailable) is retried and the runbook completes', async () => {
  const calls: string[] = [];
  const activities = healthyActivities(calls);
  const checkNodes = activities.checkNodes;
  let attempts = 0;
  activities.checkNodes = async () => {
    if (++attempts === 1) throw ApplicationFailure.create({ type: KUBE_UNAVAILABLE, message: 'ECONNREFUSED' });
    return checkNodes();
  };
  const { report, error } = await run(activities, {});
  assert.equal(error, undefined);
  assert.equal(attempts, 2);
  assert.equal(report?.healthy, true);
});
