// The Helm activities: helmActivities(deps) returns async functions of ONE JSON object each (workflows
// import the types only). Register them with the worker beside createActivities(...).
import type { HelmDeps } from './deps.ts';
import { helmGetValues, helmHistory, helmStatus, type HelmReleaseRef } from './release.ts';
import {
  helmRollback,
  helmUninstall,
  recoverStuckRelease,
  type HelmRollbackRequest,
  type HelmUninstallRequest,
  type RecoverStuckReleaseRequest,
} from './rollback.ts';
import { helmUpgradeInstall, type HelmUpgradeRequest } from './upgrade.ts';

export type { HelmDeps } from './deps.ts';
export type { HelmReleaseRef, HelmReleaseStatus, HelmReleaseStatusInfo, HelmRevision } from './release.ts';
export type { HelmUpgradeRequest, HelmUpgradeResult } from './upgrade.ts';
export type {
  HelmRollbackRequest,
  HelmRollbackResult,
  HelmUninstallRequest,
  RecoverStuckReleaseRequest,
  RecoverStuckReleaseResult,
} from './rollback.ts';
export type { ChartSource } from './digest.ts';
export { DIGEST_LABEL, DIGEST_REVISION_LABEL } from './digest.ts';

export function helmActivities(deps: HelmDeps) {
  return {
    /** The release's latest revision, or null when it does not exist. */
    helmStatus: (req: HelmReleaseRef) => helmStatus(deps, req),
    /** Every stored revision, oldest first; [] when the release does not exist. */
    helmHistory: (req: HelmReleaseRef) => helmHistory(deps, req),
    /** User-supplied values of the latest (or given) revision. */
    helmGetValues: (req: HelmReleaseRef & { revision?: number }) => helmGetValues(deps, req),
    /** helm upgrade --install; skipped (changed: false) when the deployed release has the same chart+values digest. */
    helmUpgradeInstall: (req: HelmUpgradeRequest) => helmUpgradeInstall(deps, req),
    /** helm rollback to a revision; skipped when the release already runs it. */
    helmRollback: (req: HelmRollbackRequest) => helmRollback(deps, req),
    /** helm uninstall; uninstalled: false when there was no release. */
    helmUninstall: (req: HelmUninstallRequest) => helmUninstall(deps, req),
    /** Unlocks a release stuck in pending-install/-upgrade/-rollback (rollback to the last good revision, or uninstall). */
    recoverStuckRelease: (req: RecoverStuckReleaseRequest) => recoverStuckRelease(deps, req),
  };
}

export type HelmActivities = ReturnType<typeof helmActivities>;
