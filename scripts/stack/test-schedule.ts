// Which test files of `npm test` run side by side (scripts/test.ts starts one `node --test` per file).
// Files under test/integration use a local cluster; the others need the dev server only. A cluster
// file says in its first lines what it must not share:
//   // test-isolation: exclusive (why)        a cluster to itself (cluster-wide objects, load): the
//                                             exclusive files run one at a time on a second cluster,
//                                             beside the shared files on the first
//   // test-isolation: serial NAME (why)       no other file of the same NAME runs beside it (a fixed namespace)
// Exclusive files go first, shortest first; then the others, longest first by their last run's
// time (the slowest do not end up last, alone).
import { readFileSync } from 'node:fs';

export interface TestFile {
  path: string;
  /** What it needs: the shared cluster, the exclusive one, or only the dev server. */
  pool: Pool;
  serial?: string;
  /** Its duration in the last run (unknown: counted as long, it goes early). */
  seconds?: number;
}

export type Pool = 'cluster' | 'exclusive' | 'temporal';

/** Files of each pool that run at once. */
export type Limits = Record<Pool, number>;

export const DEFAULT_LIMITS: Limits = { cluster: 3, exclusive: 1, temporal: 2 };

/** Reads a file's isolation from its first 20 lines. */
export function testFile(path: string, seconds?: number, text = readFileSync(path, 'utf8')): TestFile {
  const head = text.split('\n').slice(0, 20).join('\n');
  const serial = /^\/\/ test-isolation: serial ([\w.-]+)/m.exec(head)?.[1];
  const exclusive = /^\/\/ test-isolation: exclusive/m.test(head);
  const cluster = path.startsWith('test/integration/');
  return {
    path,
    pool: cluster ? (exclusive ? 'exclusive' : 'cluster') : 'temporal',
    ...(serial ? { serial } : {}),
    ...(seconds !== undefined ? { seconds } : {}),
  };
}

/**
 * The order files are offered in: exclusive ones first, the shortest of them first (they share their
 * cluster one after another, and the heaviest leaves minutes of garbage collection behind: it goes
 * last, before the cluster is deleted); then the others, the longest first.
 */
export function queueOrder(files: TestFile[]): TestFile[] {
  const length = (f: TestFile) => f.seconds ?? Number.MAX_SAFE_INTEGER;
  const exclusive = (f: TestFile) => Number(f.pool === 'exclusive');
  return [...files].sort(
    (a, b) =>
      exclusive(b) - exclusive(a) ||
      (a.pool === 'exclusive' ? length(a) - length(b) : length(b) - length(a)) ||
      a.path.localeCompare(b.path),
  );
}

/** The waiting files that may start now, given the running ones (waiting in queueOrder). */
export function startable(waiting: TestFile[], running: TestFile[], limits: Limits = DEFAULT_LIMITS): TestFile[] {
  const started: TestFile[] = [];
  for (const file of waiting) {
    const beside = [...running, ...started];
    if (beside.filter((f) => f.pool === file.pool).length >= limits[file.pool]) continue;
    if (file.serial && beside.some((f) => f.serial === file.serial)) continue;
    started.push(file);
  }
  return started;
}
