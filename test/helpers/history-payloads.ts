// The sizes of the payloads in workflow histories (activity inputs and results, continue-as-new
// inputs, ...): what Temporal's 2 MB payload limit applies to. Used by test/integration/taskrun-scale.test.ts
// and bench/reconcile-scale.ts.
import { Client, Connection } from '@temporalio/client';

/** The largest Payloads (summed data bytes of one field: an input, a result) in one history's events. */
export function largestPayloads(events: unknown[]): number {
  let max = 0;
  const visit = (x: unknown): void => {
    if (!x || typeof x !== 'object') return;
    if (Array.isArray(x)) {
      for (const i of x) visit(i);
      return;
    }
    const payloads = (x as { payloads?: unknown }).payloads;
    if (Array.isArray(payloads)) {
      max = Math.max(
        max,
        payloads.reduce<number>((n, p) => n + ((p as { data?: Uint8Array | null }).data?.length ?? 0), 0),
      );
    }
    for (const v of Object.values(x)) if (v && typeof v === 'object' && !(v instanceof Uint8Array)) visit(v);
  };
  visit(events);
  return max;
}

export interface RunStats {
  runs: number;
  maxPayloadBytes: number;
  /** Events per run (first run first). */
  historyLengths: number[];
}

type HistoryEvent = { workflowExecutionContinuedAsNewEventAttributes?: { newExecutionRunId?: string | null } | null };

/**
 * Every run of a workflow's continue-as-new chain from firstRunId: the largest payload and history
 * lengths. Its own connection: a page of history events can pass gRPC's default 4 MB message limit.
 */
export async function workflowRunStats(
  target: { address: string; namespace?: string },
  workflowId: string,
  firstRunId: string,
): Promise<RunStats> {
  const connection = await Connection.connect({
    address: target.address,
    channelArgs: { 'grpc.max_receive_message_length': 256 * 1024 * 1024 },
  });
  try {
    const client = new Client({ connection, namespace: target.namespace ?? 'default' });
    const stats: RunStats = { runs: 0, maxPayloadBytes: 0, historyLengths: [] };
    for (let runId: string | undefined = firstRunId; runId;) {
      const events = ((await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ??
        []) as HistoryEvent[];
      stats.runs++;
      stats.maxPayloadBytes = Math.max(stats.maxPayloadBytes, largestPayloads(events));
      stats.historyLengths.push(events.length);
      runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    }
    return stats;
  } finally {
    await connection.close();
  }
}
