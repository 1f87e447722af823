// platformHealth on the real dev server with the real probeOrchestrator activity (the cluster reads are
// mocked): a healthUrl that reaches a metadata address fails the runbook at once, naming healthUrl; a
// loopback URL that redirects there is not followed; the report holds only the documented /health fields.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../../activities/deps.ts';
import { platformHealthActivities } from '../../activities/platform-health.ts';
import { INVALID_INPUT } from '../../contract/failures.ts';
import type { PlatformHealthReport } from '../../contract/messages.ts';
import { healthyClusterMocks } from '../helpers/healthy-cluster.ts';
import { uniqueTaskQueue, useTestTemporal, withTestWorker } from '../helpers/temporal.ts';

const testTemporal = useTestTemporal();
const EXTRA = 'internal-detail-never-in-a-report';
let server: Server;
let base: string;

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/to-metadata') {
      res.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        status: 'healthy',
        version: '2.0.0',
        timestamp: '2026-11-28T10:00:00Z',
        env: { SECRET: EXTRA },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

let probes = 0;
const activities = {
  ...healthyClusterMocks(),
  countTaskRuns: async () => ({ crdInstalled: true, total: 0, byPhase: {} }),
  async probeOrchestrator(req: Parameters<ReturnType<typeof platformHealthActivities>['probeOrchestrator']>[0]) {
    probes++;
    return platformHealthActivities({ kube: {} } as unknown as ActivityDeps).probeOrchestrator(req);
  },
};

async function run(healthUrl: string): Promise<{ report?: PlatformHealthReport; error?: unknown }> {
  const temporal = await testTemporal();
  return withTestWorker(temporal, activities, 'health-reach', (taskQueue) =>
    temporal.client.workflow
      .execute('platformHealth', {
        taskQueue,
        workflowId: uniqueTaskQueue('platformHealth'),
        args: [{ namespace: 'platform', healthUrl }],
      })
      .then(
        (report) => ({ report: report as PlatformHealthReport }),
        (error: unknown) => ({ error }),
      ),
  );
}

async function failureOf(healthUrl: string): Promise<ApplicationFailure> {
  const { error } = await run(healthUrl);
  assert.ok(error instanceof WorkflowFailedError, String(error));
  let cause: unknown = error;
  while (cause && !(cause instanceof ApplicationFailure)) cause = (cause as { cause?: unknown }).cause;
  assert.ok(cause instanceof ApplicationFailure, String(error));
  return cause;
}

test('a healthUrl naming the metadata address fails platformHealth at validation, naming healthUrl, before any probe', async () => {
  probes = 0;
  const cause = await failureOf('http://169.254.169.254/latest/meta-data/iam/security-credentials/');
  assert.equal(cause.type, INVALID_INPUT);
  assert.match(cause.message, /healthUrl: must not be a cloud metadata endpoint/);
  assert.equal(probes, 0);
});

test('a link-local healthUrl fails platformHealth at once in the probe, naming healthUrl (one attempt)', async () => {
  probes = 0;
  const started = Date.now();
  const cause = await failureOf('http://169.254.1.1/health');
  assert.equal(cause.type, INVALID_INPUT);
  assert.match(
    cause.message,
    /^healthUrl: http:\/\/169\.254\.1\.1\/health refused: 169\.254\.1\.1 is a link-local address/,
  );
  assert.equal(probes, 1, 'not retried');
  assert.ok(Date.now() - started < 15_000);
});

test('a loopback healthUrl that redirects to the metadata address: the redirect is not followed, the platform is not healthy', async () => {
  const { report, error } = await run(`${base}/to-metadata`);
  assert.equal(error, undefined);
  assert.equal(report?.healthy, false);
  assert.equal(report?.service.statusCode, 301);
  assert.match(report?.service.detail ?? '', /redirects are not followed/);
});

test('the report holds the status code and the documented /health fields only', async () => {
  const { report } = await run(`${base}/health`);
  assert.equal(report?.service.ok, true);
  assert.deepEqual(report?.service.body, { status: 'healthy', version: '2.0.0', timestamp: '2026-11-28T10:00:00Z' });
  assert.ok(!JSON.stringify(report).includes(EXTRA));
});
