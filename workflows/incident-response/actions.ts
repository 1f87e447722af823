// Containment in the issue's order (scale, revoke, isolate, cordon, suspend), each action recorded
// with its compensation as soon as it is done; and the compensations, in reverse order.
import { condition, getExternalWorkflowHandle, workflowInfo } from '@temporalio/workflow';
import { kubeActs } from '../activity-proxies.ts';
import { controllerSuspensionSignal } from '../../contract/incident-messages.ts';
import { controllerWorkflowId } from '../../contract/types/taskrun.ts';
import type {
  ContainmentAction,
  ContainmentRecord,
  IncidentOptions,
  IncidentState,
  RecoverRequest,
  TimelineEntry,
} from '../../contract/types/incident.ts';
import { describeAction } from './report.ts';

/** How long the TaskRun controller has to acknowledge a suspension (it waits for its Job creations in flight). */
const ACK_TIMEOUT_MS = 60_000;

export interface IncidentContext {
  incidentId: string;
  opts: IncidentOptions;
  state: IncidentState;
  timeline: TimelineEntry[];
  acks: Map<string, { suspended: boolean; active: number }>;
}

export const now = () => new Date().toISOString();

function record(ctx: IncidentContext, action: ContainmentAction, compensation: string): void {
  const rec: ContainmentRecord = { action, at: now(), compensation };
  ctx.state.containment.push(rec);
  ctx.timeline.push({ at: rec.at, phase: 'contain', action: describeAction(rec), result: 'done' });
}

/** Signals the namespace's TaskRun controller and waits for its acknowledgement. */
async function signalController(
  ctx: IncidentContext,
  suspend: boolean,
): Promise<{ delivered: boolean; acked: boolean; active?: number }> {
  const target = controllerWorkflowId(ctx.opts.scope.namespace);
  const request = `${ctx.incidentId}-${suspend ? 'suspend' : 'resume'}`;
  try {
    await getExternalWorkflowHandle(target).signal(controllerSuspensionSignal, {
      suspend,
      by: `incidentResponse ${ctx.incidentId}`,
      reason: ctx.opts.summary.slice(0, 200),
      replyTo: workflowInfo().workflowId,
      request,
    });
  } catch {
    return { delivered: false, acked: false };
  }
  const acked = await condition(() => ctx.acks.has(request), ACK_TIMEOUT_MS);
  return { delivered: true, acked, ...(acked ? { active: ctx.acks.get(request)!.active } : {}) };
}

export async function contain(ctx: IncidentContext): Promise<void> {
  const { opts, incidentId } = ctx;
  const namespace = opts.scope.namespace;
  const c = opts.containment;
  {
    const r = await kubeActs.scaleForIncident({ namespace, deployment: c.deployment, incidentId });
    record(
      ctx,
      { kind: 'scale', deployment: c.deployment, replicas: r.replicas, found: r.found },
      r.found ? `scale ${c.deployment} back to ${r.replicas}` : 'nothing',
    );
  }
  for (const s of c.secrets) {
    const keys = await kubeActs.blankSecretKeys({ namespace, secret: s.name, keys: s.keys, incidentId });
    const present = keys.filter((k) => k.present).map((k) => k.key);
    for (const k of present) ctx.state.blankedKeys.push(`${s.name}/${k}`);
    record(
      ctx,
      { kind: 'blank-secret', secret: s.name, keys },
      present.length ? `write new values of ${present.join(', ')} from the recover update's credentials` : 'nothing',
    );
  }
  if (c.networkPolicy) {
    const r = await kubeActs.applyIncidentNetworkPolicy({
      namespace,
      incidentId,
      ...(opts.scope.podSelector ? { podSelector: opts.scope.podSelector } : {}),
    });
    record(ctx, { kind: 'network-policy', name: r.name }, `delete NetworkPolicy ${r.name}`);
  }
  for (const node of opts.scope.nodes) {
    const r = await kubeActs.cordonNode({ node, workflowId: workflowInfo().workflowId });
    record(
      ctx,
      { kind: 'cordon', node, cordonedByUs: r.cordonedByUs },
      r.cordonedByUs ? `uncordon ${node}` : 'nothing (it was cordoned before)',
    );
  }
  if (c.suspendController) {
    const workflowId = controllerWorkflowId(namespace);
    const r = await signalController(ctx, true);
    const detail = !r.delivered
      ? `no TaskRun controller runs as ${workflowId}`
      : r.acked
        ? `acknowledged, ${r.active} Jobs active`
        : `signalled; no acknowledgement within ${ACK_TIMEOUT_MS / 1000} s`;
    record(
      ctx,
      { kind: 'suspend-controller', workflowId, suspended: r.delivered, detail },
      r.delivered ? `resume ${workflowId}` : 'nothing',
    );
  }
}

/** Undoes one recorded action; returns what was done. Throws when it fails (the caller pauses for a decision). */
export async function compensate(
  ctx: IncidentContext,
  rec: ContainmentRecord,
  recover: RecoverRequest,
): Promise<string> {
  const namespace = ctx.opts.scope.namespace;
  const a = rec.action;
  switch (a.kind) {
    case 'suspend-controller': {
      if (!a.suspended) return 'nothing to resume';
      const r = await signalController(ctx, false);
      return !r.delivered
        ? `${a.workflowId} no longer runs`
        : r.acked
          ? `resumed ${a.workflowId}`
          : `resume signalled to ${a.workflowId}; no acknowledgement`;
    }
    case 'cordon': {
      if (!a.cordonedByUs) return 'left cordoned (cordoned before the incident)';
      const r = await kubeActs.uncordonNode({ node: a.node, workflowId: workflowInfo().workflowId });
      return r.uncordoned ? `uncordoned ${a.node}` : `${a.node} no longer carries our cordon mark: left as it is`;
    }
    case 'network-policy': {
      const r = await kubeActs.deleteIncidentNetworkPolicy({ namespace, name: a.name });
      return r.deleted ? `deleted NetworkPolicy ${a.name}` : `NetworkPolicy ${a.name} was already gone`;
    }
    case 'blank-secret': {
      const present = a.keys.filter((k) => k.present);
      if (!present.length) return 'nothing to renew';
      const refs = (recover.options?.credentials ?? []).filter(
        (c) => c.secret === a.secret && present.some((k) => k.key === c.key),
      );
      const [written] = await kubeActs.applySecrets({
        namespace,
        secrets: [{ name: a.secret, keys: refs.map((r) => ({ key: r.key, from: r.from })) }],
        field: 'recover.options.credentials',
      });
      await kubeActs.clearBlankedMark({ namespace, secret: a.secret });
      return `renewed ${written!.keys.map((k) => `${a.secret}/${k.key} (${k.fingerprint})`).join(', ')}`;
    }
    case 'scale': {
      if (!a.found) return 'nothing to scale';
      await kubeActs.scaleBackAfterIncident({ namespace, deployment: a.deployment, replicas: a.replicas });
      return `scaled ${a.deployment} back to ${a.replicas}`;
    }
  }
}
