// Activity proxies with timeouts and retries as data, shared by the runbooks.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { HELM_NON_RETRYABLE_TYPES, HELM_RELEASE_LOCKED, NON_RETRYABLE_TYPES } from './failures.ts';

// A locked release is not retried blindly: the runbook recovers it first (see upgradePlatform).
const nonRetryableErrorTypes = [...new Set([...NON_RETRYABLE_TYPES, ...HELM_NON_RETRYABLE_TYPES, HELM_RELEASE_LOCKED])];
const retry = { initialInterval: '1 second', maximumInterval: '15 seconds', maximumAttempts: 5, nonRetryableErrorTypes };

/** Quick reads and writes of the Kubernetes API. */
export const kubeActs = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry });

/**
 * Long waits (rollouts, CRDs, helm --wait): bounded by their own timeout argument; they heartbeat,
 * so a dead worker is noticed within the heartbeat timeout and the wait resumes on another.
 */
export function longActs(timeoutSeconds: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: `${timeoutSeconds + 120} seconds`,
    heartbeatTimeout: '30 seconds',
    retry: { ...retry, maximumAttempts: 3 },
  });
}
