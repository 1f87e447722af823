// The runbooks an operator can start, by workflow type name.
export interface RunbookInfo {
  name: string;
  summary: string;
}

export const RUNBOOKS: RunbookInfo[] = [
  { name: 'platformHealth', summary: 'read-only health report: nodes, orchestrator pods, TaskRuns, /health' },
  { name: 'deployPlatform', summary: 'namespaces, CRD, secrets, helm upgrade --install, rollout, health (dryRun: the plan)' },
  { name: 'upgradePlatform', summary: 'resumable upgrade with rollback, or a pause for an operator decision' },
  { name: 'rotateSecret', summary: 'rotate one Secret key from a reference, restart, verify' },
  { name: 'backupPlatform', summary: 'CRD, ConfigMaps, Secrets (age-encrypted), Helm records, TaskRuns to the backup store; retention' },
  { name: 'restorePlatform', summary: 'verify a backup (HMAC, checksums, decryption), then restore in dependency order (dryRun: the plan)' },
  { name: 'backupAndVerify', summary: 'backupPlatform, then a test restore into a scratch namespace compared object by object; scratch deleted' },
  { name: 'taskRunController', summary: 'the TaskRun controller of a namespace (id taskrun-controller-<ns>; see client/taskrun-controller.ts)' },
  { name: 'drainNode', summary: 'kubectl drain, durably: plan (dryRun), cordon, evict (PDBs waited out), wait; uncordons on failure only if it cordoned' },
  { name: 'maintenanceLease', summary: 'the cluster\'s maintenance lease (id maintenance-lease; started by the runbooks that take it; query lease)' },
  { name: 'cleanupTaskRuns', summary: 'delete old Succeeded (7 d) and Failed (3 d) TaskRuns, except those labelled keep (dryRun: the plan)' },
];

export function findRunbook(name: string): RunbookInfo {
  const runbook = RUNBOOKS.find((r) => r.name === name);
  if (!runbook) throw new Error(`unknown runbook ${name} (known: ${RUNBOOKS.map((r) => r.name).join(', ')})`);
  return runbook;
}
