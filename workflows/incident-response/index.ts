// incidentResponse: the guide's "Security Incident Checklist" and "Emergency Procedures".
// open (validate) -> preserve evidence (before anything destructive) -> assess the blast radius ->
// approval gate (`approve` update, optional deadline; or approvals.containment "auto") -> contain
// under the maintenance lease (priority: the head of the line) -> wait for `recover` -> compensate
// in reverse order (a failed step pauses for `decide`) -> optional restorePlatform child -> verify
// integrity -> a Markdown timeline next to the evidence, returned as the result.
import {
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  executeChild,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { failureText } from '../../contract/failure-cause.ts';
import { formatIssues } from '../../contract/format-issues.ts';
import { ProgressTracker } from '../progress.ts';
import { parseInput } from '../validate.ts';
import { kubeActs, longActs } from '../activity-proxies.ts';
import { withMaintenanceLease } from '../maintenance-lease/acquire.ts';
import {
  approveUpdate,
  controllerSuspensionAck,
  incidentDecideUpdate,
  incidentStateQuery,
  recoverUpdate,
} from '../../contract/incident-messages.ts';
import {
  approvalSchema,
  incidentDecisionSchema,
  incidentInputSchema,
  recoverSchema,
  type Approval,
  type IncidentDecision,
  type IncidentInput,
  type IncidentOptions,
  type IncidentReport,
  type IncidentState,
  type IntegrityReport,
  type RecoverRequest,
  type TimelineEntry,
} from '../../contract/types/incident.ts';
import { compensate, contain, now, type IncidentContext } from './actions.ts';
import { renderIncidentMarkdown } from './report.ts';
import type { restorePlatform } from '../restore-platform.ts';

const STEPS = [
  'validate',
  'evidence',
  'assess',
  'approval',
  'lease',
  'contain',
  'await recovery',
  'recover',
  'restore',
  'verify',
  'report',
] as const;
/** Incident response goes before every other runbook in the lease's line. */
export const INCIDENT_LEASE_PRIORITY = 100;
const EVIDENCE_TIMEOUT_SECONDS = 900;

/** The workflow id as an evidence directory name. */
export function incidentIdOf(workflowId: string): string {
  const safe = workflowId
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 120);
  return safe || 'incident';
}

