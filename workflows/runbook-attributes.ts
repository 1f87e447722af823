// Keeps a runbook's search attributes (contract/runbook-search-attributes.ts) current. Each upsert
// is a history event, so only values that differ from the workflow's own are sent; the workflow's
// info is the state (no module variables: they are shared by the workflows of a worker's VM).
import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SearchAttributePair } from '@temporalio/common';
import {
  runbookKindKey,
  runbookPhaseKey,
  targetNamespaceKey,
  type RunbookPhase,
} from '../contract/runbook-search-attributes.ts';

export interface RunbookAttributes {
  kind?: string;
  phase?: RunbookPhase;
  targetNamespace?: string;
}

export function setRunbookAttributes(attributes: RunbookAttributes): void {
  const current = workflowInfo().typedSearchAttributes;
  const changed: SearchAttributePair[] = [];
  if (attributes.kind !== undefined && current.get(runbookKindKey) !== attributes.kind)
    changed.push({ key: runbookKindKey, value: attributes.kind });
  if (attributes.phase !== undefined && current.get(runbookPhaseKey) !== attributes.phase)
    changed.push({ key: runbookPhaseKey, value: attributes.phase });
  if (attributes.targetNamespace !== undefined && current.get(targetNamespaceKey) !== attributes.targetNamespace)
    changed.push({ key: targetNamespaceKey, value: attributes.targetNamespace });
  if (changed.length) upsertSearchAttributes(changed);
}

/** Only workflows that are runbooks (a ProgressTracker set RunbookKind) have a phase: the lease workflow and the controller do not. */
export function isRunbook(): boolean {
  return workflowInfo().typedSearchAttributes.get(runbookKindKey) !== undefined;
}

export function currentPhase(): RunbookPhase | undefined {
  return workflowInfo().typedSearchAttributes.get(runbookPhaseKey) as RunbookPhase | undefined;
}

/** The phase, for a runbook only (no-op in other workflows). */
export function setRunbookPhase(phase: RunbookPhase): void {
  if (isRunbook()) setRunbookAttributes({ phase });
}
