// One node's maintenance: drain (drainNode as a child, under the parent's lease) -> wait until it is
// upgraded (nodeDone and/or the kubelet version) -> uncordon -> wait Ready -> platform health. A retry
// resumes at the step that failed (state.step).
import { ApplicationFailure, ParentClosePolicy, condition, executeChild } from '@temporalio/workflow';
import { kubeActs, longActs, quickReadActs } from '../activity-proxies.ts';
import { WAIT_TIMEOUT } from '../../contract/failures.ts';
import type { InheritedLease } from '../../contract/types/lease.ts';
import {
  NODE_STEPS,
  kubeletVersionMatches,
  type NodeDone,
  type NodeMaintenanceState,
  type NodeStep,
  type RollingNodeMaintenanceOptions,
} from '../../contract/types/rolling-maintenance.ts';
import type { drainNode } from '../drain-node/index.ts';
import { waitPlatformHealthy } from './health.ts';

/** A kubelet-version wait reports back (state, query) this often. */
const VERSION_ROUND_SECONDS = 60;

export interface NodeRun {
  opts: RollingNodeMaintenanceOptions;
  lease: InheritedLease['inherit'];
  /** nodeDone updates received, by node. */
  done: Map<string, NodeDone & { at: string }>;
  /** Called whenever a node's state changes (progress note, UI). */
  changed: () => void;
}

export const drainWorkflowId = (workflowId: string, node: string) => `${workflowId}-drain-${node}`;

export async function maintainNode(run: NodeRun, ns: NodeMaintenanceState, from: NodeStep): Promise<void> {
  for (const step of NODE_STEPS.slice(NODE_STEPS.indexOf(from))) {
    ns.step = step;
    await STEP_RUNNERS[step](run, ns);
  }
  delete ns.step;
}

const STEP_RUNNERS: Record<NodeStep, (run: NodeRun, ns: NodeMaintenanceState) => Promise<void>> = {
  drain: async (run, ns) => {
    set(run, ns, 'draining');
    const report = await executeChild<typeof drainNode>('drainNode', {
      workflowId: ns.drainWorkflowId,
      args: [{ node: ns.node, ...run.opts.drain, lease: { inherit: run.lease } }],
      parentClosePolicy: ParentClosePolicy.TERMINATE,
    });
    ns.cordonedByUs = report.cordonedByUs === true;
    ns.cordoned = true;
    ns.evicted = report.evicted.length;
  },

  upgrade: async (run, ns) => {
    set(run, ns, 'waiting-for-upgrade');
    const { nodeDone, kubeletVersion, timeoutSeconds } = run.opts.upgraded;
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
      const doneOk = !nodeDone || run.done.has(ns.node);
      const versionOk = kubeletVersion === undefined || kubeletVersionMatches(ns.kubeletVersion, kubeletVersion);
      if (doneOk && versionOk) break;
      const left = deadline - Date.now();
      if (left <= 0) {
        const missing = [
          ...(doneOk ? [] : ['no nodeDone update']),
          ...(versionOk ? [] : [`its kubelet reports ${ns.kubeletVersion ?? 'no version'}, not ${kubeletVersion}`]),
        ];
        throw ApplicationFailure.create({
          type: WAIT_TIMEOUT,
          nonRetryable: true,
          message: `node ${ns.node} not upgraded within ${timeoutSeconds} s: ${missing.join('; ')}`,
        });
      }
      if (!versionOk) {
        const seconds = Math.max(1, Math.min(VERSION_ROUND_SECONDS, Math.ceil(left / 1000)));
        const r = await longActs(seconds).waitNodeState({
          node: ns.node,
          kubeletVersion: kubeletVersion!,
          timeoutSeconds: seconds,
        });
        if (r.node.kubeletVersion) ns.kubeletVersion = r.node.kubeletVersion;
        run.changed();
      } else {
        await condition(() => run.done.has(ns.node), left);
      }
    }
    const done = run.done.get(ns.node);
    if (done) ns.nodeDone = { by: done.by, at: done.at, ...(done.note ? { note: done.note } : {}) };
  },

  uncordon: async (run, ns) => {
    set(run, ns, 'uncordoning');
    // Only the drain's own cordon (its mark) is undone: a node cordoned before stays cordoned.
    const r = await kubeActs.uncordonNode({ node: ns.node, workflowId: ns.drainWorkflowId });
    if (r.uncordoned) ns.cordoned = false;
  },

  ready: async (run, ns) => {
    set(run, ns, 'waiting-ready');
    const seconds = run.opts.readyTimeoutSeconds;
    const r = await longActs(seconds).waitNodeState({ node: ns.node, ready: true, timeoutSeconds: seconds });
    ns.cordoned = r.node.unschedulable;
    if (r.node.kubeletVersion) ns.kubeletVersion = r.node.kubeletVersion;
    if (!r.matched)
      throw ApplicationFailure.create({
        type: WAIT_TIMEOUT,
        nonRetryable: true,
        message: `node ${ns.node} not Ready within ${seconds} s: ${r.node.reason ?? 'not Ready'}`,
      });
  },

  health: async (run, ns) => {
    set(run, ns, 'checking-health');
    if (run.opts.health.skip) return;
    await waitPlatformHealthy(run.opts.health);
  },
};

function set(run: NodeRun, ns: NodeMaintenanceState, phase: NodeMaintenanceState['phase']): void {
  ns.phase = phase;
  run.changed();
}

/** The node as it is now (after a failure: is it cordoned?), or undefined when it cannot be read. */
export async function readNode(node: string) {
  try {
    // A few attempts only: the read serves the report; an outage must not delay the pause.
    return (await quickReadActs.waitNodeState({ node, timeoutSeconds: 0 })).node;
  } catch {
    return undefined;
  }
}
