// Signal/query/update definitions and JSON types shared by workflows and client/.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Decision, UpgradeState } from './types/upgrade.ts';

export { progressQuery, type Progress, type Step, type StepStatus } from './progress.ts';
export type { PlatformHealthInput, PlatformHealthReport } from './types/platform-health.ts';
export type { DeployPlatformInput, DeployReport } from './types/deploy.ts';
export type { UpgradePlatformInput, UpgradeReport, UpgradeState, Decision } from './types/upgrade.ts';

/** An operator's decision on a paused upgrade: retry, rollback or abort. */
export const decideUpdate = defineUpdate<{ accepted: true; action: Decision['action'] }, [Decision]>('decide');
/** Where an upgrade is: running, paused (waiting for `decide`), rolled back... */
export const upgradeStateQuery = defineQuery<UpgradeState>('upgradeState');
