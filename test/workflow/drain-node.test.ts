// drainNode and the maintenance lease with mocked activities, on the real dev server: PDB blocking
// then success, timeout, abort, cancellation (uncordons), an already-cordoned node, refused plans,
// the lease's queue, wait: false, release on failure and on the holder's termination.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type WorkflowHandle } from '@temporalio/client';
import { DRAIN_ABORTED, DRAIN_REFUSED, INVALID_INPUT, LEASE_TAKEN, WAIT_TIMEOUT } from '../../contract/failures.ts';
import { failureCause } from '../../contract/failure-cause.ts';
import { drainControlUpdate, drainStatusQuery } from '../../contract/drain-messages.ts';
import { leaseQuery, maintenanceLeaseId } from '../../contract/lease-messages.ts';
import { progressQuery } from '../../contract/messages.ts';
import type { DrainPlan, DrainReport, DrainRoundRequest, DrainRoundResult } from '../../contract/types/drain.ts';
import { runTestWorker, useTestTemporal, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.ts';
import { untilQuery } from '../helpers/eventually.ts';
import { workflowFailure } from '../helpers/workflow-failure.ts';

const testTemporal = useTestTemporal();

const plan = (over: Partial<DrainPlan> = {}): DrainPlan => ({
  node: 'n1',
  unschedulable: false,
  evict: [
    { namespace: 'a', name: 'web-1', uid: 'u1' },
    { namespace: 'a', name: 'web-2', uid: 'u2' },
  ],
  kept: [
    {
      namespace: 'kube-system',
      name: 'ds-1',
      uid: 'u3',
      reason: 'DaemonSet pod',
      warning: 'ignoring DaemonSet-managed Pods',
    },
  ],
  warnings: ['ignoring DaemonSet-managed Pods: kube-system/ds-1'],
  errors: [],
  ...over,
});

interface Cluster {
  cordoned: boolean;
  cordonedBy?: string;
  calls: string[];
}

/** A node n1 and its pods; `round` decides each drain round. */
function mock(
  opts: {
    plan?: DrainPlan;
    cordoned?: boolean;
    round?: (req: DrainRoundRequest, n: number) => Promise<DrainRoundResult>;
  } = {},
) {
  const cluster: Cluster = { cordoned: opts.cordoned ?? false, calls: [] };
  let rounds = 0;
  const activities = {
    planDrain: async () => {
      cluster.calls.push('planDrain');
      return { ...(opts.plan ?? plan()), unschedulable: cluster.cordoned };
    },
    cordonNode: async (req: { workflowId: string }) => {
      cluster.calls.push('cordonNode');
      if (cluster.cordoned) return { cordonedByUs: cluster.cordonedBy === req.workflowId };
      cluster.cordoned = true;
      cluster.cordonedBy = req.workflowId;
      return { cordonedByUs: true };
    },
    uncordonNode: async (req: { workflowId: string }) => {
      cluster.calls.push('uncordonNode');
      if (cluster.cordonedBy !== req.workflowId) return { uncordoned: false };
      cluster.cordoned = false;
      delete cluster.cordonedBy;
      return { uncordoned: true };
    },
    drainRound: async (req: DrainRoundRequest) => {
      cluster.calls.push('drainRound');
      rounds++;
      if (opts.round) return opts.round(req, rounds);
      return { gone: req.pods.map(({ namespace, name, uid }) => ({ namespace, name, uid })), remaining: [] };
    },
  };
  return { cluster, activities };
}

/** A round in which every pod stays blocked by the PDB web-pdb (takes `ms`). */
const blockedRound =
  (ms = 300) =>
  async (req: DrainRoundRequest): Promise<DrainRoundResult> => {
    await sleep(Math.min(ms, req.roundSeconds * 1000));
    return {
      gone: [],
      remaining: req.pods.map((p) => ({
        ...p,
        state: 'blocked' as const,
        blockedBy: [{ name: 'web-pdb', disruptionsAllowed: 0 }],
      })),
    };
  };

async function start(
  env: TestTemporal,
  taskQueue: string,
  input: unknown,
  workflowId = uniqueTaskQueue('drain'),
): Promise<WorkflowHandle> {
  return env.client.workflow.start('drainNode', { taskQueue, workflowId, args: [input] });
}

async function failure(h: WorkflowHandle) {
  return failureCause(await workflowFailure(h));
}

test('PDB blocks two rounds, then the pods go: cordoned, evicted, the query showed the PDB, the lease is released', async () => {
  const env = await testTemporal();
  const m = mock({
    round: (req, n) =>
      n <= 2
        ? blockedRound(400)(req)
        : Promise.resolve({
            gone: req.pods.map(({ namespace, name, uid }) => ({ namespace, name, uid })),
            remaining: [],
          }),
  });
  const tq = await runTestWorker(env, m.activities, 'drain');
  const h = await start(env, tq, { node: 'n1' });
  const status = await untilQuery('a blocked pod', async () => {
    const s = await h.query(drainStatusQuery);
    return s.remaining.some((p) => p.state === 'blocked') ? s : undefined;
  });
  assert.equal(status.phase, 'evicting');
  assert.deepEqual(status.remaining[0]!.blockedBy, [{ name: 'web-pdb', disruptionsAllowed: 0 }]);
  const report = (await h.result()) as DrainReport;
  assert.equal(report.evicted.length, 2);
  assert.equal(report.cordonedByUs, true);
  assert.equal(m.cluster.cordoned, true, 'a drained node stays cordoned');
  assert.ok(!m.cluster.calls.includes('uncordonNode'));
  const lease = await env.client.workflow.getHandle(maintenanceLeaseId(tq)).query(leaseQuery);
  assert.equal(lease.holder, null);
  const steps = (await h.query(progressQuery)).steps.map((s) => `${s.name}:${s.status}`);
  assert.deepEqual(steps, [
    'validate:succeeded',
    'plan:succeeded',
    'lease:succeeded',
    'cordon:succeeded',
    'evict:succeeded',
    'report:succeeded',
  ]);
});

test('timeout: a PDB that never allows a disruption fails the drain with the PDB named, and the node is uncordoned', async () => {
  const env = await testTemporal();
  const m = mock({ round: blockedRound(300) });
  const tq = await runTestWorker(env, m.activities, 'drain');
  const h = await start(env, tq, { node: 'n1', timeoutSeconds: 2 });
  const cause = await failure(h);
  assert.equal(cause.type, WAIT_TIMEOUT);
  assert.match(cause.message, /a\/web-1 blocked blocked by PDB web-pdb \(allowed disruptions 0\)/);
  assert.equal(m.cluster.cordoned, false);
  assert.equal((await h.query(drainStatusQuery)).phase, 'failed');
});

test('an already cordoned node stays cordoned when the drain fails', async () => {
  const env = await testTemporal();
  const m = mock({ cordoned: true, round: blockedRound(300) });
  m.cluster.cordonedBy = 'someone-else';
  const tq = await runTestWorker(env, m.activities, 'drain');
  const cause = await failure(await start(env, tq, { node: 'n1', timeoutSeconds: 1 }));
  assert.equal(cause.type, WAIT_TIMEOUT);
  assert.equal(m.cluster.cordoned, true);
  assert.equal(m.cluster.cordonedBy, 'someone-else');
});

test('extend, then abort by update: the drain fails as aborted and uncordons; a bad control is rejected by the validator', async () => {
  const env = await testTemporal();
  const m = mock({ round: blockedRound(5000) });
  const tq = await runTestWorker(env, m.activities, 'drain');
  const h = await start(env, tq, { node: 'n1', timeoutSeconds: 30 });
  const before = await untilQuery('evicting', async () => {
    const s = await h.query(drainStatusQuery);
    return s.phase === 'evicting' && s.deadline ? s : undefined;
  });
  await assert.rejects(
    h.executeUpdate(drainControlUpdate, { args: [{ action: 'extend', seconds: -1, by: '' } as never] }),
    (err: Error) =>
      /by: the operator's identity is required; seconds: must be an integer/.test(
        String((err.cause as Error | undefined)?.message),
      ),
  );
  const extended = await h.executeUpdate(drainControlUpdate, {
    args: [{ action: 'extend', seconds: 60, by: 'alice' }],
  });
  assert.equal(Date.parse(extended.deadline!) - Date.parse(before.deadline!), 60_000);
  await h.executeUpdate(drainControlUpdate, { args: [{ action: 'abort', by: 'alice', reason: 'wrong node' }] });
  const cause = await failure(h);
  assert.equal(cause.type, DRAIN_ABORTED);
  assert.match(cause.message, /aborted by alice: wrong node/);
  assert.equal(m.cluster.cordoned, false);
});