export async function incidentResponse(input: IncidentInput): Promise<IncidentReport> {
  const progress = new ProgressTracker('incidentResponse', STEPS);
  const { workflowId } = workflowInfo();
  const state: IncidentState = {
    incidentId: incidentIdOf(workflowId),
    phase: 'preserving-evidence',
    containment: [],
    blankedKeys: [],
    decisions: [],
  };
  const timeline: TimelineEntry[] = [];
  const acks = new Map<string, { suspended: boolean; active: number }>();
  let approval: (Approval & { at: string }) | undefined;
  let recoverRequest: RecoverRequest | undefined;
  let decision: IncidentDecision | undefined;

  setHandler(incidentStateQuery, () => state);
  setHandler(controllerSuspensionAck, (a) => void acks.set(a.request, { suspended: a.suspended, active: a.active }));
  setHandler(
    approveUpdate,
    (a) => {
      approval = { ...a, at: now() };
      state.approval = approval;
      timeline.push({ at: approval.at, phase: 'approval', action: 'containment approved', result: a.reason, by: a.by });
      return { accepted: true as const, phase: 'containment' as const };
    },
    { validator: (a) => validateApproval(a, state) },
  );
  setHandler(
    recoverUpdate,
    (r) => {
      recoverRequest = recoverSchema.parse(r);
      state.recover = { by: r.by, reason: r.reason, at: now() };
      timeline.push({
        at: state.recover.at,
        phase: 'recover',
        action: 'recovery requested',
        result: r.reason,
        by: r.by,
      });
      return { accepted: true as const };
    },
    { validator: (r) => validateRecover(r, state) },
  );
  setHandler(
    incidentDecideUpdate,
    (d) => {
      decision = d;
      state.decisions.push({ ...d, at: now() });
      return { accepted: true as const, action: d.action };
    },
    { validator: (d) => validateDecision(d, state) },
  );

  const opts = await progress.run(
    'validate',
    async () => parseInput('incidentResponse', incidentInputSchema, input),
    (o) => `${o.severity}: ${o.summary.slice(0, 80)}`,
  );
  progress.target(opts.scope.namespace);
  const incidentId = opts.incidentId ?? state.incidentId;
  state.incidentId = incidentId;
  timeline.push({ at: now(), phase: 'open', action: `incident opened (${opts.severity})`, result: opts.summary });
  const ctx: IncidentContext = { incidentId, opts, state, timeline, acks };
  const takeDecision = () => {
    const d = decision;
    decision = undefined;
    return d;
  };
  const scope = {
    namespace: opts.scope.namespace,
    nodes: opts.scope.nodes,
    serviceAccount: opts.serviceAccount,
    ...(opts.scope.podSelector ? { podSelector: opts.scope.podSelector } : {}),
  };

  const evidence = await progress.run(
    'evidence',
    () =>
      longActs(EVIDENCE_TIMEOUT_SECONDS).preserveIncidentEvidence({
        ...scope,
        incidentId,
        release: opts.release,
        recipients: opts.recipients,
        ...(opts.recipientsFrom ? { recipientsFrom: opts.recipientsFrom } : {}),
      }),
    (e) => `${e.files.length} files in ${e.dir}${e.reused ? ' (reused)' : ''}`,
  );
  timeline.push({
    at: now(),
    phase: 'evidence',
    action: `evidence preserved in ${evidence.dir}`,
    result: `${evidence.files.length} files, ${evidence.pods} pods, logs ${evidence.logs.current} current + ${evidence.logs.previous} previous; manifest sha256 ${evidence.manifestSha256}${evidence.reused ? ' (reused)' : ''}`,
  });

  state.phase = 'assessing';
  const blastRadius = await progress.run(
    'assess',
    () => kubeActs.assessIncident(scope),
    (b) =>
      `${b.pods.length} pods, ${b.jobs.length} Jobs, ${b.taskRuns.length} TaskRuns, ${b.secrets.length} Secrets, ${b.failureEvents.length} failure events`,
  );
  timeline.push({
    at: now(),
    phase: 'assess',
    action: 'blast radius assessed',
    result: `${blastRadius.pods.length} pods, ${blastRadius.jobs.length} Jobs running, ${blastRadius.taskRuns.length} TaskRuns unfinished, Secrets ${blastRadius.secrets.join(', ') || 'none'}`,
  });

  const approved = await progress.run(
    'approval',
    () => awaitApproval(opts, state, progress, () => approval),
    (a) => (a ? `approved by ${a.by}` : 'no approval: nothing contained'),
  );
  let outcome: IncidentReport['outcome'] = 'recovered';
  let integrity: IntegrityReport | undefined;
  let restore: IncidentReport['restore'];

  if (!approved) {
    outcome = 'not-contained';
    state.phase = 'not-contained';
    timeline.push({
      at: now(),
      phase: 'approval',
      action: 'containment not approved',
      result: `no approval within ${opts.approvals.deadlineSeconds} s: nothing was contained`,
    });
    for (const s of ['lease', 'contain', 'await recovery', 'recover', 'restore', 'verify'] as const)
      progress.skip(s, 'not approved');
  } else {
    approval = approved;
    state.approval = approved;
    const aborted = await withMaintenanceLease(
      'incidentResponse',
      { wait: true, priority: INCIDENT_LEASE_PRIORITY },
      { onWait: (t) => progress.note(t) },
      async (lease) => {
        await progress.run(
          'lease',
          async () => lease,
          (l) => `${l.leaseId} since ${l.grantedAt}${l.waitedSeconds ? ` (waited ${l.waitedSeconds} s)` : ''}`,
        );
        timeline.push({
          at: now(),
          phase: 'contain',
          action: `maintenance lease ${lease.leaseId} taken`,
          result: `waited ${lease.waitedSeconds} s`,
        });
        state.phase = 'containing';
        await progress.run(
          'contain',
          () => contain(ctx),
          () => `${state.containment.length} actions`,
        );
        state.phase = 'contained';
        const request = await progress.run(
          'await recovery',
          async () => {
            progress.pause(
              `contained: send the update "recover" {by, reason, options: {credentials${state.blankedKeys.length ? ` for ${state.blankedKeys.join(', ')}` : ''}}} to recover`,
              'paused-for-approval',
            );
            await condition(() => recoverRequest !== undefined);
            progress.resume();
            return recoverRequest!;
          },
          (r) => `requested by ${r.by}`,
        );
        state.phase = 'recovering';
        return progress.run(
          'recover',
          () => recoverAll(ctx, request, progress, takeDecision),
          (a) => (a ? 'aborted: what is left stays contained' : 'every action compensated'),
        );
      },
    );
    const restored = aborted ? { aborted: true } : await restoreIfAsked(ctx, recoverRequest!, progress, takeDecision);
    restore = restored.restore;
    if (aborted || restored.aborted) {
      outcome = 'aborted';
      state.phase = 'aborted';
      if (aborted) progress.skip('restore', 'aborted');
      progress.skip('verify', 'aborted');
    } else {
      state.phase = 'verifying';
      integrity = await progress.run(
        'verify',
        async () => {
          try {
            return await kubeActs.verifyIncidentIntegrity({
              namespace: opts.scope.namespace,
              release: opts.release,
              serviceAccount: opts.serviceAccount,
            });
          } catch (err) {
            return {
              ok: false,
              images: [],
              rbac: { ok: false, extra: [], missing: [] },
              unknown: [`integrity not verified: ${failureText(err)}`],
            };
          }
        },
        (i) =>
          i.ok
            ? 'ok'
            : `NOT OK: ${[...i.images.filter((x) => !x.ok).map((x) => `${x.pod}/${x.container}`), ...i.rbac.extra, ...i.unknown].slice(0, 5).join('; ')}`,
      );
      timeline.push({
        at: now(),
        phase: 'verify',
        action: 'integrity verified',
        result: integrity.ok ? 'ok' : 'NOT OK (see Integrity)',
      });
      state.phase = 'recovered';
    }
  }

  await condition(allHandlersFinished);
  return progress.run(
    'report',
    async () => {
      timeline.push({ at: now(), phase: 'report', action: 'report written', result: outcome });
      const markdown = renderIncidentMarkdown({
        incidentId,
        workflowId,
        opts,
        outcome,
        evidence,
        blastRadius,
        containment: state.containment,
        ...(integrity ? { integrity } : {}),
        timeline,
      });
      const { file } = await kubeActs.writeIncidentReport({ incidentId, markdown });
      const report: IncidentReport = {
        runbook: 'incidentResponse',
        incidentId,
        severity: opts.severity,
        outcome,
        evidence,
        blastRadius,
        containment: state.containment,
        timeline,
        markdown,
        reportFile: file,
        ...(approval ? { approval } : {}),
        ...(integrity ? { integrity } : {}),
        ...(restore ? { restore } : {}),
      };
      return report;
    },
    (r) => `${r.outcome}; ${r.reportFile}`,
  );
}

