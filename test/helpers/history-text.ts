// A workflow's history as text with its payloads decoded, for tests that check a secret value never
// got into it (the payloads hold JSON as UTF-8 bytes).
import type { Client } from '@temporalio/client';

export async function historyText(client: Client, workflowId: string): Promise<string> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return JSON.stringify(history, (_k, v: unknown) =>
    typeof v === 'object' && v !== null && 'data' in v && v.data instanceof Uint8Array
      ? Buffer.from(v.data).toString('utf8')
      : v,
  );
}
