// runbook ps: running and recent runbooks with their status, phase and what they wait for,
// filtered through the search attributes (RunbookKind, RunbookPhase, TargetNamespace).
import { progressQuery } from '../../contract/messages.ts';
import { RUNBOOK_PHASES, PAUSED_PHASES, type RunbookPhase } from '../../contract/runbook-search-attributes.ts';
import { RUNBOOKS as MAP, isRunbookName } from '../../contract/runbooks.ts';
import { EXIT, UsageError, str, type Command } from './command.ts';
import { runState, shownPhase, shorten, table, type RunState } from './run-state.ts';

export interface PsFilter {
  kind?: string;
  phase?: string;
  namespace?: string;
  running?: boolean;
  taskQueue?: string;
}

const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The visibility query of `ps`; throws a usage error for an unknown runbook or phase. */
export function psQuery(f: PsFilter): string {
  const parts: string[] = [];
  if (f.kind !== undefined) {
    if (!isRunbookName(f.kind))
      throw new UsageError(`ps: unknown runbook ${f.kind} (known: ${Object.keys(MAP).join(', ')})`);
    parts.push(`RunbookKind = ${quote(f.kind)}`);
  } else {
    const kinds = Object.entries(MAP)
      .filter(([, e]) => !('internal' in e))
      .map(([name]) => quote(name));
    parts.push(`WorkflowType IN (${kinds.join(', ')})`);
  }
  if (f.phase !== undefined) {
    if (f.phase === 'paused') parts.push(`RunbookPhase IN (${PAUSED_PHASES.map(quote).join(', ')})`);
    else if (!(RUNBOOK_PHASES as readonly string[]).includes(f.phase))
      throw new UsageError(`ps: unknown phase ${f.phase} (phases: paused, ${RUNBOOK_PHASES.join(', ')})`);
    else parts.push(`RunbookPhase = ${quote(f.phase)}`);
  }
  if (f.namespace !== undefined) parts.push(`TargetNamespace = ${quote(f.namespace)}`);
  if (f.running) parts.push(`ExecutionStatus = 'Running'`);
  if (f.taskQueue !== undefined) parts.push(`TaskQueue = ${quote(f.taskQueue)}`);
  return parts.join(' AND ');
}

export interface PsRow extends RunState {
  shownPhase: string;
  /** For a runbook waiting for the lease or paused: its note (who holds the lease; which update it waits for). */
  waitingFor?: string;
}

const WAITING: readonly (RunbookPhase | undefined)[] = ['waiting-for-lease', ...PAUSED_PHASES];

export const ps: Command = {
  name: 'ps',
  synopsis: 'ps [--kind RUNBOOK] [--phase PHASE] [--namespace NS] [--running] [--limit N]',
  summary: 'running and recent runbooks: status, phase, what they wait for',
  help: `  --kind RUNBOOK    one runbook (search attribute RunbookKind)
  --phase PHASE     paused (paused-for-decision or paused-for-approval), or one of: ${RUNBOOK_PHASES.join(', ')}
  --namespace NS    the Kubernetes namespace acted on (search attribute TargetNamespace)
  --running         running ones only
  --task-queue Q    one task queue
  --limit N         at most N (default 20), newest first
  --json            [{workflowId, runId, runbook, status, phase, shownPhase, targetNamespace, startTime, closeTime, waitingFor}]
Same filter in the Web UI or the Temporal CLI: temporal workflow list --query "RunbookPhase = 'paused-for-decision'"`,
  options: {
    kind: { type: 'string' },
    phase: { type: 'string' },
    namespace: { type: 'string' },
    running: { type: 'boolean' },
    'task-queue': { type: 'string' },
    limit: { type: 'string' },
  },
  async run({ values, json }, io) {
    const limit = Number(str(values, 'limit') ?? 20);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError('ps: --limit must be a positive integer');
    const filter: PsFilter = {
      ...(str(values, 'kind') !== undefined ? { kind: str(values, 'kind')! } : {}),
      ...(str(values, 'phase') !== undefined ? { phase: str(values, 'phase')! } : {}),
      ...(str(values, 'namespace') !== undefined ? { namespace: str(values, 'namespace')! } : {}),
      ...(str(values, 'task-queue') !== undefined ? { taskQueue: str(values, 'task-queue')! } : {}),
      running: values.running === true,
    };
    const query = psQuery(filter);
    const { client } = await io.temporal();
    const rows: PsRow[] = [];
    for await (const wf of client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
      const state = runState(wf);
      rows.push({ ...state, shownPhase: shownPhase(state) });
      if (rows.length >= limit) break;
    }
    await Promise.all(
      rows
        .filter((r) => r.status === 'RUNNING' && WAITING.includes(r.phase))
        .map(async (r) => {
          const p = await client.connection
            .withDeadline(Date.now() + 3_000, () => client.workflow.getHandle(r.workflowId).query(progressQuery))
            .catch(() => undefined);
          r.waitingFor = p?.note ?? '?';
        }),
    );
    if (json) {
      io.out(JSON.stringify(rows, null, 2));
    } else if (!rows.length) {
      io.out(`no runbooks (query: ${query})`);
    } else {
      io.out(
        table(
          ['WORKFLOW ID', 'RUNBOOK', 'STATUS', 'PHASE', 'NAMESPACE', 'STARTED', 'WAITING FOR'],
          rows.map((r) => [
            r.workflowId,
            r.runbook,
            r.status,
            r.shownPhase,
            r.targetNamespace ?? '',
            r.startTime.slice(0, 19).replace('T', ' '),
            shorten(r.waitingFor, 80),
          ]),
        ),
      );
    }
    return EXIT.succeeded;
  },
};
