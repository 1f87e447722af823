// Records a finished workflow's history for the replay test (test/replay), as the binary protobuf
// History. Only when RECORD_HISTORIES=1: `RECORD_HISTORIES=1 npx node --test test/workflow/`
// refreshes them after an intended, versioned (patched()) workflow change.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';

const { temporal } = proto; // a CommonJS package

export const HISTORIES_DIR = fileURLToPath(new URL('../replay/histories/', import.meta.url));

export async function recordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  writeFileSync(`${HISTORIES_DIR}${name}.history.bin`, temporal.api.history.v1.History.encode(history).finish());
}

export function readHistory(file: string): ReturnType<typeof temporal.api.history.v1.History.decode> {
  return temporal.api.history.v1.History.decode(readFileSync(`${HISTORIES_DIR}${file}`));
}
