import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarizeHealth, withLists, type HealthReadings } from '../../workflows/health-summary.ts';

function healthy(): HealthReadings {
  return {
    nodes: { total: 2, ready: 2, notReady: [], cordoned: [], nodes: [] },
    pods: {
      namespace: 'orchestrator',
      namespaceExists: true,
      total: 1,
      ready: 1,
      pods: [{ name: 'orchestrator-1', phase: 'Running', ready: true, restarts: 0 }],
      requested: { cpuMillis: 100, memoryBytes: 0 },
    },
    taskRuns: { crdInstalled: true, total: 0, byPhase: {} },
    service: { checked: true, via: 'url', ok: true, statusCode: 200, detail: 'ok' },
    restartWarningThreshold: 5,
  };
}

test('a healthy platform has no problems and no warnings', () => {
  assert.deepEqual(summarizeHealth(healthy()), { healthy: true, problems: [], warnings: [] });
});

test('not-ready nodes are problems, cordoned nodes warnings', () => {
  const r = healthy();
  r.nodes = { ...r.nodes, ready: 1, notReady: ['n2'], cordoned: ['n1'] };
  const s = summarizeHealth(r);
  assert.equal(s.healthy, false);
  assert.deepEqual(s.problems, ['nodes not Ready: n2']);
  assert.deepEqual(s.warnings, ['nodes cordoned: n1']);
});

test('every node cordoned is a problem', () => {
  const r = healthy();
  r.nodes = { ...r.nodes, cordoned: ['a', 'b'] };
  assert.match(summarizeHealth(r).problems.join(), /every node is cordoned/);
});

test('a missing namespace, unready pods and a failed probe are problems; restarts warn', () => {
  const r = healthy();
  r.pods.pods = [
    { name: 'a', phase: 'Running', ready: false, restarts: 7, reason: 'CrashLoopBackOff' },
    { name: 'job-done', phase: 'Succeeded', ready: false, restarts: 0 },
  ];
  r.service = { checked: true, via: 'url', ok: false, statusCode: 500, detail: 'answered 500' };
  const s = summarizeHealth(r);
  assert.deepEqual(s.problems, [
    'pods not ready in orchestrator: a (CrashLoopBackOff)',
    'orchestrator health check failed: answered 500',
  ]);
  assert.deepEqual(s.warnings, ['pods restarting often: a (7 restarts)']);

  const missing = healthy();
  missing.pods = { ...missing.pods, namespaceExists: false, pods: [], total: 0, ready: 0 };
  assert.match(summarizeHealth(missing).problems.join(), /namespace orchestrator does not exist/);
});

test('no CRD is a warning; no Service to probe is a problem (the one health rule: a probe that could not run fails)', () => {
  const r = healthy();
  r.taskRuns = { crdInstalled: false, total: 0, byPhase: {} };
  const crdOnly = summarizeHealth(r);
  assert.equal(crdOnly.healthy, true);
  assert.deepEqual(crdOnly.warnings, ['the TaskRun CRD (taskruns.orchestrator.io) is not installed']);
  r.service = { checked: false, ok: false, detail: 'no Service orchestrator/orchestrator: nothing to probe' };
  const s = summarizeHealth(r);
  assert.equal(s.healthy, false);
  assert.deepEqual(s.problems, [
    'orchestrator health check failed: the health probe could not run: no Service orchestrator/orchestrator: nothing to probe',
  ]);
});

test('a 200 whose body says it is not healthy is a problem', () => {
  const r = healthy();
  r.service = {
    checked: true,
    via: 'url',
    ok: true,
    statusCode: 200,
    body: { status: 'starting' },
    detail: 'answered 200',
  };
  assert.deepEqual(summarizeHealth(r).problems, [
    'orchestrator health check failed: answered 200, but its status is "starting", not "healthy"',
  ]);
});

test('lists in the report are [], never null: readings with null or missing lists are summarised as empty', () => {
  const r = healthy();
  const broken = {
    nodes: { total: 0, ready: 0, notReady: null, cordoned: undefined, nodes: null },
    pods: { ...r.pods, namespaceExists: true, total: 0, ready: 0, pods: null },
    taskRuns: { crdInstalled: false, total: 0, byPhase: undefined },
  } as unknown as Parameters<typeof withLists>[0];
  const fixed = withLists(broken);
  assert.deepEqual([fixed.nodes.notReady, fixed.nodes.cordoned, fixed.nodes.nodes, fixed.pods.pods], [[], [], [], []]);
  assert.deepEqual(fixed.taskRuns.byPhase, {});
  assert.ok(!JSON.stringify(fixed).includes('null'));
  assert.deepEqual(summarizeHealth({ ...r, ...fixed }).problems, ['the cluster has no nodes']);
});
