// rollingNodeMaintenance: the guide's "Kubernetes Upgrades" (drain, upgrade, uncordon, verify, node by
// node), durably. validate -> select the nodes (list or label selector) -> take the maintenance lease
// once for the whole run -> `concurrency` lanes take the nodes in order; each waits for the maintenance
// window (a durable timer), then runs the node's steps (see node.ts: drainNode child under this run's
// lease, upgraded, uncordon, Ready, platform health). A failed node stops the run: no lane starts
// another node until an operator's `decide` (retry from the failed step | skip | abort; the deadline
// aborts). Query rollingMaintenanceState: every node's state.
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  isCancellation,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { ProgressTracker } from '../progress.ts';
import { parseInput } from '../validate.ts';
import { kubeActs } from '../activity-proxies.ts';
import { leaseBoundary, withMaintenanceLease } from '../maintenance-lease/acquire.ts';
import { leaseText } from '../maintenance-lease/inherit.ts';
import { failureCause, failureText } from '../../contract/failure-cause.ts';
import { formatIssues } from '../../contract/format-issues.ts';
import { INVALID_INPUT, KUBE_INVALID } from '../../contract/failures.ts';
import {
  nodeDecideUpdate,
  nodeDoneUpdate,
  rollingMaintenanceStateQuery,
} from '../../contract/rolling-maintenance-messages.ts';
import {
  MAX_NODES,
  nodeDecisionSchema,
  nodeDoneSchema,
  rollingNodeMaintenanceInputSchema,
  type NodeDecision,
  type NodeDone,
  type NodeMaintenanceState,
  type RollingMaintenanceReport,
  type RollingMaintenanceState,
  type RollingNodeMaintenanceInput,
  type RollingNodeMaintenanceOptions,
  type WindowWait,
} from '../../contract/types/rolling-maintenance.ts';
import { drainWorkflowId, maintainNode, readNode, type NodeRun } from './node.ts';
import { windowAt, windowText } from './window.ts';

const STEPS = ['validate', 'select', 'lease', 'nodes', 'report'] as const;
const FINISHED = ['done', 'failed', 'skipped', 'not-started'];
const ACTIVE = ['draining', 'waiting-for-upgrade', 'uncordoning', 'waiting-ready', 'checking-health'];

