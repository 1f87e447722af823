// The runbooks an operator can start, by workflow type name: the CLI's view of contract/runbooks.ts.
import { isRunbookName, RUNBOOKS as MAP, type RunbookName } from '../contract/runbooks.ts';

export interface RunbookInfo {
  name: RunbookName;
  summary: string;
}

export const RUNBOOKS: RunbookInfo[] = Object.entries(MAP).map(([name, entry]) => ({
  name: name as RunbookName,
  summary: entry.summary,
}));

export function findRunbook(name: string): RunbookInfo {
  if (!isRunbookName(name))
    throw new Error(`unknown runbook ${name} (known: ${RUNBOOKS.map((r) => r.name).join(', ')})`);
  return { name, summary: MAP[name].summary };
}
