// A Temporal restart (npm run reliability): the dev server (SQLite file) is stopped in the middle of
// an upgrade and started again on the same file and port. The worker reconnects, the upgrade resumes
// and completes with one Helm revision. Uses a dev server of its own; the cluster is the shared one.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { freePort } from '../../scripts/stack/ports.ts';
import { startDevServer, type DevServer } from '../../scripts/stack/temporal-dev-server.ts';
import type { UpgradeReport } from '../../contract/messages.ts';
import { progressQuery } from '../../contract/messages.ts';
import { uniqueNamespace, useTestCluster } from '../helpers/cluster.ts';
import { eventually } from '../helpers/eventually.ts';
import { uniqueTaskQueue } from '../helpers/temporal.ts';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.ts';
import { recordReliability } from './report.ts';
import { helmHistory } from '../helpers/release-state.ts';

const testCluster = useTestCluster();
const dir = mkdtempSync(join(tmpdir(), 'temporal-restart-'));
const dbFile = join(dir, 'temporal.db');
let server: DevServer | undefined;
let worker: WorkerProcess | undefined;
after(async () => {
  await worker?.kill('SIGTERM').catch(() => undefined);
  await server?.stop();
});

const start = (port: number, uiPort: number) =>
  startDevServer({ logFile: join(dir, 'temporal.log'), dbFile, port, uiPort });

test('the dev server restarts in the middle of an upgrade: it resumes and makes one revision', async () => {
  const cluster = await testCluster();
  const namespace = uniqueNamespace('restart');
  cluster.defer(() => cluster.kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']));
  const [port, uiPort] = [await freePort(), await freePort()];
  server = await start(port, uiPort);
  const taskQueue = uniqueTaskQueue('restart');
  worker = await startWorkerProcess({
    temporalAddress: server.address,
    kubeconfigPath: cluster.kubeconfigPath,
    taskQueue,
  });
  let connection = await Connection.connect({ address: server.address });
  let client = new Client({ connection });
  await client.workflow.execute('deployPlatform', {
    taskQueue,
    workflowId: uniqueTaskQueue('deploy'),
    args: [{ namespace, skipHealthCheck: true }],
  });
  const workflowId = uniqueTaskQueue('upgrade');
  // ":slow" pods take 8 s to become ready: the restart falls into helm's wait.
  await client.workflow.start('upgradePlatform', {
    taskQueue,
    workflowId,
    args: [{ namespace, imageTag: 'slow', backup: false, smokeTest: { skip: true } }],
  });
  await eventually(
    'the upgrade step to run',
    async () => {
      const steps = (await client.workflow.getHandle(workflowId).query(progressQuery)).steps;
      return steps.find((s) => s.name === 'upgrade')?.status === 'running' ? true : undefined;
    },
    120_000,
    200,
  );

  await connection.close();
  await server.stop();
  await sleep(5000);
  server = await start(port, uiPort);
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection });
  try {
    const report = (await client.workflow.getHandle(workflowId).result()) as UpgradeReport;
    const history = await helmHistory(cluster, namespace);
    await recordReliability('temporal-restart', { runs: 1, crashes: 1, duplicates: Math.max(0, history.length - 2) });
    assert.equal(report.outcome, 'succeeded');
    assert.equal(history.length, 2, 'install + one upgrade');
  } finally {
    await connection.close();
  }
});
