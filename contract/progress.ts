// The `progress` query every runbook answers: its steps and the current note (shown by the CLI
// and, as current details, by the Web UI).
import { defineQuery } from '@temporalio/workflow';
import type { RunbookPhase } from './runbook-search-attributes.ts';

export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

export interface Step {
  name: string;
  status: StepStatus;
  /** ISO timestamps (workflow time, deterministic). */
  startedAt?: string;
  finishedAt?: string;
  detail?: string;
}

export interface Progress {
  runbook: string;
  workflowId: string;
  steps: Step[];
  /** The runbook's current note, e.g. an upgrade paused for its `decide` update (what the UI shows under the steps). */
  note?: string;
  /** The runbook's phase (its RunbookPhase search attribute): running, waiting-for-lease, paused-for-decision... */
  phase?: RunbookPhase;
}

export const progressQuery = defineQuery<Progress>('progress');
