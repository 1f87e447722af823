// rollingNodeMaintenance's query and updates, shared with the client.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { NodeDecision, NodeDone, NodeStep, RollingMaintenanceState } from './types/rolling-maintenance.ts';

/** Every node's state (phase, step, attempts, cordon), the window wait and the pause, and the decisions so far. */
export const rollingMaintenanceStateQuery = defineQuery<RollingMaintenanceState>('rollingMaintenanceState');
/** The operator upgraded a node: {node, by, note?}. Accepted while the node waits for its upgrade (or failed waiting for it). */
export const nodeDoneUpdate = defineUpdate<{ accepted: true; node: string }, [NodeDone]>('nodeDone');
/** On a failed node: {action: retry | skip | abort, by, reason?, node?} (the same update name as upgradePlatform's decide). */
export const nodeDecideUpdate = defineUpdate<
  { accepted: true; action: NodeDecision['action']; node: string; resumeAt?: NodeStep },
  [NodeDecision]
>('decide');