async function awaitApproval(
  opts: IncidentOptions,
  state: IncidentState,
  progress: ProgressTracker,
  approval: () => (Approval & { at: string }) | undefined,
): Promise<(Approval & { at: string }) | undefined> {
  if (opts.approvals.containment === 'auto') {
    return {
      phase: 'containment',
      by: 'approvals.containment: auto',
      reason: 'automatic containment (input)',
      at: now(),
    };
  }
  state.phase = 'awaiting-approval';
  const seconds = opts.approvals.deadlineSeconds;
  if (seconds) state.approvalDeadline = new Date(Date.now() + seconds * 1000).toISOString();
  progress.pause(
    `evidence preserved; send the update "approve" {phase: "containment", by, reason} to contain${seconds ? ` before ${state.approvalDeadline} (then nothing is contained)` : ''}`,
    'paused-for-approval',
  );
  if (seconds) await condition(() => approval() !== undefined, seconds * 1000);
  else await condition(() => approval() !== undefined);
  progress.resume();
  delete state.approvalDeadline;
  return approval();
}

/** A failed recovery step: pause for `decide` until the deadline (then abort); records the decision in the timeline. */
async function decideAfterFailure(
  ctx: IncidentContext,
  what: string,
  err: unknown,
  progress: ProgressTracker,
  take: () => IncidentDecision | undefined,
): Promise<{ action: IncidentDecision['action']; by: string }> {
  const { state, opts, timeline } = ctx;
  const failure = failureText(err);
  timeline.push({ at: now(), phase: 'recover', action: what, result: `FAILED: ${failure}` });
  state.phase = 'paused';
  state.failure = failure;
  state.decisionDeadline = new Date(Date.now() + opts.decisionTimeoutSeconds * 1000).toISOString();
  progress.pause(
    `paused: "${what}" failed: ${failure}. Send the update "decide" {action: retry|skip|abort, by} before ${state.decisionDeadline} (then: abort)`,
  );
  let d: IncidentDecision | undefined;
  const decided = await condition(() => (d = take()) !== undefined, opts.decisionTimeoutSeconds * 1000);
  progress.resume();
  delete state.failure;
  delete state.decisionDeadline;
  state.phase = 'recovering';
  const action = decided && d ? d.action : 'abort';
  const by = decided && d ? d.by : 'deadline';
  if (!decided)
    state.decisions.push({
      action: 'abort',
      by,
      reason: `no decision within ${opts.decisionTimeoutSeconds} s`,
      at: now(),
    });
  timeline.push({ at: now(), phase: 'recover', action: `decision: ${action}`, result: d?.reason ?? '', by });
  return { action, by };
}

