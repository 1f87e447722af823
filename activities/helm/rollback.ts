// helm rollback and uninstall, and the recovery of a release stuck in a pending-* status.
//
// What helm 4.3.1 does here (measured on the local cluster):
// - A release whose helm process died (SIGKILL, worker crash) stays pending-install/-upgrade/-rollback, and
//   every later install/upgrade/rollback... of it fails with "another operation (install/upgrade/rollback) is
//   in progress". SIGTERM is different for install/upgrade: helm marks the release failed ("context canceled").
//   rollback and uninstall do not catch SIGTERM: a cancelled rollback leaves pending-rollback.
// - `helm rollback` works on a pending-upgrade or pending-rollback release as it is: no need to patch the
//   release Secret's status first. The new revision is deployed; the interrupted revision stays in history
//   with its pending status (helm never rewrites it), which is harmless: only the latest revision locks.
// - A pending-install release with nothing to roll back to is removed with `helm uninstall`.
// - Recovery is only safe once the interrupted helm process is really gone: a helm that still runs finishes
//   its own operation after our rollback and marks ITS revision deployed (observed). minPendingAgeSeconds
//   guards against that.
import type { HelmDeps } from './deps.ts';
import { invalidHelmRequest, releaseLocked } from './errors.ts';
import {
  checkRef,
  describeRef,
  helmHistory,
  PENDING_STATUSES,
  readMetadata,
  type HelmReleaseRef,
  type HelmReleaseStatus,
  type HelmRevision,
} from './release.ts';
import { runHelm } from './run.ts';

export interface HelmRollbackRequest extends HelmReleaseRef {
  /** The revision to return to. */
  revision: number;
  /** Wait until the resources are ready (`--wait=watcher`). */
  wait: boolean;
  timeoutSeconds: number;
}

export interface HelmRollbackResult {
  /** False when the release already runs that revision (latest is deployed and is it, or a rollback to it). */
  changed: boolean;
  /** The release's revision after the call (a rollback makes a new revision). */
  revision: number;
  status: HelmReleaseStatus;
}

export interface HelmUninstallRequest extends HelmReleaseRef {
  /** Wait until the release's resources are deleted. */
  wait: boolean;
  timeoutSeconds: number;
}

export interface RecoverStuckReleaseRequest extends HelmReleaseRef {
  /**
   * Act only on a pending revision at least this old (its "updated" time), so that a helm that may still run
   * (e.g. an activity whose heartbeat timed out while its process lives on) is not raced: give helm's
   * --timeout of the interrupted operation plus a margin. Required: there is no safe default.
   */
  minPendingAgeSeconds: number;
  /** Wait for the rollback's resources to be ready (default false). An uninstall always waits for the deletion. */
  wait?: boolean;
  /** helm --timeout of the recovery (default 300). */
  timeoutSeconds?: number;
}

export interface RecoverStuckReleaseResult {
  /** True when the release was unlocked (rolled back or uninstalled). */
  recovered: boolean;
  /** Status of the latest revision before recovery; null when the release does not exist. */
  previousStatus: HelmReleaseStatus | null;
  action: 'none' | 'rollback' | 'uninstall';
  /** After a rollback: the new revision. */
  revision?: number;
  /** After a rollback: the revision returned to. */
  rolledBackTo?: number;
  /** One line for the runbook's report. */
  detail: string;
}

const positiveInt = (n: unknown): n is number => Number.isInteger(n) && (n as number) > 0;

function checkWait(req: { timeoutSeconds?: unknown }, what: string): void {
  if (!positiveInt(req.timeoutSeconds))
    throw invalidHelmRequest(`${what}: timeoutSeconds must be a positive whole number`);
}

/** Runs `helm rollback` (no checks of the current state) and returns the release's latest revision. */
async function runRollback(
  deps: HelmDeps,
  ref: HelmReleaseRef,
  revision: number,
  wait: boolean,
  timeoutSeconds: number,
): Promise<{ revision: number; status: HelmReleaseStatus }> {
  await runHelm(
    deps,
    [
      'rollback',
      ref.release,
      String(revision),
      '-n',
      ref.namespace,
      '--timeout',
      `${timeoutSeconds}s`,
      ...(wait ? ['--wait=watcher'] : []),
    ],
    {
      what: `helm rollback ${describeRef(ref)} to revision ${revision}`,
      timeoutMs: timeoutSeconds * 1000 + 60_000,
    },
  );
  const after = await readMetadata(deps, ref);
  if (!after) throw invalidHelmRequest(`release ${describeRef(ref)} disappeared during its rollback`);
  return { revision: after.revision, status: after.status };
}

/** Rolls back to `revision`; does nothing when the release already runs it. */
export async function helmRollback(deps: HelmDeps, req: HelmRollbackRequest): Promise<HelmRollbackResult> {
  checkRef(req);
  if (!positiveInt(req.revision))
    throw invalidHelmRequest(`helmRollback ${describeRef(req)}: revision must be a revision number`);
  checkWait(req, `helmRollback ${describeRef(req)}`);
  const history = await helmHistory(deps, req);
  const latest = history.at(-1);
  if (!latest) throw invalidHelmRequest(`helmRollback ${describeRef(req)}: release not found`);
  if (PENDING_STATUSES.includes(latest.status)) {
    throw releaseLocked(
      `release ${describeRef(req)} is ${latest.status} (revision ${latest.revision}): recoverStuckRelease unlocks it`,
      { status: latest.status, revision: latest.revision },
    );
  }
  if (latest.status === 'deployed' && (latest.revision === req.revision || latest.rollbackRevision === req.revision)) {
    return { changed: false, revision: latest.revision, status: latest.status };
  }
  if (!history.some((h) => h.revision === req.revision)) {
    throw invalidHelmRequest(
      `helmRollback ${describeRef(req)}: revision ${req.revision} is not in the release's history (${history.map((h) => h.revision).join(', ')})`,
    );
  }
  const after = await runRollback(deps, req, req.revision, req.wait, req.timeoutSeconds);
  deps.logger.info({ release: describeRef(req), to: req.revision, revision: after.revision }, 'helm rollback done');
  return { changed: true, ...after };
}

