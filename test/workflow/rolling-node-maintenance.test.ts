// rollingNodeMaintenance with mocked activities (the drainNode children are the real workflow): nodeDone,
// the kubelet-version check, decide retry/skip/abort and its validator, the drains under the parent's
// lease, concurrency; on Temporal's time-skipping server: the maintenance window's pause and resume,
// and the per-node timeout.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { leaseQuery, maintenanceLeaseId } from '../../contract/lease-messages.ts';
import { progressQuery } from '../../contract/messages.ts';
import {
  nodeDecideUpdate,
  nodeDoneUpdate,
  rollingMaintenanceStateQuery,
} from '../../contract/rolling-maintenance-messages.ts';
import type { DrainPlan, DrainRoundRequest } from '../../contract/types/drain.ts';
import type { PodsReport } from '../../contract/types/platform-health.ts';
import type {
  NodeMaintenanceState,
  RollingMaintenanceReport,
  RollingNodeMaintenanceInput,
  WaitNodeRequest,
} from '../../contract/types/rolling-maintenance.ts';
import { INVALID_INPUT } from '../../contract/failures.ts';
import { failureCause } from '../../contract/failure-cause.ts';
import { runCli } from '../../client/cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { recordHistory } from '../helpers/record-history.ts';
import {
  runTestWorker,
  startTimeSkipping,
  uniqueTaskQueue,
  useTestTemporal,
  withTestWorker,
  type MockActivities,
} from '../helpers/temporal.ts';

const testTemporal = useTestTemporal();

interface FakeNode {
  cordoned: boolean;
  cordonedBy?: string;
  version: string;
  ready: boolean;
}

/** Nodes n1..nN (kubelet v1.37.2, Ready); `over` replaces single activities. */
function fakeCluster(names: string[], over: MockActivities = {}) {
  const nodes = new Map<string, FakeNode>(names.map((n) => [n, { cordoned: false, version: 'v1.37.2', ready: true }]));
  const calls: string[] = [];
  let podsReady = true;
  const reading = (name: string) => {
    const n = nodes.get(name);
    return n
      ? { exists: true, ready: n.ready, unschedulable: n.cordoned, kubeletVersion: n.version }
      : { exists: false, ready: false, unschedulable: false };
  };
  const plan = (node: string): DrainPlan => ({
    node,
    unschedulable: nodes.get(node)!.cordoned,
    evict: [{ namespace: 'orchestrator', name: `web-${node}`, uid: `u-${node}` }],
    kept: [],
    warnings: [],
    errors: [],
  });
  const activities: MockActivities = {
    selectNodes: async (req) => {
      calls.push('selectNodes');
      if (req.nodes)
        return { nodes: req.nodes.filter((n) => nodes.has(n)), missing: req.nodes.filter((n) => !nodes.has(n)) };
      return { nodes: [...nodes.keys()].sort(), missing: [] };
    },
    planDrain: async (req) => {
      calls.push(`planDrain ${req.node}`);
      return plan(req.node);
    },
    cordonNode: async (req) => {
      calls.push(`cordon ${req.node}`);
      const n = nodes.get(req.node)!;
      if (n.cordoned) return { cordonedByUs: n.cordonedBy === req.workflowId };
      Object.assign(n, { cordoned: true, cordonedBy: req.workflowId });
      return { cordonedByUs: true };
    },
    uncordonNode: async (req) => {
      calls.push(`uncordon ${req.node}`);
      const n = nodes.get(req.node)!;
      if (n.cordonedBy !== req.workflowId) return { uncordoned: false };
      n.cordoned = false;
      delete n.cordonedBy;
      return { uncordoned: true };
    },
    drainRound: async (req: DrainRoundRequest) => {
      calls.push(`drainRound ${req.node}`);
      return { gone: req.pods.map(({ namespace, name, uid }) => ({ namespace, name, uid })), remaining: [] };
    },
    waitNodeState: async (req: WaitNodeRequest) => {
      const r = reading(req.node);
      const matched =
        r.exists && (!req.ready || r.ready) && (!req.kubeletVersion || r.kubeletVersion === req.kubeletVersion);
      if (!matched && req.timeoutSeconds > 0) await sleep(50);
      return { matched, node: r };
    },
    checkPods: async (namespace: string): Promise<PodsReport> => ({
      namespace,
      namespaceExists: true,
      total: 2,
      ready: podsReady ? 2 : 1,
      requested: { cpuMillis: 0, memoryBytes: 0 },
      pods: [
        { name: 'orchestrator-a', phase: 'Running', ready: true, restarts: 0 },
        { name: 'orchestrator-b', phase: podsReady ? 'Running' : 'Pending', ready: podsReady, restarts: 0 },
      ],
    }),
    findStuckTaskRuns: async () => ({ crdInstalled: true, stuck: 0, examples: [] }),
    ...over,
  };
  return { nodes, calls, activities, setPodsReady: (ready: boolean) => void (podsReady = ready) };
}