/** Compensations in reverse order; a failed one pauses for `decide` (retry, skip, abort). Returns true when aborted. */
async function recoverAll(
  ctx: IncidentContext,
  request: RecoverRequest,
  progress: ProgressTracker,
  take: () => IncidentDecision | undefined,
): Promise<boolean> {
  for (const rec of [...ctx.state.containment].reverse()) {
    for (;;) {
      try {
        const result = await compensate(ctx, rec, request);
        rec.compensated = { at: now(), result };
        ctx.timeline.push({ at: rec.compensated.at, phase: 'recover', action: rec.compensation, result });
        break;
      } catch (err) {
        const { action, by } = await decideAfterFailure(ctx, rec.compensation, err, progress, take);
        if (action === 'retry') continue;
        if (action === 'abort') return true;
        rec.compensated = { at: now(), result: `skipped by ${by}` };
        break;
      }
    }
  }
  return false;
}

/**
 * restorePlatform as child `<id>-restore` (after the lease is released: the restore takes it itself,
 * with the incident's priority); the backup is verified before any write. A failed restore pauses
 * for `decide` like any recovery step. undefined: not asked; aborted: true when the operator aborted.
 */
async function restoreIfAsked(
  ctx: IncidentContext,
  request: RecoverRequest,
  progress: ProgressTracker,
  take: () => IncidentDecision | undefined,
): Promise<{ restore?: IncidentReport['restore']; aborted: boolean }> {
  const backupId = request.options?.restoreBackupId;
  if (!backupId) {
    progress.skip('restore', 'no restoreBackupId in the recover update');
    return { aborted: false };
  }
  const workflowId = `${workflowInfo().workflowId}-restore`;
  return progress.run(
    'restore',
    async () => {
      for (;;) {
        try {
          await executeChild<typeof restorePlatform>('restorePlatform', {
            workflowId,
            args: [{ backupId, lease: { wait: true, priority: INCIDENT_LEASE_PRIORITY } }],
            parentClosePolicy: ParentClosePolicy.TERMINATE,
          });
          const restore = { backupId, workflowId, outcome: 'restored' };
          ctx.timeline.push({
            at: now(),
            phase: 'recover',
            action: `restorePlatform ${backupId} (${workflowId})`,
            result: 'restored',
          });
          return { restore, aborted: false };
        } catch (err) {
          const { action, by } = await decideAfterFailure(
            ctx,
            `restorePlatform ${backupId} (${workflowId})`,
            err,
            progress,
            take,
          );
          if (action === 'retry') continue;
          return {
            restore: {
              backupId,
              workflowId,
              outcome: action === 'skip' ? `failed; skipped by ${by}` : `failed; aborted by ${by}`,
            },
            aborted: action === 'abort',
          };
        }
      }
    },
    (r) => r.restore?.outcome ?? '',
  );
}

/** Update validators: synchronous (an async validator's throw is ignored). */
function validateApproval(a: Approval, state: IncidentState): void {
  const parsed = approvalSchema.safeParse(a);
  if (!parsed.success) throw new Error(`invalid approval: ${formatIssues(parsed.error.issues).join('; ')}`);
  if (state.phase !== 'awaiting-approval') throw new Error(`the incident is ${state.phase}, not awaiting approval`);
}

function validateRecover(r: RecoverRequest, state: IncidentState): void {
  const parsed = recoverSchema.safeParse(r);
  if (!parsed.success) throw new Error(`invalid recover request: ${formatIssues(parsed.error.issues).join('; ')}`);
  if (state.phase !== 'contained')
    throw new Error(`the incident is ${state.phase}, not contained: there is nothing to recover`);
  const given = new Set(parsed.data.options.credentials.map((c) => `${c.secret}/${c.key}`));
  const missing = state.blankedKeys.filter((k) => !given.has(k));
  if (missing.length)
    throw new Error(
      `options.credentials: give a new value (a reference) for every blanked key; missing ${missing.join(', ')}`,
    );
}

function validateDecision(d: IncidentDecision, state: IncidentState): void {
  const parsed = incidentDecisionSchema.safeParse(d);
  if (!parsed.success) throw new Error(`invalid decision: ${formatIssues(parsed.error.issues).join('; ')}`);
  if (state.phase !== 'paused')
    throw new Error(`the incident is ${state.phase}, not paused: there is nothing to decide`);
}
