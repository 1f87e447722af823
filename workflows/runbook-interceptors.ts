// The final phase of every runbook (RunbookPhase succeeded, failed, cancelled, rolled-back...) and
// its run metric, set as the workflow function returns or throws: one place for all runbooks.
// Registered as a workflow interceptor module (worker/worker.ts RUNBOOK_WORKFLOW_INTERCEPTORS).
import {
  ContinueAsNew,
  isCancellation,
  proxySinks,
  workflowInfo,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
  type Next,
} from '@temporalio/workflow';
import type { RunbookMetricsSinks } from '../contract/runbook-metrics.ts';
import { finalPhaseOf, runbookKindKey, type RunbookPhase } from '../contract/runbook-search-attributes.ts';
import { setRunbookAttributes } from './runbook-attributes.ts';

const { runbookMetrics } = proxySinks<RunbookMetricsSinks>();

function finish(phase: RunbookPhase): void {
  const info = workflowInfo();
  const kind = info.typedSearchAttributes.get(runbookKindKey);
  if (kind === undefined) return; // not a runbook (the lease, the controller)
  setRunbookAttributes({ phase });
  runbookMetrics.runFinished(kind, phase, (Date.now() - info.runStartTime.getTime()) / 1000);
}

class RunbookOutcome implements WorkflowInboundCallsInterceptor {
  async execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    try {
      const result = await next(input);
      finish(finalPhaseOf(result));
      return result;
    } catch (err) {
      if (!(err instanceof ContinueAsNew)) finish(isCancellation(err) ? 'cancelled' : 'failed');
      throw err;
    }
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ inbound: [new RunbookOutcome()] });
