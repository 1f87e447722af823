// The reliability tests' counts: each test adds what it saw to a JSON file in
// RELIABILITY_REPORT_DIR (set by `npm run reliability`, which sums them into its last line).
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ReliabilityCounts {
  runs?: number;
  crashes?: number;
  lost?: number;
  duplicates?: number;
  leaks?: number;
  unclearErrors?: number;
}

export async function recordReliability(name: string, counts: ReliabilityCounts): Promise<void> {
  const dir = process.env.RELIABILITY_REPORT_DIR;
  if (!dir) return;
  await appendFile(join(dir, 'counts.jsonl'), `${JSON.stringify({ name, ...counts })}\n`);
}