/** Uninstalls the release; `uninstalled: false` when there was none. */
export async function helmUninstall(deps: HelmDeps, req: HelmUninstallRequest): Promise<{ uninstalled: boolean }> {
  checkRef(req);
  checkWait(req, `helmUninstall ${describeRef(req)}`);
  if (!(await readMetadata(deps, req))) return { uninstalled: false };
  await runHelm(
    deps,
    [
      'uninstall',
      req.release,
      '-n',
      req.namespace,
      '--ignore-not-found',
      '--timeout',
      `${req.timeoutSeconds}s`,
      ...(req.wait ? ['--wait=watcher'] : []),
    ],
    {
      what: `helm uninstall ${describeRef(req)}`,
      timeoutMs: req.timeoutSeconds * 1000 + 60_000,
    },
  );
  return { uninstalled: true };
}

/** A revision that was once deployed successfully: deployed or superseded, and not a failure that was superseded. */
function wasGood(h: HelmRevision): boolean {
  return (h.status === 'deployed' || h.status === 'superseded') && !/\bfailed\b/i.test(h.description);
}

/** What recovery would do with this history (pure; exported for tests). */
export function planRecovery(history: HelmRevision[]): {
  action: 'none' | 'rollback' | 'uninstall';
  to?: HelmRevision;
  reason: string;
} {
  const latest = history.at(-1);
  if (!latest) return { action: 'none', reason: 'release not found' };
  if (latest.status === 'uninstalling')
    return {
      action: 'uninstall',
      reason: `revision ${latest.revision} was being uninstalled: finishing the uninstall`,
    };
  if (!PENDING_STATUSES.includes(latest.status))
    return { action: 'none', reason: `revision ${latest.revision} is ${latest.status}: not stuck` };
  const earlier = history.filter((h) => h.revision < latest.revision && !PENDING_STATUSES.includes(h.status));
  const good = earlier.filter(wasGood).at(-1);
  if (good)
    return {
      action: 'rollback',
      to: good,
      reason: `revision ${latest.revision} is ${latest.status}: rolling back to revision ${good.revision}, the last good one`,
    };
  if (latest.status === 'pending-install' || earlier.length === 0) {
    return {
      action: 'uninstall',
      reason: `revision ${latest.revision} is ${latest.status} and no revision was ever deployed: uninstalling`,
    };
  }
  const previous = earlier.at(-1)!;
  return {
    action: 'rollback',
    to: previous,
    reason: `revision ${latest.revision} is ${latest.status} and no revision was ever deployed successfully: rolling back to revision ${previous.revision} (${previous.status}), the state before the interrupted operation`,
  };
}

/**
 * Unlocks a release whose latest revision is pending-install/-upgrade/-rollback (or uninstalling): rolls back
 * to the last good revision, or uninstalls a release that never got deployed. Does nothing otherwise.
 */
export async function recoverStuckRelease(
  deps: HelmDeps,
  req: RecoverStuckReleaseRequest,
): Promise<RecoverStuckReleaseResult> {
  checkRef(req);
  const timeoutSeconds = req.timeoutSeconds ?? 300;
  checkWait({ timeoutSeconds }, `recoverStuckRelease ${describeRef(req)}`);
  const minAge = req.minPendingAgeSeconds;
  if (!Number.isFinite(minAge) || minAge < 0)
    throw invalidHelmRequest(
      `recoverStuckRelease ${describeRef(req)}: minPendingAgeSeconds: helm's timeout of the interrupted operation (seconds) is required`,
    );
  const history = await helmHistory(deps, req);
  const latest = history.at(-1);
  const plan = planRecovery(history);
  const previousStatus = latest?.status ?? null;
  if (plan.action === 'none' || !latest)
    return { recovered: false, previousStatus, action: 'none', detail: plan.reason };

  const ageSeconds = (Date.now() - Date.parse(latest.updated)) / 1000;
  if (minAge > 0 && !(ageSeconds >= minAge)) {
    throw releaseLocked(
      `release ${describeRef(req)} is ${latest.status} since ${latest.updated} (${Math.round(ageSeconds)} s): younger than minPendingAgeSeconds ${minAge}, its helm may still run`,
      { status: latest.status, revision: latest.revision, ageSeconds },
    );
  }
  const log = deps.logger.child({ release: describeRef(req) });
  log.warn(
    { previousStatus, revision: latest.revision, action: plan.action },
    `recovering stuck release: ${plan.reason}`,
  );
  if (plan.action === 'uninstall') {
    // Always waits: a reinstall must not meet the old objects half-deleted.
    await helmUninstall(deps, { release: req.release, namespace: req.namespace, wait: true, timeoutSeconds });
    return { recovered: true, previousStatus, action: 'uninstall', detail: plan.reason };
  }
  const to = plan.to!.revision;
  const after = await runRollback(deps, req, to, req.wait ?? false, timeoutSeconds);
  return {
    recovered: true,
    previousStatus,
    action: 'rollback',
    revision: after.revision,
    rolledBackTo: to,
    detail: plan.reason,
  };
}
