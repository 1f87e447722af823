// The runbooks an operator can start, by workflow type name.
export interface RunbookInfo {
  name: string;
  summary: string;
}

export const RUNBOOKS: RunbookInfo[] = [
  { name: 'platformHealth', summary: 'read-only health report: nodes, orchestrator pods, TaskRuns, /health' },
];

export function findRunbook(name: string): RunbookInfo {
  const runbook = RUNBOOKS.find((r) => r.name === name);
  if (!runbook) throw new Error(`unknown runbook ${name} (known: ${RUNBOOKS.map((r) => r.name).join(', ')})`);
  return runbook;
}