type Handle = WorkflowHandle;
const state = (h: Handle) => h.query(rollingMaintenanceStateQuery);
const nodeState = async (h: Handle, node: string): Promise<NodeMaintenanceState> =>
  (await state(h)).nodes.find((n) => n.node === node)!;
const until = <T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
) => eventually(what, check, timeoutMs, 100);
const phaseOf = (h: Handle, node: string, phase: NodeMaintenanceState['phase']) =>
  until(`${node} ${phase}`, async () => (await nodeState(h, node)).phase === phase);
const rejected = (p: Promise<unknown>, pattern: RegExp) =>
  assert.rejects(p, (err: Error) =>
    pattern.test(`${err.message} ${String((err.cause as Error | undefined)?.message)}`),
  );

async function startOnDevServer(fake: ReturnType<typeof fakeCluster>, input: RollingNodeMaintenanceInput) {
  const env = await testTemporal();
  const taskQueue = await runTestWorker(env, fake.activities, 'rolling');
  const handle = await env.client.workflow.start('rollingNodeMaintenance', {
    taskQueue,
    workflowId: uniqueTaskQueue('rolling'),
    args: [input],
  });
  return { env, taskQueue, handle };
}

test('nodeDone: n1 then n2 drained (children under the parent lease), upgraded, uncordoned, Ready, healthy; nodeDone too early is refused', async () => {
  const fake = fakeCluster(['n1', 'n2']);
  const {
    env,
    taskQueue,
    handle: h,
  } = await startOnDevServer(fake, { nodes: ['n1', 'n2'], health: { namespace: 'orchestrator' } });
  await phaseOf(h, 'n1', 'waiting-for-upgrade');
  assert.equal(fake.nodes.get('n1')!.cordoned, true);
  assert.equal(fake.nodes.get('n1')!.cordonedBy, `${h.workflowId}-drain-n1`);
  assert.ok(!fake.calls.includes('planDrain n2'), 'one node at a time');
  // The parent holds the lease; its child drain did not queue behind it.
  const lease = await env.client.workflow.getHandle(maintenanceLeaseId(taskQueue)).query(leaseQuery);
  assert.equal(lease.holder?.workflowId, h.workflowId);
  assert.deepEqual(lease.waiters, []);
  const child = await env.client.workflow.getHandle(`${h.workflowId}-drain-n1`).query(progressQuery);
  assert.match(child.steps.find((s) => s.name === 'lease')!.detail!, new RegExp(`held by the parent ${h.workflowId}`));
  assert.match((await h.query(progressQuery)).note ?? '', /n1: waiting-for-upgrade \(the update "nodeDone"/);
  await rejected(
    h.executeUpdate(nodeDoneUpdate, { args: [{ node: 'n2', by: 'alice' }] }),
    /node n2 is pending, not waiting for its upgrade/,
  );
  await rejected(
    h.executeUpdate(nodeDoneUpdate, { args: [{ node: 'n1', by: ' ' }] }),
    /by: the operator's identity is required/,
  );
  await h.executeUpdate(nodeDoneUpdate, { args: [{ node: 'n1', by: 'alice', note: 'kubelet 1.38' }] });
  await phaseOf(h, 'n2', 'waiting-for-upgrade');
  // The CLI's node-done sends the same update.
  const out: string[] = [];
  const cli = (args: string[]) =>
    runCli(args, {
      out: (t) => out.push(t),
      err: (t) => out.push(t),
      env: { TEMPORAL_ADDRESS: env.address, RUNBOOK_TASK_QUEUE: taskQueue },
    });
  assert.equal(await cli(['node-done', h.workflowId, 'n1', '--by', 'alice']), 1, 'n1 is done: refused');
  assert.match(out.join('\n'), /nodeDone rejected: .*node n1 is done/);
  assert.equal(await cli(['node-done', h.workflowId, 'n2', '--by', 'alice']), 0, out.join('\n'));
  const report = (await h.result()) as RollingMaintenanceReport;
  assert.equal(report.outcome, 'succeeded');
  assert.deepEqual(
    report.nodes.map((n) => [n.node, n.phase, n.cordoned, n.nodeDone?.by]),
    [
      ['n1', 'done', false, 'alice'],
      ['n2', 'done', false, 'alice'],
    ],
  );
  assert.equal(report.nodes[0]!.nodeDone?.note, 'kubelet 1.38');
  assert.ok(
    Date.parse(report.nodes[0]!.finishedAt!) <= Date.parse(report.nodes[1]!.startedAt!),
    'n2 starts after n1 finished',
  );
  for (const n of fake.nodes.values()) assert.equal(n.cordoned, false);
  const released = await env.client.workflow.getHandle(maintenanceLeaseId(taskQueue)).query(leaseQuery);
  assert.equal(released.holder, null);
});

test('kubelet version: a node is upgraded when it reports the target version (no nodeDone); with both, both are needed', async () => {
  const fake = fakeCluster(['n1', 'n2']);
  const { handle: h } = await startOnDevServer(fake, {
    selector: 'pool=workers',
    upgraded: { kubeletVersion: 'v1.38.0' },
    health: { skip: true },
  });
  await phaseOf(h, 'n1', 'waiting-for-upgrade');
  await rejected(
    h.executeUpdate(nodeDoneUpdate, { args: [{ node: 'n9', by: 'alice' }] }),
    /node n9 is not in this maintenance/,
  );
  await sleep(300);
  assert.equal((await nodeState(h, 'n1')).phase, 'waiting-for-upgrade', 'v1.37.2 is not v1.38.0');
  assert.equal((await nodeState(h, 'n1')).kubeletVersion, 'v1.37.2');
  fake.nodes.get('n1')!.version = 'v1.38.0';
  await phaseOf(h, 'n2', 'waiting-for-upgrade');
  fake.nodes.get('n2')!.version = 'v1.38.0';
  const report = (await h.result()) as RollingMaintenanceReport;
  assert.equal(report.outcome, 'succeeded');
  assert.deepEqual(
    report.nodes.map((n) => [n.node, n.kubeletVersion, n.nodeDone]),
    [
      ['n1', 'v1.38.0', undefined],
      ['n2', 'v1.38.0', undefined],
    ],
  );

  const both = fakeCluster(['n1']);
  const { handle: h2 } = await startOnDevServer(both, {
    nodes: ['n1'],
    upgraded: { kubeletVersion: 'v1.38.0', nodeDone: true },
    health: { skip: true },
  });
  await phaseOf(h2, 'n1', 'waiting-for-upgrade');
  await h2.executeUpdate(nodeDoneUpdate, { args: [{ node: 'n1', by: 'bob' }] });
  await sleep(300);
  assert.equal(
    (await nodeState(h2, 'n1')).phase,
    'waiting-for-upgrade',
    'nodeDone alone is not enough when the version is asked for too',
  );
  both.nodes.get('n1')!.version = 'v1.38.0-eks-1';
  const r2 = (await h2.result()) as RollingMaintenanceReport;
  assert.deepEqual(
    r2.nodes.map((n) => [n.phase, n.nodeDone?.by, n.kubeletVersion]),
    [['done', 'bob', 'v1.38.0-eks-1']],
  );
});

test('decide: a failed health check pauses the run; retry resumes at the health step; a failure on n2 skipped uncordons it', async () => {
  const fake = fakeCluster(['n1', 'n2']);
  fake.setPodsReady(false);
  const { handle: h } = await startOnDevServer(fake, {
    nodes: ['n1', 'n2'],
    upgraded: { kubeletVersion: 'v1.37.2' },
    health: { timeoutSeconds: 1 },
  });
  const paused = await until('paused', async () => {
    const s = await state(h);
    return s.phase === 'paused' ? s : undefined;
  });
  assert.equal(paused.paused?.node, 'n1');
  assert.equal(paused.paused?.step, 'health');
  assert.match(paused.paused?.failure ?? '', /pods not ready in orchestrator: orchestrator-b \(Pending\)/);
  assert.equal((await h.query(progressQuery)).phase, 'paused-for-decision');
  assert.ok(!fake.calls.includes('planDrain n2'), 'no further node while paused');
  await rejected(
    h.executeUpdate(nodeDecideUpdate, { args: [{ action: 'rollback', by: '' } as never] }),
    /action: must be one of retry, skip, abort; by: the operator's identity is required/,
  );
  await rejected(
    h.executeUpdate(nodeDecideUpdate, { args: [{ action: 'retry', by: 'alice', node: 'n2' }] }),
    /node n2 does not wait for a decision/,
  );
  fake.setPodsReady(true);
  const drainsBefore = fake.calls.filter((c) => c === 'planDrain n1').length;
  const accepted = await h.executeUpdate(nodeDecideUpdate, {
    args: [{ action: 'retry', by: 'alice', reason: 'pods recovered' }],
  });
  assert.deepEqual(accepted, { accepted: true, action: 'retry', node: 'n1', resumeAt: 'health' });
  await phaseOf(h, 'n1', 'done');
  assert.equal(fake.calls.filter((c) => c === 'planDrain n1').length, drainsBefore, 'the retry did not drain again');
  // n2: not Ready after the uncordon -> paused -> skip.
  fake.nodes.get('n2')!.ready = false;
  // Paused on n2, not only failed: the run reads the node before it waits for a decision.
  await until(
    'n2 failed at ready, waiting for a decision',
    async () => {
      const s = await state(h);
      const n = s.nodes.find((x) => x.node === 'n2')!;
      return n.phase === 'failed' && n.step === 'ready' && s.paused?.node === 'n2';
    },
    30_000,
  );
  const report = h.result() as Promise<RollingMaintenanceReport>;
  await h.executeUpdate(nodeDecideUpdate, { args: [{ action: 'skip', by: 'bob', reason: 'replace the node later' }] });
  const r = await report;
  assert.equal(r.outcome, 'completed-with-skips');
  assert.deepEqual(
    r.nodes.map((n) => [n.node, n.phase, n.attempts]),
    [
      ['n1', 'done', 2],
      ['n2', 'skipped', 1],
    ],
  );
  assert.deepEqual(
    r.decisions.map((d) => [d.node, d.action, d.by]),
    [
      ['n1', 'retry', 'alice'],
      ['n2', 'skip', 'bob'],
    ],
  );
  assert.equal(fake.nodes.get('n2')!.cordoned, false);
  await recordHistory(h, 'rollingNodeMaintenance-decide');
  await recordHistory(
    (await testTemporal()).client.workflow.getHandle(`${h.workflowId}-drain-n1`),
    'drainNode-inherited-lease',
  );
  await rejected(
    h.executeUpdate(nodeDecideUpdate, { args: [{ action: 'retry', by: 'alice' }] }),
    /completed|no node waits/,
  );
});

test('decide abort: a refused drain (nothing cordoned) stops the run; the next nodes are not started', async () => {
  const fake = fakeCluster(['n1', 'n2'], {});
  const base = fake.activities.planDrain!;
  fake.activities.planDrain = async (req) => ({
    ...(await base(req)),
    errors:
      req.node === 'n1'
        ? ['cannot delete Pods that declare no controller (use --force to override): default/bare']
        : [],
  });
  const { handle: h } = await startOnDevServer(fake, { nodes: ['n1', 'n2'] });
  await until('paused', async () => (await state(h)).phase === 'paused');
  const n1 = await nodeState(h, 'n1');
  assert.equal(n1.step, 'drain');
  assert.match(n1.error ?? '', /DrainRefused|cannot drain node n1/);
  assert.equal(n1.cordoned, false);
  await h.executeUpdate(nodeDecideUpdate, { args: [{ action: 'abort', by: 'carol', reason: 'bare pod on n1' }] });
  const r = (await h.result()) as RollingMaintenanceReport;
  assert.equal(r.outcome, 'aborted');
  assert.deepEqual(
    r.nodes.map((n) => [n.node, n.phase]),
    [
      ['n1', 'failed'],
      ['n2', 'not-started'],
    ],
  );
  assert.ok(!fake.calls.includes('planDrain n2'));
  assert.equal((await h.query(progressQuery)).phase, 'aborted');
});

test('decide retry after a failed drain: the drainNode child runs again under the same id and the node completes', async () => {
  const fake = fakeCluster(['n1']);
  const base = fake.activities.planDrain!;
  let plans = 0;
  fake.activities.planDrain = async (req) => ({
    ...(await base(req)),
    errors:
      ++plans === 1 ? ['cannot delete Pods that declare no controller (use --force to override): default/bare'] : [],
  });
  const { env, handle: h } = await startOnDevServer(fake, { nodes: ['n1'], health: { skip: true } });
  await until('paused at the drain', async () => (await state(h)).paused?.step === 'drain');
  await h.executeUpdate(nodeDecideUpdate, { args: [{ action: 'retry', by: 'dave', reason: 'bare pod deleted' }] });
  await phaseOf(h, 'n1', 'waiting-for-upgrade');
  assert.equal(fake.nodes.get('n1')!.cordonedBy, `${h.workflowId}-drain-n1`);
  await h.executeUpdate(nodeDoneUpdate, { args: [{ node: 'n1', by: 'dave' }] });
  const r = (await h.result()) as RollingMaintenanceReport;
  assert.deepEqual(
    r.nodes.map((n) => [n.phase, n.attempts, n.cordoned]),
    [['done', 2, false]],
  );
  const runs: string[] = [];
  for await (const w of env.client.workflow.list({ query: `WorkflowId = '${h.workflowId}-drain-n1'` }))
    runs.push(w.status.name);
  assert.deepEqual(runs.sort(), ['COMPLETED', 'FAILED']);
});

test('preemption: a priority-100 runbook gets the lease between two nodes, never mid-node; the run resumes after it', async () => {
  const fake = fakeCluster(['n1', 'n2', 'n3']);
  const { env, taskQueue, handle: h } = await startOnDevServer(fake, { nodes: ['n1', 'n2'], health: { skip: true } });
  await phaseOf(h, 'n1', 'waiting-for-upgrade');
  const urgent = await env.client.workflow.start('drainNode', {
    taskQueue,
    workflowId: uniqueTaskQueue('urgent'),
    args: [{ node: 'n3', lease: { wait: true, priority: 100 } }],
  });
  // Queued before n1 is done (a fixed sleep was not always enough under load: n2 then took the lease
  // first, and the urgent drain, and the test, waited for a nodeDone that comes after it).
  await until('the urgent drain to queue for the lease', async () => {
    const lease = await env.client.workflow.getHandle(maintenanceLeaseId(taskQueue)).query(leaseQuery);
    return lease.waiters.some((w) => w.workflowId === urgent.workflowId) ? true : undefined;
  });
  await sleep(300);
  assert.ok(!fake.calls.includes('cordon n3'), 'n1 is in maintenance: the lease is not yielded mid-node');
  await h.executeUpdate(nodeDoneUpdate, { args: [{ node: 'n1', by: 'alice' }] });
  await urgent.result();
  await phaseOf(h, 'n2', 'waiting-for-upgrade');
  assert.deepEqual(
    fake.calls.filter((c) => c.startsWith('cordon')),
    ['cordon n1', 'cordon n3', 'cordon n2'],
    'the urgent drain ran between n1 and n2',
  );
  await h.executeUpdate(nodeDoneUpdate, { args: [{ node: 'n2', by: 'alice' }] });
  const r = (await h.result()) as RollingMaintenanceReport;
  assert.deepEqual(
    r.nodes.map((n) => n.phase),
    ['done', 'done'],
  );
});

test('concurrency 2: two nodes in maintenance at once, the third after', async () => {
  const fake = fakeCluster(['n1', 'n2', 'n3']);
  const { handle: h } = await startOnDevServer(fake, {
    nodes: ['n1', 'n2', 'n3'],
    concurrency: 2,
    health: { skip: true },
  });
  await phaseOf(h, 'n1', 'waiting-for-upgrade');
  await phaseOf(h, 'n2', 'waiting-for-upgrade');
  assert.equal((await nodeState(h, 'n3')).phase, 'pending');
  await h.executeUpdate(nodeDoneUpdate, { args: [{ node: 'n2', by: 'alice' }] });
  await phaseOf(h, 'n3', 'waiting-for-upgrade');
  for (const node of ['n1', 'n3']) await h.executeUpdate(nodeDoneUpdate, { args: [{ node, by: 'alice' }] });
  const r = (await h.result()) as RollingMaintenanceReport;
  assert.deepEqual(
    r.nodes.map((n) => n.phase),
    ['done', 'done', 'done'],
  );
});

test('invalid input fails at once naming the field, before any node is touched', async () => {
  const fake = fakeCluster(['n1']);
  for (const [input, pattern] of [
    [{ nodes: ['n1'], selector: 'a=b' }, /nodes: give either nodes/],
    [
      {
        nodes: ['n1'],
        maintenanceWindow: { daysOfWeek: ['mon'], start: '25:00', end: '04:00', timeZone: 'Mars/Olympus' },
      },
      /maintenanceWindow.start: must be HH:MM.*maintenanceWindow.timeZone: must be an IANA time zone/,
    ],
    [{ nodes: ['n1'], upgraded: { nodeDone: false } }, /upgraded: nothing would say a node is upgraded/],
    [{ nodes: ['n1', 'nope'] }, /nodes: no such node: nope/],
  ] as const) {
    const { handle } = await startOnDevServer(fake, input as unknown as RollingNodeMaintenanceInput);
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    const cause = failureCause(err);
    assert.equal(cause.type, INVALID_INPUT);
    assert.match(cause.message, pattern);
  }
  assert.ok(!fake.calls.some((c) => c.startsWith('cordon')));
});

test('a drainNode started with lease.inherit that names another workflow is refused', async () => {
  const env = await testTemporal();
  const fake = fakeCluster(['n1']);
  const taskQueue = await runTestWorker(env, fake.activities, 'rolling-inherit');
  const h = await env.client.workflow.start('drainNode', {
    taskQueue,
    workflowId: uniqueTaskQueue('drain'),
    args: [
      {
        node: 'n1',
        lease: {
          inherit: {
            leaseId: 'maintenance-lease',
            workflowId: 'someone',
            runId: 'r',
            grantedAt: '2026-01-01T00:00:00Z',
          },
        },
      },
    ],
  });
  const cause = failureCause(
    await h.result().then(
      () => undefined,
      (e: unknown) => e,
    ),
  );
  assert.equal(cause.type, INVALID_INPUT);
  assert.match(
    cause.message,
    /lease.inherit: only a child of the lease's holder someone may run under its lease \(this run's parent: none\)/,
  );
  assert.equal(fake.nodes.get('n1')!.cordoned, false);
});

