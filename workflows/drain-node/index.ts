// drainNode: kubectl drain, durably. validate -> plan (read-only: kubectl's GetPodsForDeletion; errors
// stop here; dryRun returns it) -> the maintenance lease -> cordon (remembering whether this run
// cordoned the node) -> evict in rounds (Eviction API, bounded concurrency, a PDB's 429 retried until
// the timeout) and wait with a watch until every pod is gone. Saga: on failure, timeout, abort or
// cancellation the node is uncordoned, but only if this run cordoned it.
import { ApplicationFailure, CancellationScope, isCancellation, setHandler, workflowInfo } from '@temporalio/workflow';
import { ProgressTracker } from '../progress.ts';
import { parseInput } from '../validate.ts';
import { kubeActs, longActs } from '../activity-proxies.ts';
import {
  DRAIN_ABORTED,
  DRAIN_REFUSED,
  EVICTION_FAILED,
  INVALID_INPUT,
  KUBE_NOT_FOUND,
  WAIT_TIMEOUT,
} from '../../contract/failures.ts';
import { failureCause } from '../../contract/failure-cause.ts';
import { leaseText, withRunbookLease } from '../maintenance-lease/inherit.ts';
import { drainControlUpdate, drainStatusQuery } from '../../contract/drain-messages.ts';
import {
  drainNodeInputSchema,
  type DrainControl,
  type DrainNodeInput,
  type DrainNodeOptions,
  type DrainPlan,
  type DrainReport,
  type DrainStatus,
  type RemainingPod,
} from '../../contract/types/drain.ts';

const STEPS = ['validate', 'plan', 'lease', 'cordon', 'evict', 'report'] as const;
/** A round reports back this often, so the query and the UI follow the drain. */
const ROUND_SECONDS = 10;
/** kubectl waits 5 s after a PDB's 429; a shorter wait frees a node sooner once the budget allows. */
const RETRY_BLOCKED_SECONDS = 2;

