// The benches' reading of the API server's request counter (bench/stack-cost.ts): summed by verb and
// resource (with its subresource) over codes and other labels; the difference of two readings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { costBetween, requestCounts } from '../../bench/stack-cost.ts';

const metrics = (jobs: number, status: number) =>
  [
    '# HELP apiserver_request_total [STABLE] Counter of apiserver requests',
    '# TYPE apiserver_request_total counter',
    `apiserver_request_total{code="201",component="apiserver",dry_run="",group="batch",resource="jobs",scope="resource",subresource="",verb="POST",version="v1"} ${jobs}`,
    `apiserver_request_total{code="409",component="apiserver",dry_run="",group="batch",resource="jobs",scope="resource",subresource="",verb="POST",version="v1"} 2`,
    `apiserver_request_total{code="200",component="apiserver",dry_run="",group="orchestrator.io",resource="taskruns",scope="resource",subresource="status",verb="PATCH",version="v1"} ${status}`,
    'apiserver_request_duration_seconds_count{resource="jobs",verb="POST"} 99',
  ].join('\n');

test('requests are summed by verb and resource/subresource over their codes', () => {
  assert.deepEqual(requestCounts(metrics(10, 30)), { 'POST jobs': 12, 'PATCH taskruns/status': 30 });
});

test("a run's cost: what changed between two readings, largest first", () => {
  const before = { cpuSeconds: { 'kube-apiserver': 10, etcd: 2 }, apiRequests: requestCounts(metrics(10, 30)) };
  const after = { cpuSeconds: { 'kube-apiserver': 25.04, etcd: 2 }, apiRequests: requestCounts(metrics(110, 330)) };
  const cost = costBetween(before, after);
  assert.deepEqual(cost.cpuSeconds, { 'kube-apiserver': 15 });
  assert.deepEqual(Object.entries(cost.apiRequests), [
    ['PATCH taskruns/status', 300],
    ['POST jobs', 100],
  ]);
});