export async function rollingNodeMaintenance(input: RollingNodeMaintenanceInput): Promise<RollingMaintenanceReport> {
  const progress = new ProgressTracker('rollingNodeMaintenance', STEPS);
  const state: RollingMaintenanceState = { phase: 'validating', nodes: [], decisions: [] };
  const done = new Map<string, NodeDone & { at: string }>();
  const decisions = new Map<string, NodeDecision>();
  /** Failed nodes waiting for `decide`, first failed first. */
  const awaiting: NodeMaintenanceState[] = [];
  setHandler(rollingMaintenanceStateQuery, () => JSON.parse(JSON.stringify(state)) as RollingMaintenanceState);
  setHandler(
    nodeDoneUpdate,
    (d) => {
      done.set(d.node, { ...d, at: new Date().toISOString() });
      return { accepted: true as const, node: d.node };
    },
    { validator: (d) => validateNodeDone(d, state) },
  );
  setHandler(
    nodeDecideUpdate,
    (d) => {
      const node = d.node ?? awaiting[0]!.node;
      decisions.set(node, d);
      state.decisions.push({ ...d, node, at: new Date().toISOString() });
      const step = awaiting.find((a) => a.node === node)?.step;
      return {
        accepted: true as const,
        action: d.action,
        node,
        ...(d.action === 'retry' && step ? { resumeAt: step } : {}),
      };
    },
    { validator: (d) => validateDecision(d, awaiting) },
  );

  const opts = await progress.run(
    'validate',
    async () => parseInput('rollingNodeMaintenance', rollingNodeMaintenanceInputSchema, input),
    (o) =>
      `${o.nodes ? `${o.nodes.length} nodes` : `nodes matching ${o.selector}`}, concurrency ${o.concurrency}${o.maintenanceWindow ? `, window ${o.maintenanceWindow.daysOfWeek.join(',')} ${o.maintenanceWindow.start}-${o.maintenanceWindow.end} ${o.maintenanceWindow.timeZone}` : ''}`,
  );
  const started = Date.now();
  const { workflowId } = workflowInfo();

  const nodes = await progress.run(
    'select',
    () => selectNodes(opts),
    (n) => n.join(', '),
  );
  state.nodes = nodes.map((node) => ({
    node,
    phase: 'pending',
    drainWorkflowId: drainWorkflowId(workflowId, node),
    attempts: 0,
  }));
  state.phase = 'running';

  let paused = false;
  const windowWaits: WindowWait[] = [];
  /** Progress note and UI details: the window wait, the pause, or the nodes in maintenance. */
  const refresh = () => {
    const head = awaiting[0];
    if (head) {
      const text = `paused: node ${head.node} failed at ${head.step}: ${head.error}. Send the update "decide" {action: retry|skip|abort, by${awaiting.length > 1 ? ', node' : ''}} before ${state.paused?.deadline} (then: abort)`;
      if (!paused) progress.pause(text);
      else progress.note(text);
      paused = true;
      return;
    }
    if (paused) progress.resume();
    paused = false;
    const active = state.nodes.filter((n) => ACTIVE.includes(n.phase));
    const finished = state.nodes.filter((n) => FINISHED.includes(n.phase)).length;
    const parts = [
      ...(state.windowOpensAt
        ? [
            `outside the maintenance window: waiting until ${windowText(Date.parse(state.windowOpensAt), opts.maintenanceWindow!)}`,
          ]
        : []),
      ...active.map((n) => `${n.node}: ${n.phase}${n.phase === 'waiting-for-upgrade' ? upgradeHint(opts, n) : ''}`),
    ];
    progress.note(
      state.phase === 'running' || state.phase === 'waiting-for-window'
        ? `${finished}/${state.nodes.length} nodes finished${parts.length ? `; ${parts.join('; ')}` : ''}`
        : undefined,
    );
  };

  return withMaintenanceLease(
    'rollingNodeMaintenance',
    opts.lease,
    {
      onWait: (text) => {
        state.phase = text ? 'waiting-for-lease' : 'running';
        progress.note(text);
      },
    },
    async (lease) => {
      await progress.run('lease', async () => lease, leaseText);
      const info = workflowInfo();
      const run: NodeRun = {
        opts,
        lease: { leaseId: lease.leaseId, workflowId: info.workflowId, runId: info.runId, grantedAt: lease.grantedAt },
        done,
        changed: refresh,
      };
      const queue = [...state.nodes];
      let aborted = false;
      /** A lane is at the lease boundary (maybe yielding the lease): no lane starts a node meanwhile. */
      let yielding = false;

      /** Until the window is open (a durable timer, visible in the UI's pending timers and the note). */
      const windowGate = async () => {
        const w = opts.maintenanceWindow;
        if (!w) return;
        for (;;) {
          const at = windowAt(Date.now(), w);
          if (at.open) return;
          const until = new Date(at.opensAt).toISOString();
          if (windowWaits.at(-1)?.until !== until) windowWaits.push({ from: new Date().toISOString(), until });
          state.phase = 'waiting-for-window';
          state.windowOpensAt = until;
          refresh();
          await sleep(at.opensAt - Date.now(), { summary: `maintenance window opens at ${windowText(at.opensAt, w)}` });
          if (state.phase === 'waiting-for-window') state.phase = 'running';
          delete state.windowOpensAt;
          refresh();
        }
      };

      const awaitDecision = async (ns: NodeMaintenanceState): Promise<NodeDecision> => {
        const deadline = new Date(Date.now() + opts.decisionTimeoutSeconds * 1000).toISOString();
        awaiting.push(ns);
        state.phase = 'paused';
        if (awaiting.length === 1) state.paused = { node: ns.node, step: ns.step!, failure: ns.error ?? '', deadline };
        refresh();
        const decided = await condition(() => decisions.has(ns.node), opts.decisionTimeoutSeconds * 1000);
        let decision = decisions.get(ns.node);
        decisions.delete(ns.node);
        if (!decided || !decision) {
          decision = { action: 'abort', by: 'deadline', reason: `no decision within ${opts.decisionTimeoutSeconds} s` };
          state.decisions.push({ ...decision, node: ns.node, at: new Date().toISOString() });
        }
        awaiting.splice(awaiting.indexOf(ns), 1);
        const next = awaiting[0];
        if (next) state.paused = { node: next.node, step: next.step!, failure: next.error ?? '', deadline };
        else {
          delete state.paused;
          state.phase = 'running';
        }
        refresh();
        return decision;
      };

      const maintain = async (ns: NodeMaintenanceState) => {
        ns.startedAt = new Date().toISOString();
        ns.attempts++;
        let from = 'drain' as NonNullable<NodeMaintenanceState['step']>;
        for (;;) {
          try {
            await maintainNode(run, ns, from);
            ns.phase = 'done';
            delete ns.error;
            ns.finishedAt = new Date().toISOString();
            refresh();
            return;
          } catch (err) {
            if (isCancellation(err)) throw err;
            ns.phase = 'failed';
            ns.error = failureText(err);
            const reading = await readNode(ns.node);
            if (reading) ns.cordoned = reading.unschedulable;
            ns.finishedAt = new Date().toISOString();
            refresh();
            if (aborted) return;
            const decision = await awaitDecision(ns);
            if (decision.action === 'retry') {
              from = ns.step!;
              ns.attempts++;
              delete ns.finishedAt;
              continue;
            }
            if (decision.action === 'skip') {
              // Back to service as it is: undo this run's cordon only (a node cordoned before stays).
              const r = await kubeActs.uncordonNode({ node: ns.node, workflowId: ns.drainWorkflowId });
              if (r.uncordoned) ns.cordoned = false;
              ns.phase = 'skipped';
              refresh();
              return;
            }
            aborted = true;
            return;
          }
        }
      };

      const lane = async () => {
        for (;;) {
          await condition(() => aborted || !awaiting.length);
          if (aborted || !queue.length) return;
          await windowGate();
          await condition(() => aborted || !awaiting.length);
          // Between nodes is a step boundary: a preempting runbook (incident response) gets the lease
          // here, when no node is in maintenance (its drain runs under this run's lease).
          if (!yielding && !state.nodes.some((n) => ACTIVE.includes(n.phase))) {
            yielding = true;
            await leaseBoundary().finally(() => (yielding = false));
          }
          await condition(() => !yielding);
          const ns = queue.shift();
          if (aborted || !ns) return;
          await maintain(ns);
        }
      };

      await progress.run(
        'nodes',
        async () => {
          await Promise.all(Array.from({ length: Math.min(opts.concurrency, queue.length) }, () => lane()));
          for (const ns of queue) ns.phase = 'not-started';
          return state.nodes;
        },
        (ns) => summary(ns),
      );

      state.phase = aborted ? 'aborted' : 'succeeded';
      const report: RollingMaintenanceReport = {
        runbook: 'rollingNodeMaintenance',
        outcome: aborted
          ? 'aborted'
          : state.nodes.some((n) => n.phase === 'skipped')
            ? 'completed-with-skips'
            : 'succeeded',
        nodes: state.nodes,
        decisions: state.decisions,
        windowWaits,
        lease: { leaseId: lease.leaseId, grantedAt: lease.grantedAt, waitedSeconds: lease.waitedSeconds },
        durationSeconds: Math.round((Date.now() - started) / 1000),
      };
      refresh();
      await condition(allHandlersFinished);
      return progress.run(
        'report',
        async () => report,
        (r) => `${r.outcome}: ${summary(r.nodes)}`,
      );
    },
  );
}

