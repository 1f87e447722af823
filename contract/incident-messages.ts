// incidentResponse's updates and query, shared with the client, and the TaskRun controller's
// suspension signals (containment suspends the controller; recovery resumes it).
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Approval, IncidentDecision, IncidentState, RecoverRequest } from './types/incident.ts';

/** Approve containment ({phase: "containment", by, reason}); refused unless the incident waits for it. */
export const approveUpdate = defineUpdate<{ accepted: true; phase: 'containment' }, [Approval]>('approve');
/** Start recovery ({by, reason, options: {credentials, restoreBackupId}}); refused unless contained. */
export const recoverUpdate = defineUpdate<{ accepted: true }, [RecoverRequest]>('recover');
/** A failed recovery step: retry it, skip it, or abort (what is still contained stays so). */
export const incidentDecideUpdate = defineUpdate<
  { accepted: true; action: IncidentDecision['action'] },
  [IncidentDecision]
>('decide');
export const incidentStateQuery = defineQuery<IncidentState>('incidentState');

/** To the TaskRun controller: create no new Jobs (suspend: true) or resume; it answers with controllerSuspensionAck to `replyTo`. */
export interface ControllerSuspension {
  suspend: boolean;
  by: string;
  reason: string;
  /** The workflow to acknowledge to (its workflow id; the ack carries `request`). */
  replyTo?: string;
  request: string;
}
export const controllerSuspensionSignal = defineSignal<[ControllerSuspension]>('controllerSuspension');
/** From the controller: the suspension took effect (no Job creation in flight when suspended). */
export const controllerSuspensionAck =
  defineSignal<[{ request: string; suspended: boolean; active: number }]>('controllerSuspensionAck');
