// Waits that heartbeat and honour cancellation: CRD Established, Deployment rollout complete.
import type { V1Deployment } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { ROLLOUT_FAILED, WAIT_TIMEOUT } from '../../contract/failures.ts';
import type { KubeClients } from './client.ts';
import { kubeCall } from '../errors.ts';
import { pollUntil } from '../activity-context.ts';

const timeoutFailure = (what: string, last: unknown) =>
  ApplicationFailure.create({
    type: WAIT_TIMEOUT,
    message: `timed out waiting for ${what}: ${JSON.stringify(last)}`,
    nonRetryable: true,
    details: [last],
  });

export async function waitCrdEstablished(kube: KubeClients, name: string, timeoutMs: number): Promise<void> {
  await pollUntil({
    what: `CRD ${name} Established`,
    timeoutMs,
    intervalMs: 500,
    check: async () => {
      const crd = await kubeCall(`read CRD ${name}`, () => kube.apiextensions.readCustomResourceDefinition({ name }));
      const established = crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      return established ? { done: undefined } : { progress: { established: false } };
    },
    onTimeout: (last) => timeoutFailure(`CRD ${name} to be Established`, last),
  });
}

export interface RolloutState {
  generation: number;
  observedGeneration: number;
  replicas: number;
  updated: number;
  ready: number;
  available: number;
  /** Pods of older ReplicaSets still present. */
  old: number;
}

export function rolloutState(d: V1Deployment): RolloutState {
  const s = d.status ?? {};
  const desired = d.spec?.replicas ?? 1;
  return {
    generation: d.metadata?.generation ?? 0,
    observedGeneration: s.observedGeneration ?? 0,
    replicas: desired,
    updated: s.updatedReplicas ?? 0,
    ready: s.readyReplicas ?? 0,
    available: s.availableReplicas ?? 0,
    old: Math.max(0, (s.replicas ?? 0) - (s.updatedReplicas ?? 0)),
  };
}

/** kubectl rollout status's rule: the controller saw the spec, every replica is updated and available, no old pods. */
export function rolloutComplete(r: RolloutState): boolean {
  return (
    r.observedGeneration >= r.generation &&
    r.updated === r.replicas &&
    r.available === r.replicas &&
    r.ready === r.replicas &&
    r.old === 0
  );
}

export async function waitDeploymentRollout(
  kube: KubeClients,
  namespace: string,
  name: string,
  timeoutMs: number,
): Promise<RolloutState> {
  return pollUntil<RolloutState>({
    what: `rollout of ${namespace}/${name}`,
    timeoutMs,
    check: async () => {
      const d = await kubeCall(`read Deployment ${namespace}/${name}`, () =>
        kube.apps.readNamespacedDeployment({ namespace, name }),
      );
      const state = rolloutState(d);
      if (rolloutComplete(state)) return { done: state };
      const stalled = d.status?.conditions?.find(
        (c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded',
      );
      if (stalled && state.observedGeneration >= state.generation) {
        throw ApplicationFailure.create({
          type: ROLLOUT_FAILED,
          message: `rollout of ${namespace}/${name} failed: ${stalled.message ?? 'ProgressDeadlineExceeded'}`,
          nonRetryable: true,
          details: [state],
        });
      }
      return { progress: state };
    },
    onTimeout: (last) => timeoutFailure(`rollout of ${namespace}/${name}`, last),
  });
}
