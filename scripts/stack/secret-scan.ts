// The leak scan after `npm test`: no secret value that the tests used may appear in any workflow
// history of the dev server, in the worker logs, in the test output or in the backup store, in
// plain text or base64 (at any alignment), gzip files included. Reports where, never the value.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Client } from '@temporalio/client';

export interface Secret {
  name: string;
  value: string;
}
export interface Leak {
  secret: string;
  where: string;
}

/** The strings that give a value away: itself, and its base64 at each of the 3 alignments. */
export function leakPatterns(value: string): string[] {
  const patterns = [value];
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.from('\0'.repeat(shift) + value).toString('base64');
    // Drop the characters that depend on the bytes before and after the value.
    const core = encoded.slice(Math.ceil((shift * 4) / 3), encoded.length - 4);
    if (core.length >= 8) patterns.push(core);
  }
  return patterns;
}

export function findLeaks(secrets: Secret[], text: string, where: string): Leak[] {
  return secrets
    .filter((s) => leakPatterns(s.value).some((p) => text.includes(p)))
    .map((s) => ({ secret: s.name, where }));
}

/** Every workflow history of the namespace, with payloads decoded to text. */
export async function scanHistories(client: Client, secrets: Secret[]): Promise<{ leaks: Leak[]; histories: number }> {
  const leaks: Leak[] = [];
  let histories = 0;
  for await (const wf of client.workflow.list()) {
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    histories++;
    const text = JSON.stringify(history, (_k, v: unknown) =>
      v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v,
    );
    leaks.push(...findLeaks(secrets, text, `history of ${wf.type} ${wf.workflowId}`));
  }
  return { leaks, histories };
}

/** Every file under the directories (gzip files also decompressed). */
export function scanFiles(secrets: Secret[], dirs: string[]): { leaks: Leak[]; files: number } {
  const leaks: Leak[] = [];
  let files = 0;
  const visit = (path: string) => {
    const info = statSync(path, { throwIfNoEntry: false });
    if (!info) return;
    if (info.isDirectory()) {
      for (const entry of readdirSync(path)) visit(join(path, entry));
      return;
    }
    if (!info.isFile()) return;
    files++;
    const data = readFileSync(path);
    let text = data.toString('latin1');
    if (path.endsWith('.gz')) {
      try {
        text += gunzipSync(data).toString('utf8');
      } catch {
        /* not gzip after all */
      }
    }
    leaks.push(...findLeaks(secrets, text, path));
  };
  for (const dir of dirs) if (existsSync(dir)) visit(dir);
  return { leaks, files };
}

export function readSecrets(file: string): Secret[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Secret);
}
