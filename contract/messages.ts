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

export type {
  TaskRunControllerInput,
  TrackedTaskRun,
  ControllerSummary,
  CleanupTaskRunsInput,
  CleanupReport,
} from './types/taskrun.ts';
/**
 * One TaskRun as the reconciler follows it: an unfinished one, or one of the newest finished ones
 * (finishedHistory, default 500; phase Succeeded/Failed, `finishedAt` set, Job details dropped).
 * null: not tracked: no such TaskRun, deleted, finished longer ago than that (or before this
 * controller followed it); its own status then holds the outcome (`kubectl get taskrun NAME`).
 */
export const taskRunQuery = defineQuery<TrackedTaskRun | null, [string]>('taskRun');
/** The reconciler's counts: tracked (unfinished) TaskRuns by phase, active Jobs, finished since its first run, rounds, runs (continue-as-new). */
export const taskRunControllerQuery = defineQuery<ControllerSummary>('taskRunController');
