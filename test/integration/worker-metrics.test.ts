// The worker process (worker/main.ts) on the dev server: /metrics serves the runbook metrics and
// the SDK's own (the Core runtime's Prometheus exporter) on one endpoint. No cluster needed: the
// worker only reads its kubeconfig at start.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startWorkerProcess } from '../helpers/worker-process.ts';
import { eventually } from '../helpers/eventually.ts';
import { uniqueTaskQueue, useTestTemporal } from '../helpers/temporal.ts';

const testTemporal = useTestTemporal();

test("/metrics: runbook metrics, taskrun metrics and the SDK's temporal_* metrics together", async () => {
  const env = await testTemporal();
  const dir = mkdtempSync(join(tmpdir(), 'worker-metrics-'));
  const kubeconfig = join(dir, 'kubeconfig.yaml');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`,
  );
  const worker = await startWorkerProcess({
    temporalAddress: env.address,
    kubeconfigPath: kubeconfig,
    taskQueue: uniqueTaskQueue('metrics'),
    env: { PATH: process.env.PATH ?? '' },
  });
  after(() => worker.kill('SIGTERM'));
  const started = readFileSync(worker.logFile, 'utf8')
    .split('\n')
    .find((l) => l.includes('"msg":"worker started"'));
  const url = `${(JSON.parse(started!) as { http: string }).http}/metrics`;
  const text = await eventually(
    'the SDK metrics on /metrics',
    async () => {
      const body = await (await fetch(url)).text();
      return /^temporal_\w+/m.test(body) && body;
    },
    60_000,
    500,
  );
  for (const name of [
    'runbook_runs_started_total',
    'runbook_runs_finished_total',
    'runbook_step_duration_seconds',
    'runbook_lease_wait_seconds',
    'runbook_paused',
    'runbook_taskrun_controllers_running',
    'taskrun_reconciliations_total',
  ]) {
    assert.match(text, new RegExp(`^# HELP ${name} `, 'm'), name);
  }
  // From visibility: upgradePlatform's paused series exists (0 before any pause), so the alert has a series.
  // Its value counts the whole Temporal namespace: files beside this one may hold a paused upgrade.
  assert.match(text, /^runbook_paused\{runbook="upgradePlatform",phase="paused-for-decision"\} \d+$/m);
  assert.match(text, /^temporal_(worker_start|request|num_pollers|workflow_task)/m);
});
