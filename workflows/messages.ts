// Signal/query/update definitions and JSON types shared by workflows and client/.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Decision, UpgradeState } from './types/upgrade.ts';
import type { ControllerSummary, TrackedTaskRun } from './types/taskrun.ts';

export { progressQuery, type Progress, type Step, type StepStatus } from './progress.ts';
export type { PlatformHealthInput, PlatformHealthReport } from './types/platform-health.ts';
export type { DeployPlatformInput, DeployReport } from './types/deploy.ts';
export type { UpgradePlatformInput, UpgradeReport, UpgradeState, Decision } from './types/upgrade.ts';
export type { BackupPlatformInput, BackupReport, RestorePlatformInput, RestoreReport } from './types/backup.ts';

/** An operator's decision on a paused upgrade: retry, rollback or abort. */
export const decideUpdate = defineUpdate<{ accepted: true; action: Decision['action'] }, [Decision]>('decide');
/** Where an upgrade is: running, paused (waiting for `decide`), rolled back... */
export const upgradeStateQuery = defineQuery<UpgradeState>('upgradeState');

export type { TaskRunControllerInput, TrackedTaskRun, ControllerSummary, CleanupTaskRunsInput, CleanupReport } from './types/taskrun.ts';
/** One TaskRun as the reconciler follows it (null when it is not, or no longer, tracked). */
export const taskRunQuery = defineQuery<TrackedTaskRun | null, [string]>('taskRun');
/** The reconciler's counts: tracked TaskRuns by phase, active Jobs, rounds, runs (continue-as-new). */
export const taskRunControllerQuery = defineQuery<ControllerSummary>('taskRunController');