export async function drainNode(input: DrainNodeInput): Promise<DrainReport> {
  const progress = new ProgressTracker('drainNode', STEPS);
  const status: DrainStatus = {
    node: typeof input?.node === 'string' ? input.node : '',
    phase: 'validating',
    total: 0,
    evicted: 0,
    remaining: [],
  };
  const controls: DrainReport['controls'] = [];
  let deadline = 0;
  let abort: Extract<DrainControl, { action: 'abort' }> | undefined;
  let round: CancellationScope | undefined;
  setHandler(drainStatusQuery, () => ({ ...status, remaining: status.remaining.map((p) => ({ ...p })) }));
  setHandler(
    drainControlUpdate,
    (control) => {
      controls.push({ ...control, at: new Date().toISOString() });
      if (control.action === 'abort') {
        abort = control;
        round?.cancel();
        return { accepted: true as const };
      }
      if (deadline) {
        deadline += control.seconds * 1000;
        status.deadline = new Date(deadline).toISOString();
      }
      return { accepted: true as const, ...(status.deadline ? { deadline: status.deadline } : {}) };
    },
    { validator: (control) => validateControl(control, status) },
  );

  const opts = await progress.run(
    'validate',
    async () => parseInput('drainNode', drainNodeInputSchema, input),
    (o) => o.node,
  );
  status.node = opts.node;
  const started = Date.now();

  status.phase = 'planning';
  let plan = await progress.run('plan', () => planNode(opts), planText);
  const report: DrainReport = {
    runbook: 'drainNode',
    node: opts.node,
    dryRun: opts.dryRun,
    plan,
    evicted: [],
    controls,
  };
  if (opts.dryRun) {
    for (const step of ['lease', 'cordon', 'evict'] as const) progress.skip(step, 'dry run');
    status.phase = 'dry-run';
    await progress.run(
      'report',
      async () => report,
      () => `dry run: ${planText(plan)}`,
    );
    return report;
  }
  refuseOnErrors(plan);

  // Under the parent's lease when a rolling maintenance drains (see maintenance-lease/inherit.ts).
  return withRunbookLease(
    'drainNode',
    opts.lease,
    {
      onWait: (text) => {
        status.phase = text ? 'waiting-for-lease' : status.phase;
        progress.note(text);
      },
    },
    async (lease) => {
      await progress.run('lease', async () => lease, leaseText);
      if (lease.waitedSeconds > 0) {
        // The node's pods may have changed while we waited in line.
        report.plan = plan = await planNode(opts);
        refuseOnErrors(plan);
      }
      status.phase = 'cordoning';
      const cordon = await progress.run(
        'cordon',
        () => kubeActs.cordonNode({ node: opts.node, workflowId: workflowInfo().workflowId }),
        (c) => (c.cordonedByUs ? 'cordoned' : 'was already cordoned: it stays cordoned whatever happens'),
      );
      report.cordonedByUs = status.cordonedByUs = cordon.cordonedByUs;
      try {
        if (abort) throw aborted(abort);
        deadline = Date.now() + opts.timeoutSeconds * 1000;
        status.deadline = new Date(deadline).toISOString();
        status.phase = 'evicting';
        report.evicted = await progress.run(
          'evict',
          () =>
            evictAll(
              opts,
              plan,
              status,
              progress,
              () => deadline,
              () => abort,
              (s) => (round = s),
            ),
          (gone) => `${gone.length} pods gone`,
        );
      } catch (err) {
        status.phase = 'uncordoning';
        if (cordon.cordonedByUs) {
          await CancellationScope.nonCancellable(() =>
            kubeActs.uncordonNode({ node: opts.node, workflowId: workflowInfo().workflowId }),
          );
        }
        status.phase = abort ? 'aborted' : 'failed';
        status.message = failureCause(err).message;
        progress.note(
          `${status.phase}: ${status.message}${cordon.cordonedByUs ? '; node uncordoned' : '; the node was cordoned before: it stays cordoned'}`,
        );
        if (abort && isCancellation(err)) throw aborted(abort);
        throw err;
      }
      status.phase = 'succeeded';
      report.durationSeconds = Math.round((Date.now() - started) / 1000);
      await progress.run(
        'report',
        async () => report,
        () => `${opts.node} drained: ${report.evicted.length} pods evicted`,
      );
      return report;
    },
  );
}

async function planNode(opts: DrainNodeOptions): Promise<DrainPlan> {
  try {
    return await kubeActs.planDrain({
      node: opts.node,
      ignoreDaemonSets: opts.ignoreDaemonSets,
      deleteEmptyDirData: opts.deleteEmptyDirData,
      force: opts.force,
      skipWaitForDeleteTimeoutSeconds: opts.skipWaitForDeleteTimeoutSeconds,
      ...(opts.podSelector ? { podSelector: opts.podSelector } : {}),
    });
  } catch (err) {
    const cause = failureCause(err);
    if (cause.type === KUBE_NOT_FOUND)
      throw ApplicationFailure.create({
        type: INVALID_INPUT,
        nonRetryable: true,
        message: `invalid drainNode input: node: ${cause.message}`,
        details: [[`node: ${cause.message}`]],
      });
    if (cause.type === INVALID_INPUT)
      throw ApplicationFailure.create({ type: INVALID_INPUT, nonRetryable: true, message: cause.message });
    throw err;
  }
}

function refuseOnErrors(plan: DrainPlan): void {
  if (!plan.errors.length) return;
  throw ApplicationFailure.create({
    type: DRAIN_REFUSED,
    nonRetryable: true,
    message: `cannot drain node ${plan.node}, nothing was cordoned: ${plan.errors.join('; ')}`,
    details: [plan],
  });
}

const aborted = (a: Extract<DrainControl, { action: 'abort' }>) =>
  ApplicationFailure.create({
    type: DRAIN_ABORTED,
    nonRetryable: true,
    message: `drain aborted by ${a.by}${a.reason ? `: ${a.reason}` : ''}`,
  });

function planText(p: DrainPlan): string {
  const parts = [`${p.evict.length} to evict`, `${p.kept.length} stay`];
  if (p.warnings.length) parts.push(`warnings: ${p.warnings.join('; ')}`);
  if (p.errors.length) parts.push(`errors: ${p.errors.join('; ')}`);
  return parts.join(', ');
}