// On the time-skipping server: hours pass in moments. One server per test: after a test, the next one
// on the same server waited minutes of real time for its timers.
async function onTimeSkipping<T>(
  fake: ReturnType<typeof fakeCluster>,
  input: RollingNodeMaintenanceInput,
  drive: (h: Handle, env: TestWorkflowEnvironment) => Promise<T>,
): Promise<T> {
  const env = await startTimeSkipping();
  try {
    return await withTestWorker(env, fake.activities, 'rolling-ts', async (taskQueue) => {
      const handle = await env.client.workflow.start('rollingNodeMaintenance', {
        taskQueue,
        workflowId: uniqueTaskQueue('rolling'),
        args: [input],
      });
      return drive(handle, env);
    });
  } finally {
    await env.teardown();
  }
}

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

test('maintenance window: waits for it to open, and pauses between nodes once it closed (time-skipping server)', async () => {
  const fake = fakeCluster(['n1', 'n2']);
  const now = Date.now();
  const opens = Math.ceil((now + 2 * 3600_000) / 60_000) * 60_000;
  const window = {
    daysOfWeek: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const,
    start: hhmm(opens),
    end: hhmm(opens + 3600_000),
    timeZone: 'UTC',
  };
  const report = await onTimeSkipping(
    fake,
    {
      nodes: ['n1', 'n2'],
      maintenanceWindow: { ...window, daysOfWeek: [...window.daysOfWeek] },
      upgraded: { timeoutSeconds: 6 * 3600 },
      health: { skip: true },
    },
    async (h, env) => {
      const waiting = await until('waiting for the window', async () => {
        const s = await state(h);
        return s.phase === 'waiting-for-window' ? s : undefined;
      });
      assert.equal(waiting.windowOpensAt, new Date(opens).toISOString());
      assert.match(
        (await h.query(progressQuery)).note ?? '',
        /outside the maintenance window: waiting until .*\(\w{3} \d\d:\d\d UTC\)/,
      );
      assert.ok(!fake.calls.some((c) => c.startsWith('planDrain')), 'nothing drained before the window');
      await env.sleep(opens - Date.now() + 60_000);
      await phaseOf(h, 'n1', 'waiting-for-upgrade');
      // The window closes while n1 is in maintenance: n1 is finished, n2 waits for the next window.
      await env.sleep(3600_000);
      await h.executeUpdate(nodeDoneUpdate, { args: [{ node: 'n1', by: 'alice' }] });
      const next = await until('waiting for the next window', async () => {
        const s = await state(h);
        return s.phase === 'waiting-for-window' && s.nodes[0]!.phase === 'done' ? s : undefined;
      });
      assert.equal(next.windowOpensAt, new Date(opens + 86_400_000).toISOString());
      assert.equal(next.nodes[1]!.phase, 'pending');
      await env.sleep(86_400_000);
      await phaseOf(h, 'n2', 'waiting-for-upgrade');
      await h.executeUpdate(nodeDoneUpdate, { args: [{ node: 'n2', by: 'alice' }] });
      const result = (await h.result()) as RollingMaintenanceReport;
      await recordHistory(h, 'rollingNodeMaintenance-window');
      return result;
    },
  );
  assert.equal(report.outcome, 'succeeded');
  assert.deepEqual(
    report.windowWaits.map((w) => w.until),
    [new Date(opens).toISOString(), new Date(opens + 86_400_000).toISOString()],
  );
  assert.ok(Date.parse(report.nodes[0]!.startedAt!) >= opens);
  assert.ok(Date.parse(report.nodes[1]!.startedAt!) >= opens + 86_400_000);
});

