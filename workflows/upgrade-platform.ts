// upgradePlatform: the guide's "Image Updates" and "Platform Upgrades", resumable.
// pre-flight (recover a stuck release) -> record the revision to return to and take a backup
// (backupPlatform as a child workflow) -> helm upgrade -> rollout -> smoke test. On failure: roll back, or pause for an operator's `decide` update
// (retry | rollback | abort) until a deadline, then roll back. A worker crash anywhere resumes
// here; the helm step is idempotent (same chart+values digest adds no revision).
import {
  ApplicationFailure,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  executeChild,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { failureCause, failureText, innermostApplicationFailure } from '../contract/failure-cause.ts';
import { formatIssues } from '../contract/format-issues.ts';
import { ProgressTracker } from './progress.ts';
import { parseInput } from './validate.ts';
import { kubeActs, longActs } from './activity-proxies.ts';
import { helmChartArgs } from './helm-chart.ts';
import { mergeValues } from '../contract/merge-values.ts';
import { decideUpdate, upgradeStateQuery } from '../contract/messages.ts';
import { HELM_RELEASE_LOCKED, INVALID_INPUT } from '../contract/failures.ts';
import { checkOrchestratorHealth, healthCheckText, unhealthyFailure } from './orchestrator-health.ts';
import { backupPlatform } from './backup-platform.ts';
import { withMaintenanceLease } from './maintenance-lease/acquire.ts';
import { leaseText } from './maintenance-lease/inherit.ts';
import type { BackupPlatformInput } from '../contract/types/backup.ts';
import {
  decisionSchema,
  upgradePlatformInputSchema,
  type Decision,
  type UpgradePlatformInput,
  type UpgradePlatformOptions,
  type UpgradeBackupRecord,
  type UpgradeReport,
  type UpgradeState,
} from '../contract/types/upgrade.ts';
import { UPGRADE_BACKUP_FAILED } from '../contract/failures.ts';

const STEPS = ['validate', 'lease', 'pre-flight', 'backup', 'upgrade', 'rollout', 'smoke test', 'report'] as const;
type StepName = (typeof STEPS)[number];

export async function upgradePlatform(input: UpgradePlatformInput = {}): Promise<UpgradeReport> {
  const progress = new ProgressTracker('upgradePlatform', STEPS);
  const state: UpgradeState = { phase: 'running', decisions: [] };
  let pendingDecision: Decision | undefined;
  setHandler(upgradeStateQuery, () => state);
  setHandler(
    decideUpdate,
    async (decision) => {
      pendingDecision = decision;
      state.decisions.push({ ...decision, at: new Date().toISOString() });
      return { accepted: true as const, action: decision.action };
    },
    { validator: (decision) => validateDecision(decision, state) },
  );

  const opts = await progress.run('validate', async () =>
    parseInput('upgradePlatform', upgradePlatformInputSchema, input),
  );
  const takeDecision = () => {
    const d = pendingDecision;
    pendingDecision = undefined;
    return d;
  };
  // The maintenance lease covers everything that acts (recovery, backup, helm, rollback).
  return withMaintenanceLease(
    'upgradePlatform',
    opts.lease,
    { onWait: (text) => progress.note(text) },
    async (lease) => {
      await progress.run('lease', async () => lease, leaseText);
      return upgradeHoldingLease(opts, progress, state, takeDecision);
    },
  );
}

async function upgradeHoldingLease(
  opts: UpgradePlatformOptions,
  progress: ProgressTracker<StepName>,
  state: UpgradeState,
  takeDecision: () => Decision | undefined,
): Promise<UpgradeReport> {
  const release = { release: opts.release, namespace: opts.namespace };

  const preflight = await progress.run(
    'pre-flight',
    async () => {
      const current = await kubeActs.helmStatus(release);
      if (!current)
        throw ApplicationFailure.create({
          type: INVALID_INPUT,
          nonRetryable: true,
          message: `release ${opts.namespace}/${opts.release} is not installed: run deployPlatform first`,
        });
      const recovery = await recoverWhenSafe(opts, progress);
      const status = recovery.recovered ? await kubeActs.helmStatus(release) : current;
      return { status: status ?? current, recovery };
    },
    (p) =>
      p.recovery.recovered
        ? `recovered a ${p.recovery.previousStatus} release (${p.recovery.action})`
        : `revision ${p.status.revision} ${p.status.status}`,
  );

  // The revision that a rollback returns to (its values are the upgrade's base: read by the helm
  // activity, never carried in history), then the backup that a restore would use.
  const backup = await progress.run(
    'backup',
    async () => {
      const status = await kubeActs.helmStatus(release);
      const taken = await preUpgradeBackup(opts);
      return { status, taken };
    },
    (b) => `revision ${b.status?.revision} recorded${b.taken ? `; ${backupText(b.taken)}` : ''}`,
  );
  const previous = backup.status!;

  const report: UpgradeReport = {
    runbook: 'upgradePlatform',
    outcome: 'succeeded',
    ...release,
    previous: { revision: previous.revision, chart: previous.chart, status: previous.status },
    ...(preflight.recovery.recovered
      ? {
          recovery: {
            previousStatus: preflight.recovery.previousStatus,
            action: preflight.recovery.action,
            ...(preflight.recovery.revision ? { revision: preflight.recovery.revision } : {}),
          },
        }
      : {}),
    target: { ...(opts.imageTag ? { imageTag: opts.imageTag } : {}) },
    revisions:
      preflight.recovery.recovered && preflight.recovery.revision
        ? [
            {
              revision: preflight.recovery.revision,
              action: 'recover',
              detail: `recovered ${preflight.recovery.previousStatus}`,
            },
          ]
        : [],
    failures: [],
    decisions: state.decisions,
    final: { revision: previous.revision, status: previous.status },
    ...(backup.taken ? { backup: backup.taken } : {}),
  };
  // Merged by helmUpgradeInstall over the values of the recorded revision.
  const targetValues = mergeValues(opts.values, opts.imageTag ? { image: { tag: opts.imageTag } } : {});

  for (;;) {
    const failure = await attemptUpgrade(opts, progress, report, targetValues);
    if (!failure) break;
    report.failures.push(failure);
    const action =
      opts.onFailure === 'rollback' ? 'rollback' : await awaitDecision(opts, state, failure, progress, takeDecision);
    if (action === 'retry') {
      state.phase = 'running';
      continue;
    }
    if (action === 'abort') {
      report.outcome = 'aborted';
      break;
    }
    await rollback(opts, report, state, previous.revision);
    break;
  }

  const final = await kubeActs.helmStatus(release);
  report.final = { revision: final?.revision ?? 0, status: final?.status ?? 'missing' };
  state.phase = report.outcome;
  await condition(allHandlersFinished);
  await progress.run(
    'report',
    async () => report,
    (r) =>
      `${r.outcome}; revisions made: ${r.revisions.map((x) => `${x.revision} (${x.action})`).join(', ') || 'none'}`,
  );
  return report;
}

/**
 * backupPlatform as a child workflow `<upgrade id>-backup` (a re-run upgrade reuses its backup: the backup
 * id is the child's workflow ID), on this task queue, terminated if the upgrade closes first. See the
 * schema's `backup` field for the default. A failed backup fails the upgrade before helm runs.
 */
async function preUpgradeBackup(opts: UpgradePlatformOptions): Promise<UpgradeBackupRecord> {
  if (opts.backup === false) return { skipped: 'disabled by the input (backup: false)' };
  const target = { namespace: opts.namespace, release: opts.release };
  let input: BackupPlatformInput;
  if (opts.backup) {
    input = { ...opts.backup, ...target };
  } else {
    const found = await kubeActs.defaultBackupRecipients({ namespace: opts.namespace });
    if (!found.recipients.length) {
      return {
        skipped: `no backup config in the input and no age recipients configured (${found.source}): give backup {recipients}, or backup: false`,
      };
    }
    input = { ...target, recipients: found.recipients };
  }
  const workflowId = `${workflowInfo().workflowId}-backup`;
  try {
    const result = await executeChild(backupPlatform, {
      workflowId,
      args: [input],
      parentClosePolicy: ParentClosePolicy.TERMINATE,
    });
    return {
      backupId: result.backupId,
      workflowId,
      counts: result.backup.counts,
      reused: result.backup.reused,
      createdAt: result.backup.createdAt,
    };
  } catch (err) {
    throw ApplicationFailure.create({
      type: UPGRADE_BACKUP_FAILED,
      nonRetryable: true,
      message: `pre-upgrade backup (child workflow ${workflowId}) failed, nothing was upgraded: ${failureCause(err).message}`,
    });
  }
}

function backupText(b: UpgradeBackupRecord): string {
  if ('skipped' in b) return `no backup: ${b.skipped}`;
  const counts = Object.entries(b.counts)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return `backup ${b.backupId}${b.reused ? ' (reused)' : ''}: ${counts} (restore: restorePlatform {"backupId":"${b.backupId}"})`;
}

/** One pass of upgrade -> rollout -> smoke test; returns the failure, or undefined on success. */
async function attemptUpgrade(
  opts: UpgradePlatformOptions,
  progress: ProgressTracker<StepName>,
  report: UpgradeReport,
  values: Record<string, unknown>,
): Promise<string | undefined> {
  const long = longActs(opts.timeouts.rolloutSeconds);
  const release = { release: opts.release, namespace: opts.namespace };
  // helm --wait (kstatus) runs for the whole rollout; the rollout step then confirms it with our own rule.
  const helmArgs = {
    ...helmChartArgs(opts.chart),
    ...release,
    values,
    baseValuesRevision: report.previous.revision,
    valuesFiles: opts.valuesFiles,
    wait: true,
    timeoutSeconds: opts.timeouts.rolloutSeconds,
  };
  try {
    const result = await progress.run(
      'upgrade',
      async () => {
        // CRD changes reach the cluster before the chart that needs them (Helm never upgrades crds/).
        const crds = await kubeActs.applyChartCrds(opts.chart);
        await long.waitCrdsEstablished({ names: crds.map((c) => c.name), timeoutSeconds: 60 });
        try {
          return await long.helmUpgradeInstall(helmArgs);
        } catch (err) {
          // A worker died while helm ran: the release is stuck pending. Recover it, then upgrade.
          if (failureCause(err).type !== HELM_RELEASE_LOCKED) throw err;
          const recovery = await recoverWhenSafe(opts, progress);
          if (recovery.revision)
            report.revisions.push({
              revision: recovery.revision,
              action: 'recover',
              detail: `recovered ${recovery.previousStatus}`,
            });
          return await long.helmUpgradeInstall(helmArgs);
        }
      },
      (r) => (r.changed ? `revision ${r.revision}` : `revision ${r.revision} already at the target (no new revision)`),
    );
    report.target.digest = result.digest;
    // Unchanged but past the recorded revision: an earlier attempt (e.g. before a worker crash) applied it.
    const ours = result.changed || result.revision !== report.previous.revision;
    if (ours && !report.revisions.some((r) => r.revision === result.revision)) {
      report.revisions.push({
        revision: result.revision,
        action: 'upgrade',
        detail: opts.imageTag ? `image tag ${opts.imageTag}` : 'chart/values',
      });
    }
    await progress.run(
      'rollout',
      () => long.waitReleaseRollout({ ...release, timeoutSeconds: opts.timeouts.rolloutSeconds }),
      (r) => r.map((d) => `${d.deployment} ${d.ready}/${d.replicas}`).join(', '),
    );
    if (opts.smokeTest.skip) {
      progress.skip('smoke test', 'skipped by input');
    } else {
      await progress.run(
        'smoke test',
        async () => {
          const check = await checkOrchestratorHealth({
            namespace: opts.namespace,
            serviceName: opts.release,
            release: opts.release,
            ...(opts.smokeTest.healthUrl ? { healthUrl: opts.smokeTest.healthUrl } : {}),
          });
          report.smokeTest = check;
          if (!check.ok) throw unhealthyFailure(`smoke test failed: ${check.detail}`, check);
          return check;
        },
        healthCheckText,
      );
    }
    return undefined;
  } catch (err) {
    if (failureCause(err).type === INVALID_INPUT) throw err;
    await recordFailedRevision(report, release);
    return failureText(err);
  }
}

/** A helm upgrade that failed (e.g. its --wait timed out) still made a revision: the report accounts for it. */
async function recordFailedRevision(
  report: UpgradeReport,
  release: { release: string; namespace: string },
): Promise<void> {
  const status = await kubeActs.helmStatus(release);
  const known =
    report.revisions.some((r) => r.revision === status?.revision) || status?.revision === report.previous.revision;
  if (status && !known)
    report.revisions.push({ revision: status.revision, action: 'upgrade', detail: `${status.status}` });
}

async function awaitDecision(
  opts: UpgradePlatformOptions,
  state: UpgradeState,
  failure: string,
  progress: ProgressTracker<StepName>,
  take: () => Decision | undefined,
): Promise<Decision['action']> {
  state.phase = 'paused';
  state.failure = failure;
  const deadline = new Date(Date.now() + opts.decisionTimeoutSeconds * 1000);
  state.decisionDeadline = deadline.toISOString();
  progress.pause(
    `paused: ${failure}. Send the update "decide" {action: retry|rollback|abort, by} before ${state.decisionDeadline} (then: rollback)`,
  );
  let decision: Decision | undefined;
  const decided = await condition(() => (decision = take()) !== undefined, opts.decisionTimeoutSeconds * 1000);
  delete state.decisionDeadline;
  progress.resume();
  if (!decided || !decision) {
    state.decisions.push({
      action: 'rollback',
      by: 'deadline',
      reason: `no decision within ${opts.decisionTimeoutSeconds} s`,
      at: new Date().toISOString(),
    });
    return 'rollback';
  }
  return decision.action;
}

async function rollback(
  opts: UpgradePlatformOptions,
  report: UpgradeReport,
  state: UpgradeState,
  toRevision: number,
): Promise<void> {
  state.phase = 'rolling-back';
  const long = longActs(opts.timeouts.rolloutSeconds);
  const release = { release: opts.release, namespace: opts.namespace };
  const result = await long.helmRollback({
    ...release,
    revision: toRevision,
    wait: false,
    timeoutSeconds: opts.timeouts.rolloutSeconds,
  });
  report.revisions.push({
    revision: result.revision,
    action: 'rollback',
    detail: `rolled back to revision ${toRevision}`,
  });
  await long.waitReleaseRollout({ ...release, timeoutSeconds: opts.timeouts.rolloutSeconds });
  report.outcome = 'rolled-back';
}

/** Update validator: synchronous (an async validator's throw is ignored). */
function validateDecision(decision: Decision, state: UpgradeState): void {
  const parsed = decisionSchema.safeParse(decision);
  if (!parsed.success) throw new Error(`invalid decision: ${formatIssues(parsed.error.issues).join('; ')}`);
  if (state.phase !== 'paused')
    throw new Error(`the upgrade is ${state.phase}, not paused: there is nothing to decide`);
}

/**
 * Unlocks a release left pending by a helm that died, but only once that helm cannot still be running:
 * a pending revision younger than helm's own --timeout (plus a margin) may belong to a live helm, and
 * rolling back under it would race it. The activity refuses such a release (HelmReleaseLocked with the
 * revision's age); the workflow waits out the rest of the timeout on a durable timer, then tries again.
 */
async function recoverWhenSafe(opts: UpgradePlatformOptions, progress: ProgressTracker<StepName>) {
  const minPendingAgeSeconds = opts.timeouts.rolloutSeconds + HELM_EXIT_MARGIN_SECONDS;
  const request = { release: opts.release, namespace: opts.namespace, minPendingAgeSeconds };
  for (let attempt = 1; ; attempt++) {
    try {
      return await longActs(opts.timeouts.rolloutSeconds).recoverStuckRelease(request);
    } catch (err) {
      const age = lockedAgeSeconds(err);
      if (age === undefined || attempt >= 3) throw err;
      const waitSeconds = Math.max(1, Math.ceil(minPendingAgeSeconds - age));
      progress.note(
        `release pending for ${Math.round(age)} s: waiting ${waitSeconds} s until its helm must have exited`,
      );
      await sleep(waitSeconds * 1000);
      progress.note(undefined);
    }
  }
}

/** Beyond helm's --timeout, the time a helm process may take to write its last revision and exit. */
const HELM_EXIT_MARGIN_SECONDS = 10;

/** The pending revision's age when recoverStuckRelease refused a release for being too young. */
function lockedAgeSeconds(err: unknown): number | undefined {
  const failure = innermostApplicationFailure(err);
  if (failure?.type !== HELM_RELEASE_LOCKED) return undefined;
  const age = (failure.details?.[0] as { ageSeconds?: unknown } | undefined)?.ageSeconds;
  return typeof age === 'number' ? age : undefined;
}
