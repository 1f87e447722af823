// The search attributes every runbook keeps current (set by workflows/progress.ts and the lease
// wait), so that the Web UI and `runbook ps` can filter on them: "every paused runbook" is one query
// (RunbookPhase = 'paused-for-decision'). Registered by the local stack, by the worker at start, and
// in production with the command RUNBOOK_SEARCH_ATTRIBUTE_COMMANDS prints.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const RUNBOOK_SEARCH_ATTRIBUTES = {
  /** The runbook (workflow type), e.g. upgradePlatform. */
  RunbookKind: 'Keyword',
  /** Where the runbook is: one of RUNBOOK_PHASES. */
  RunbookPhase: 'Keyword',
  /** The Kubernetes namespace it acts on (unset for cluster-scoped runbooks such as drainNode). */
  TargetNamespace: 'Keyword',
} as const;

const PAUSED = ['paused-for-decision', 'paused-for-approval'] as const;
const FINAL = ['succeeded', 'rolled-back', 'aborted', 'mismatch', 'failed', 'cancelled'] as const;
/**
 * running: acting; waiting-for-lease: in line for the maintenance lease; paused-for-decision /
 * paused-for-approval: waiting for an operator's update (decide; approve); then one final phase:
 * succeeded, rolled-back / aborted (an upgrade that ended without its target), mismatch (a verified
 * backup that differs), failed, cancelled. A terminated or timed-out run keeps its last phase: its
 * execution status tells (`runbook ps` shows it).
 */
export const RUNBOOK_PHASES = ['running', 'waiting-for-lease', ...PAUSED, ...FINAL] as const;
export type RunbookPhase = (typeof RUNBOOK_PHASES)[number];

export const PAUSED_PHASES: readonly RunbookPhase[] = PAUSED;
export const FINAL_PHASES: readonly RunbookPhase[] = FINAL;

export const runbookKindKey = defineSearchAttributeKey('RunbookKind', SearchAttributeType.KEYWORD);
export const runbookPhaseKey = defineSearchAttributeKey('RunbookPhase', SearchAttributeType.KEYWORD);
export const targetNamespaceKey = defineSearchAttributeKey('TargetNamespace', SearchAttributeType.KEYWORD);

/** The final phase of a runbook that returned: its report's `outcome` when that says it did not reach its target. */
export function finalPhaseOf(result: unknown): RunbookPhase {
  const outcome = (result as { outcome?: unknown } | null | undefined)?.outcome;
  return outcome === 'rolled-back' || outcome === 'aborted' || outcome === 'mismatch' ? outcome : 'succeeded';
}

/** The operator's commands that register them in a Temporal namespace (the worker prints them when it cannot). */
export function searchAttributeCommands(
  namespace: string,
  attributes: Record<string, string> = RUNBOOK_SEARCH_ATTRIBUTES,
): string[] {
  return Object.entries(attributes).map(
    ([name, type]) =>
      `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${type}`,
  );
}