test('cancellation uncordons the node and releases the lease', async () => {
  const env = await testTemporal();
  const m = mock({ round: blockedRound(5000) });
  const tq = await runTestWorker(env, m.activities, 'drain');
  const h = await start(env, tq, { node: 'n1' });
  await untilQuery('evicting', async () => (await h.query(drainStatusQuery)).phase === 'evicting');
  await h.cancel();
  await h.result().catch(() => undefined);
  assert.equal(m.cluster.cordoned, false);
  await untilQuery(
    'the lease released',
    async () => (await env.client.workflow.getHandle(maintenanceLeaseId(tq)).query(leaseQuery)).holder === null,
  );
});

test('refused plan (kubectl errors): nothing cordoned; dry run returns the plan; an unknown field is InvalidInput', async () => {
  const env = await testTemporal();
  const refused = plan({ errors: ['cannot delete Pods that declare no controller (use --force to override): a/bare'] });
  const m = mock({ plan: refused });
  const tq = await runTestWorker(env, m.activities, 'drain');
  const cause = await failure(await start(env, tq, { node: 'n1' }));
  assert.equal(cause.type, DRAIN_REFUSED);
  assert.match(cause.message, /cannot delete Pods that declare no controller/);
  assert.ok(!m.cluster.calls.includes('cordonNode'));
  const dry = (await (await start(env, tq, { node: 'n1', dryRun: true })).result()) as DrainReport;
  assert.deepEqual(dry.plan.errors, refused.errors);
  assert.ok(!m.cluster.calls.includes('cordonNode'));
  const bad = await failure(await start(env, tq, { node: 'N_1', timeoutSeconds: 0, bogus: 1 }));
  assert.equal(bad.type, INVALID_INPUT);
  assert.match(bad.message, /node: .*timeoutSeconds: .*Unrecognized key/s);
});

