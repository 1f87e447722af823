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
];

export function findRunbook(name: string): RunbookInfo {
  const runbook = RUNBOOKS.find((r) => r.name === name);
  if (!runbook) throw new Error(`unknown runbook ${name} (known: ${RUNBOOKS.map((r) => r.name).join(', ')})`);
  return runbook;
}
