// The typed map of the runbooks: every workflow the worker registers, its input schema and a
// one-line summary. The CLI lists and validates from it; test/unit/runbooks.test.ts checks, at
// compile time and at run time, that workflows/index.ts exports exactly these, each accepting its
// schema's input. A new runbook is added here and in workflows/index.ts.
import type { z } from 'zod';
import { backupAndVerifyInputSchema } from './types/backup-verify.ts';
import { backupPlatformInputSchema, restorePlatformInputSchema } from './types/backup.ts';
import { deployPlatformInputSchema } from './types/deploy.ts';
import { drainNodeInputSchema } from './types/drain.ts';
import { incidentInputSchema } from './types/incident.ts';
import { rollingNodeMaintenanceInputSchema } from './types/rolling-maintenance.ts';
import type { MaintenanceLeaseInput } from './types/lease.ts';
import { platformHealthInputSchema } from './types/platform-health.ts';
import { rotateSecretInputSchema } from './types/rotate-secret.ts';
import { securityAuditInputSchema } from './types/security-audit.ts';
import { cleanupTaskRunsInputSchema, taskRunControllerInputSchema } from './types/taskrun.ts';
import { upgradePlatformInputSchema } from './types/upgrade.ts';

interface RunbookEntry {
  summary: string;
  /** The input's zod schema; absent for workflows the runbooks start themselves (see `internal`). */
  input?: z.ZodType;
  /** Started by other runbooks, not by operators (the CLI lists it apart). */
  internal?: true;
}

export const RUNBOOKS = {
  platformHealth: {
    summary: 'read-only health report: nodes, orchestrator pods, TaskRuns, /health',
    input: platformHealthInputSchema,
  },
  deployPlatform: {
    summary: 'namespaces, CRD, secrets, helm upgrade --install, rollout, health (dryRun: the plan)',
    input: deployPlatformInputSchema,
  },
  upgradePlatform: {
    summary: 'resumable upgrade with rollback, or a pause for an operator decision',
    input: upgradePlatformInputSchema,
  },
  rotateSecret: { summary: 'rotate one Secret key from a reference, restart, verify', input: rotateSecretInputSchema },
  backupPlatform: {
    summary: 'CRD, ConfigMaps, Secrets (age-encrypted), Helm records, TaskRuns to the backup store; retention',
    input: backupPlatformInputSchema,
  },
  restorePlatform: {
    summary: 'verify a backup (HMAC, checksums, decryption), then restore in dependency order (dryRun: the plan)',
    input: restorePlatformInputSchema,
  },
  backupAndVerify: {
    summary: 'backupPlatform, then a test restore into a scratch namespace compared object by object; scratch deleted',
    input: backupAndVerifyInputSchema,
  },
  taskRunController: {
    summary: 'the TaskRun controller of a namespace (id taskrun-controller-<ns>; see client/taskrun-controller.ts)',
    input: taskRunControllerInputSchema,
  },
  drainNode: {
    summary:
      'kubectl drain, durably: plan (dryRun), cordon, evict (PDBs waited out), wait; uncordons on failure only if it cordoned',
    input: drainNodeInputSchema,
  },
  rollingNodeMaintenance: {
    summary:
      "the guide's Kubernetes upgrade, node by node: drainNode child, wait for nodeDone/kubelet version, uncordon, Ready, platform health; maintenance window; decide on a failed node",
    input: rollingNodeMaintenanceInputSchema,
  },
  maintenanceLease: {
    summary:
      "the cluster's maintenance lease (id maintenance-lease; started by the runbooks that take it; query lease)",
    internal: true,
  },
  incidentResponse: {
    summary:
      'evidence first (encrypted bundle), blast radius, approved containment under the lease, recover on `recover` (compensations reversed), integrity, Markdown timeline',
    input: incidentInputSchema,
  },
  securityAudit: {
    summary:
      "read-only monthly audit: the service account's RBAC against the chart's, privileged/root pods, unpinned or latest images, Secret events; findings ranked by severity",
    input: securityAuditInputSchema,
  },
  cleanupTaskRuns: {
    summary: 'delete old Succeeded (7 d) and Failed (3 d) TaskRuns, except those labelled keep (dryRun: the plan)',
    input: cleanupTaskRunsInputSchema,
  },
} as const satisfies Record<string, RunbookEntry>;

export type RunbookName = keyof typeof RUNBOOKS;

/** What a runbook's workflow function accepts: its schema's input type. */
export type RunbookInput<N extends RunbookName> = (typeof RUNBOOKS)[N] extends { input: infer S extends z.ZodType }
  ? z.input<S>
  : N extends 'maintenanceLease'
    ? MaintenanceLeaseInput
    : never;

export function isRunbookName(name: string): name is RunbookName {
  return Object.hasOwn(RUNBOOKS, name);
}
