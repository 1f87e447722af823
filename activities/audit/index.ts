// securityAudit's activities: three read-only sections (RBAC, workloads and images, Secret events).
// Each returns its findings unranked; the workflow ranks them and builds the report.
import type {
  RbacAuditResult,
  SecretEventsAuditResult,
  WorkloadAuditResult,
} from '../../contract/types/security-audit.ts';
import type { ActivityDeps } from '../deps.ts';
import type { HelmDeps } from '../helm/deps.ts';
import { auditRbac, type RbacAuditRequest } from './rbac.ts';
import { auditWorkloads } from './workloads.ts';
import { auditSecretEvents } from './events.ts';

export function auditActivities(deps: ActivityDeps, helm: HelmDeps) {
  const { kube } = deps;
  return {
    auditServiceAccountRbac: (req: RbacAuditRequest): Promise<RbacAuditResult> => auditRbac(kube, helm, req),
    auditWorkloads: (req: { namespaces: string[] }): Promise<WorkloadAuditResult> => auditWorkloads(kube, req),
    auditSecretEvents: (req: { namespaces: string[]; windowMinutes: number }): Promise<SecretEventsAuditResult> =>
      auditSecretEvents(kube, req),
  };
}