async function selectNodes(opts: RollingNodeMaintenanceOptions): Promise<string[]> {
  const bad = (message: string) =>
    ApplicationFailure.create({
      type: INVALID_INPUT,
      nonRetryable: true,
      message: `invalid rollingNodeMaintenance input: ${message}`,
      details: [[message]],
    });
  let found;
  try {
    found = await kubeActs.selectNodes(opts.nodes ? { nodes: opts.nodes } : { selector: opts.selector! });
  } catch (err) {
    if (failureCause(err).type === KUBE_INVALID) throw bad(`selector: ${failureCause(err).message}`);
    throw err;
  }
  if (found.missing.length) throw bad(`nodes: no such node: ${found.missing.join(', ')}`);
  if (!found.nodes.length) throw bad(`selector: no node matches ${opts.selector}`);
  if (found.nodes.length > MAX_NODES)
    throw bad(
      `selector: ${found.nodes.length} nodes match ${opts.selector}; at most ${MAX_NODES} per run (split the pool with a narrower selector)`,
    );
  return found.nodes;
}

function upgradeHint(opts: RollingNodeMaintenanceOptions, n: NodeMaintenanceState): string {
  const wants = [
    ...(opts.upgraded.nodeDone ? ['the update "nodeDone" {node, by}'] : []),
    ...(opts.upgraded.kubeletVersion
      ? [`kubelet ${opts.upgraded.kubeletVersion}${n.kubeletVersion ? ` (reports ${n.kubeletVersion})` : ''}`]
      : []),
  ];
  return ` (${wants.join(' and ')})`;
}