test('per-node timeout: no nodeDone within upgraded.timeoutSeconds pauses the run; a late nodeDone and retry finish it (time-skipping server)', async () => {
  const fake = fakeCluster(['n1']);
  const report = await onTimeSkipping(
    fake,
    { nodes: ['n1'], upgraded: { timeoutSeconds: 2 * 3600 }, health: { skip: true } },
    async (h, env) => {
      await phaseOf(h, 'n1', 'waiting-for-upgrade');
      await env.sleep(2 * 3600_000 + 60_000);
      const paused = await until('paused', async () => {
        const s = await state(h);
        return s.phase === 'paused' ? s : undefined;
      });
      assert.equal(paused.paused?.step, 'upgrade');
      assert.match(paused.paused?.failure ?? '', /node n1 not upgraded within 7200 s: no nodeDone update/);
      assert.equal(
        paused.nodes[0]!.cordoned,
        true,
        'a node that timed out waiting for its upgrade stays cordoned until decided',
      );
      await h.executeUpdate(nodeDoneUpdate, { args: [{ node: 'n1', by: 'alice', note: 'finished late' }] });
      await h.executeUpdate(nodeDecideUpdate, { args: [{ action: 'retry', by: 'alice' }] });
      return (await h.result()) as RollingMaintenanceReport;
    },
  );
  assert.equal(report.outcome, 'succeeded');
  assert.deepEqual(
    report.nodes.map((n) => [n.phase, n.attempts, n.nodeDone?.note, n.cordoned]),
    [['done', 2, 'finished late', false]],
  );
  assert.equal(fake.nodes.get('n1')!.cordoned, false);
});
