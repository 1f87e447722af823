// Which test files of `npm test` run side by side (scripts/test.ts starts one `node --test` per file).
// Files under test/integration use the one local cluster; the others need the dev server only. A
// cluster file says in its first lines what it must not share:
//   // test-isolation: exclusive (why)        no other cluster file runs beside it (cluster-wide objects, load)
//   // test-isolation: serial NAME (why)       no other file of the same NAME runs beside it (a fixed namespace)
// Exclusive files go first, one at a time (the dev-server files run beside them); then the others,
// longest first by their last run's time (the slowest do not end up last, alone).
import { readFileSync } from 'node:fs';

export interface TestFile {
  path: string;
  pool: 'cluster' | 'temporal';
  exclusive: boolean;
  serial?: string;
  /** Its duration in the last run (unknown: counted as long, it goes early). */
  seconds?: number;
}

export interface Limits {
  cluster: number;
  temporal: number;
}

export const DEFAULT_LIMITS: Limits = { cluster: 3, temporal: 2 };

/** Reads a file's isolation from its first 20 lines. */
export function testFile(path: string, seconds?: number, text = readFileSync(path, 'utf8')): TestFile {
  const head = text.split('\n').slice(0, 20).join('\n');
  const serial = /^\/\/ test-isolation: serial ([\w.-]+)/m.exec(head)?.[1];
  return {
    path,
    pool: path.startsWith('test/integration/') ? 'cluster' : 'temporal',
    exclusive: /^\/\/ test-isolation: exclusive/m.test(head),
    ...(serial ? { serial } : {}),
    ...(seconds !== undefined ? { seconds } : {}),
  };
}

/** The order files are offered in: exclusive ones first, then the longest first. */
export function queueOrder(files: TestFile[]): TestFile[] {
  const length = (f: TestFile) => f.seconds ?? Number.MAX_SAFE_INTEGER;
  return [...files].sort(
    (a, b) => Number(b.exclusive) - Number(a.exclusive) || length(b) - length(a) || a.path.localeCompare(b.path),
  );
}

/** The waiting files that may start now, given the running ones (waiting in queueOrder). */
export function startable(waiting: TestFile[], running: TestFile[], limits: Limits = DEFAULT_LIMITS): TestFile[] {
  const started: TestFile[] = [];
  const inPool = (pool: TestFile['pool']) => [...running, ...started].filter((f) => f.pool === pool);
  // Once a cluster file cannot start, no later one does: it keeps its turn (an exclusive one gets an empty cluster).
  let clusterWaits = inPool('cluster').some((f) => f.exclusive);
  for (const file of waiting) {
    const pool = inPool(file.pool);
    if (file.pool === 'temporal') {
      if (pool.length < limits.temporal) started.push(file);
    } else if (!clusterWaits) {
      if (file.serial && pool.some((f) => f.serial === file.serial)) continue;
      const fits = file.exclusive ? pool.length === 0 : pool.length < limits.cluster;
      if (fits) started.push(file);
      if (!fits || file.exclusive) clusterWaits = true;
    }
  }
  return started;
}