test('lease: a second drain waits in line (visible), a third with wait:false fails at once, the second runs after the first', async () => {
  const env = await testTemporal();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const order: string[] = [];
  const m = mock({
    round: async (req) => {
      order.push(`round ${req.node}`);
      if (req.node === 'n1') await Promise.race([gate, sleep(req.roundSeconds * 1000)]);
      return { gone: req.pods.map(({ namespace, name, uid }) => ({ namespace, name, uid })), remaining: [] };
    },
  });
  const tq = await runTestWorker(env, m.activities, 'drain');
  const first = await start(env, tq, { node: 'n1' }, 'drain-first');
  await untilQuery('first evicting', async () => (await first.query(drainStatusQuery)).phase === 'evicting');
  const second = await start(env, tq, { node: 'n2' }, 'drain-second');
  await untilQuery('second waiting', async () => (await second.query(drainStatusQuery)).phase === 'waiting-for-lease');
  const progress = await second.query(progressQuery);
  assert.equal(progress.steps.find((st) => st.name === 'lease')!.status, 'pending');
  const lease = await env.client.workflow.getHandle(maintenanceLeaseId(tq)).query(leaseQuery);
  assert.equal(lease.holder?.workflowId, 'drain-first');
  assert.deepEqual(
    lease.waiters.map((w) => w.workflowId),
    ['drain-second'],
  );
  const third = await start(env, tq, { node: 'n3', lease: { wait: false } }, 'drain-third');
  const denied = await failure(third);
  assert.equal(denied.type, LEASE_TAKEN);
  assert.match(denied.message, /held by drain-first \(drainNode\) since /);
  release();
  await first.result();
  await second.result();
  assert.deepEqual(
    order.filter((o, i) => order.indexOf(o) === i),
    ['round n1', 'round n2'],
  );
});

test('lease: a failed holder releases it; a terminated holder never blocks the next runbook', async () => {
  const env = await testTemporal();
  const m = mock({ round: blockedRound(5000) });
  const tq = await runTestWorker(env, m.activities, 'drain');
  const leaseHandle = () => env.client.workflow.getHandle(maintenanceLeaseId(tq));
  // Failure (timeout): released.
  await failure(await start(env, tq, { node: 'n1', timeoutSeconds: 1 }));
  await untilQuery('released after failure', async () => (await leaseHandle().query(leaseQuery)).holder === null);
  // Termination: no finally runs; the next request finds the holder gone.
  const holder = await start(env, tq, { node: 'n1' }, uniqueTaskQueue('holder'));
  await untilQuery(
    'held',
    async () => (await leaseHandle().query(leaseQuery)).holder?.workflowId === holder.workflowId,
  );
  await holder.terminate('test: the holder dies');
  const next = await start(env, tq, { node: 'n2', lease: { wait: false }, timeoutSeconds: 1 }, uniqueTaskQueue('next'));
  const cause = await failure(next);
  assert.equal(cause.type, WAIT_TIMEOUT, `the next drain got the lease and ran (${cause.message})`);
});

test('lease: a waiter gets the lease within the check interval after its holder is terminated', async () => {
  const env = await testTemporal();
  const m = mock({ round: blockedRound(5000) });
  const tq = await runTestWorker(env, m.activities, 'drain');
  const leaseId = maintenanceLeaseId(tq);
  // The lease, started first with a short check interval (runbooks start it with the default 15 s).
  await env.client.workflow.start('maintenanceLease', {
    taskQueue: tq,
    workflowId: leaseId,
    args: [{ checkIntervalSeconds: 1, idleExitSeconds: 30 }],
  });
  const holder = await start(env, tq, { node: 'n1' }, uniqueTaskQueue('holder'));
  await untilQuery(
    'held',
    async () =>
      (await env.client.workflow.getHandle(leaseId).query(leaseQuery)).holder?.workflowId === holder.workflowId,
  );
  const waiter = await start(env, tq, { node: 'n2', timeoutSeconds: 1 }, uniqueTaskQueue('waiter'));
  await untilQuery('waiting', async () => (await waiter.query(drainStatusQuery)).phase === 'waiting-for-lease');
  await holder.terminate('test: the holder dies');
  const cause = await failure(waiter);
  assert.equal(cause.type, WAIT_TIMEOUT, `the waiter got the lease and ran (${cause.message})`);
});