function remainingText(pods: RemainingPod[]): string {
  const shown = pods.slice(0, 10).map((p) => {
    const pdbs = p.blockedBy?.length
      ? ` blocked by ${p.blockedBy.map((b) => `PDB ${b.name} (allowed disruptions ${b.disruptionsAllowed})`).join(', ')}`
      : '';
    return `${p.namespace}/${p.name} ${p.state}${pdbs}${p.state === 'failed' && p.error ? `: ${p.error}` : ''}`;
  });
  return `${pods.length} pods remain: ${shown.join('; ')}${pods.length > 10 ? '; ...' : ''}`;
}

async function evictAll(
  opts: DrainNodeOptions,
  plan: DrainPlan,
  status: DrainStatus,
  progress: ProgressTracker,
  deadline: () => number,
  aborting: () => DrainControl | undefined,
  setRound: (s: CancellationScope) => void,
) {
  let remaining: RemainingPod[] = plan.evict.map((p) => ({
    namespace: p.namespace,
    name: p.name,
    uid: p.uid,
    state: 'pending',
  }));
  const gone: DrainReport['evicted'] = [];
  status.total = remaining.length;
  status.remaining = remaining;
  while (remaining.length) {
    const a = aborting();
    if (a && a.action === 'abort') throw aborted(a);
    const failed = remaining.filter((p) => p.state === 'failed');
    if (failed.length === remaining.length) {
      throw ApplicationFailure.create({
        type: EVICTION_FAILED,
        nonRetryable: true,
        message: `evicting ${failed.map((p) => `${p.namespace}/${p.name}: ${p.error}`).join('; ')}`,
        details: [failed],
      });
    }
    const left = deadline() - Date.now();
    if (left <= 0) {
      throw ApplicationFailure.create({
        type: WAIT_TIMEOUT,
        nonRetryable: true,
        message: `drain of ${opts.node} timed out: ${remainingText(remaining)}`,
        details: [remaining],
      });
    }
    const roundSeconds = Math.max(1, Math.min(ROUND_SECONDS, Math.ceil(left / 1000)));
    const scope = new CancellationScope();
    setRound(scope);
    const result = await scope.run(() =>
      longActs(roundSeconds).drainRound({
        node: opts.node,
        pods: remaining,
        disableEviction: opts.disableEviction,
        concurrency: opts.concurrency,
        roundSeconds,
        retryBlockedSeconds: RETRY_BLOCKED_SECONDS,
        ...(opts.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: opts.gracePeriodSeconds } : {}),
      }),
    );
    gone.push(...result.gone);
    remaining = result.remaining;
    status.remaining = remaining;
    status.evicted = gone.length;
    progress.note(
      remaining.length ? `${remainingText(remaining)} (deadline ${new Date(deadline()).toISOString()})` : undefined,
    );
  }
  return gone;
}

/** Update validator: synchronous (an async validator's throw is ignored). */
function validateControl(control: DrainControl, status: DrainStatus): void {
  if (!control || typeof control !== 'object')
    throw new Error('drainControl must be {action: "extend", seconds, by} or {action: "abort", by, reason?}');
  const problems: string[] = [];
  if (control.action !== 'extend' && control.action !== 'abort') problems.push('action: must be extend or abort');
  if (typeof control.by !== 'string' || !control.by.trim()) problems.push("by: the operator's identity is required");
  if (
    control.action === 'extend' &&
    (!Number.isInteger(control.seconds) || control.seconds < 1 || control.seconds > 86400)
  )
    problems.push('seconds: must be an integer from 1 to 86400');
  if (control.action === 'abort' && control.reason !== undefined && typeof control.reason !== 'string')
    problems.push('reason: must be a string');
  if (problems.length) throw new Error(`invalid drainControl: ${problems.join('; ')}`);
  if (['succeeded', 'failed', 'aborted', 'dry-run', 'uncordoning'].includes(status.phase))
    throw new Error(`the drain is ${status.phase}: nothing to control`);
}