function summary(nodes: NodeMaintenanceState[]): string {
  const count = (phase: string) => nodes.filter((n) => n.phase === phase).length;
  const parts = [`${count('done')}/${nodes.length} done`];
  for (const phase of ['skipped', 'failed', 'not-started'] as const)
    if (count(phase)) parts.push(`${count(phase)} ${phase}`);
  return parts.join(', ');
}

/** Update validators: synchronous (an async validator's throw is ignored). */
function validateNodeDone(d: NodeDone, state: RollingMaintenanceState): void {
  const parsed = nodeDoneSchema.safeParse(d);
  if (!parsed.success) throw new Error(`invalid nodeDone: ${formatIssues(parsed.error.issues).join('; ')}`);
  const ns = state.nodes.find((n) => n.node === d.node);
  if (!ns)
    throw new Error(
      `node ${d.node} is not in this maintenance (${state.nodes.map((n) => n.node).join(', ') || 'no nodes yet'})`,
    );
  const waiting = ns.phase === 'waiting-for-upgrade' || (ns.phase === 'failed' && ns.step === 'upgrade');
  if (!waiting)
    throw new Error(
      `node ${d.node} is ${ns.phase}${ns.step ? ` (step ${ns.step})` : ''}, not waiting for its upgrade: nodeDone is accepted once the node is drained`,
    );
}

function validateDecision(d: NodeDecision, awaiting: NodeMaintenanceState[]): void {
  const parsed = nodeDecisionSchema.safeParse(d);
  if (!parsed.success) throw new Error(`invalid decision: ${formatIssues(parsed.error.issues).join('; ')}`);
  if (!awaiting.length) throw new Error('no node waits for a decision: nothing to decide');
  if (d.node !== undefined && !awaiting.some((a) => a.node === d.node))
    throw new Error(`node ${d.node} does not wait for a decision (waiting: ${awaiting.map((a) => a.node).join(', ')})`);
  if (d.node === undefined && awaiting.length > 1)
    throw new Error(
      `several nodes wait for a decision (${awaiting.map((a) => a.node).join(', ')}): name one with node`,
    );
}
