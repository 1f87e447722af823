// The runbook metrics that workflow code reports through a sink (workflows cannot touch prom-client):
// the worker implements them with prom-client (worker/runbook-metrics.ts). Sink calls are not made
// while a workflow replays, so each event is counted once.
import type { Sinks } from '@temporalio/workflow';
import type { RunbookPhase } from './runbook-search-attributes.ts';

export interface RunbookMetricsSinks extends Sinks {
  runbookMetrics: {
    runStarted(runbook: string): void;
    /** `outcome` is the final phase (succeeded, failed, cancelled, rolled-back...). */
    runFinished(runbook: string, outcome: RunbookPhase, seconds: number): void;
    stepFinished(runbook: string, step: string, status: 'succeeded' | 'failed', seconds: number): void;
    leaseWaited(runbook: string, seconds: number): void;
  };
}
