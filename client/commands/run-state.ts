// A run as the CLI reports it: execution status + the runbook's search attributes, and the exit
// code that goes with it.
import type { WorkflowExecutionDescription, WorkflowExecutionInfo } from '@temporalio/client';
import { PAUSED_PHASES, type RunbookPhase } from '../../contract/runbook-search-attributes.ts';
import { EXIT } from './command.ts';

export interface RunState {
  workflowId: string;
  runId: string;
  runbook: string;
  /** RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, CONTINUED_AS_NEW. */
  status: string;
  phase?: RunbookPhase;
  targetNamespace?: string;
  startTime: string;
  closeTime?: string;
  taskQueue: string;
}

function first(attrs: Record<string, unknown> | undefined, name: string): string | undefined {
  const v = attrs?.[name];
  return Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
}

export function runState(info: WorkflowExecutionInfo | WorkflowExecutionDescription): RunState {
  const attrs = info.searchAttributes as Record<string, unknown> | undefined;
  const phase = first(attrs, 'RunbookPhase') as RunbookPhase | undefined;
  const target = first(attrs, 'TargetNamespace');
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    runbook: first(attrs, 'RunbookKind') ?? info.type,
    status: info.status.name,
    ...(phase ? { phase } : {}),
    ...(target ? { targetNamespace: target } : {}),
    startTime: info.startTime.toISOString(),
    ...(info.closeTime ? { closeTime: info.closeTime.toISOString() } : {}),
    taskQueue: info.taskQueue,
  };
}

/** What a closed run's phase is when the workflow could not say it (terminated, timed out). */
export function shownPhase(s: RunState): string {
  if (s.status === 'TERMINATED') return 'terminated';
  if (s.status === 'TIMED_OUT') return 'timed-out';
  if (
    s.status !== 'RUNNING' &&
    (s.phase === undefined ||
      s.phase === 'running' ||
      s.phase === 'waiting-for-lease' ||
      PAUSED_PHASES.includes(s.phase))
  ) {
    return s.status === 'COMPLETED' ? 'succeeded' : s.status === 'CANCELLED' ? 'cancelled' : 'failed';
  }
  return s.phase ?? (s.status === 'RUNNING' ? 'running' : s.status.toLowerCase());
}

export function isPaused(s: RunState): boolean {
  return s.status === 'RUNNING' && s.phase !== undefined && PAUSED_PHASES.includes(s.phase);
}

export function exitCodeOf(s: RunState): number {
  if (s.status === 'COMPLETED') return EXIT.succeeded;
  if (s.status === 'RUNNING') return isPaused(s) ? EXIT.paused : EXIT.running;
  return EXIT.failed;
}

/** A table: columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function shorten(text: string | undefined, max: number): string {
  if (!text) return '';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
