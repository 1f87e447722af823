// Every runbook's activity timeouts and retry policies, in one table (the TaskRun controller's
// watch and apply proxies build on `retry` in taskrun-controller/pipeline.ts).
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { HELM_NON_RETRYABLE_TYPES, HELM_RELEASE_LOCKED, NON_RETRYABLE_TYPES } from '../contract/failures.ts';

// A locked release is not retried blindly: the runbook recovers it first (see upgradePlatform).
const nonRetryableErrorTypes = [...new Set([...NON_RETRYABLE_TYPES, ...HELM_NON_RETRYABLE_TYPES, HELM_RELEASE_LOCKED])];

/**
 * What a runbook rides out: transient failures (the API server down or restarting, 5xx, 429,
 * conflicts) are retried, by time rather than by count, for this long. Measured: a count of 5
 * attempts gave up 15 s into a 30 s API server outage (test/reliability/kube-outage.reliability.ts).
 * Failures a retry cannot fix are non-retryable by type and end at once.
 */
const TRANSIENT_TOLERANCE_SECONDS = 600;
export const retry = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '15 seconds',
  nonRetryableErrorTypes,
};

/** Quick reads and writes of the Kubernetes API. */
export const kubeActs = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: `${TRANSIENT_TOLERANCE_SECONDS} seconds`,
  retry,
});

/**
 * Long waits (rollouts, CRDs, helm --wait): bounded by their own timeout argument; they heartbeat,
 * so a dead worker is noticed within the heartbeat timeout and the wait resumes on another.
 */
export function longActs(timeoutSeconds: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: `${timeoutSeconds + 120} seconds`,
    scheduleToCloseTimeout: `${timeoutSeconds + 120 + TRANSIENT_TOLERANCE_SECONDS} seconds`,
    heartbeatTimeout: '30 seconds',
    retry,
  });
}

/**
 * platformHealth's reads: a report, so an outage is reported after a few attempts rather than
 * ridden out for ten minutes.
 */
export const quickReadActs = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { ...retry, maximumInterval: '10 seconds', maximumAttempts: 5 },
});

/** Listing (and deleting) 25,000 TaskRuns takes minutes: heartbeats tell a live activity from a dead worker. */
export const sweepActs = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { ...retry, maximumInterval: '30 seconds', maximumAttempts: 5 },
});
