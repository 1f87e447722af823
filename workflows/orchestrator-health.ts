// The orchestrator's /health as a step of a runbook that changed the platform (deployPlatform's health
// check, upgradePlatform's smoke test): probed by the probeOrchestrator activity and judged by THE health
// rule (judgeHealthProbe). An unhealthy platform fails the step for good: retrying cannot heal it.
import { ApplicationFailure } from '@temporalio/workflow';
import { SMOKE_TEST_FAILED } from '../contract/failures.ts';
import type { HealthCheckReport } from '../contract/types/platform-health.ts';
import { kubeActs } from './activity-proxies.ts';
import { judgeHealthProbe } from './health-summary.ts';

export interface OrchestratorHealthTarget {
  namespace: string;
  serviceName: string;
  /** The Helm release, whose one Service is probed when there is none named serviceName. */
  release?: string;
  /** Probe this URL instead of the Service. */
  healthUrl?: string;
}

/** Probes the orchestrator's /health and judges the answer. */
export async function checkOrchestratorHealth(target: OrchestratorHealthTarget): Promise<HealthCheckReport> {
  const probe = await kubeActs.probeOrchestrator({
    namespace: target.namespace,
    serviceName: target.serviceName,
    ...(target.release ? { release: target.release } : {}),
    healthPath: '/health',
    ...(target.healthUrl ? { healthUrl: target.healthUrl } : {}),
  });
  return judgeHealthProbe(probe);
}

/** The step's failure for a failed check: SMOKE_TEST_FAILED, non-retryable, the check as its details. */
export function unhealthyFailure(message: string, check: HealthCheckReport): ApplicationFailure {
  return ApplicationFailure.create({ type: SMOKE_TEST_FAILED, message, nonRetryable: true, details: [check] });
}

/** The health step's progress detail. */
export const healthCheckText = (check: HealthCheckReport) => `${check.probe ?? 'probe'}: ${check.detail}`;
