// One `node --test` run of some test files, with a time limit: a file that never ends (a server or
// worker left open after a failed cleanup) is killed with everything it started, and the run goes on.
import { execa } from 'execa';
import { createInterface } from 'node:readline';

export interface NodeTestRun {
  exitCode: number;
  output: string;
  timedOut: boolean;
}

export interface NodeTestOptions {
  env: Record<string, string>;
  /** Kill the run (its whole process group) after this long. */
  timeoutMs: number;
  /** Extra node options (reporters). */
  nodeArgs?: string[];
  /** Each line of output as it comes. */
  onLine?: (line: string) => void;
}

export async function runNodeTest(files: string[], options: NodeTestOptions): Promise<NodeTestRun> {
  // A process group of its own: the test runner's child per file, and the workers and servers that
  // file starts, all go down with it.
  const child = execa(
    process.execPath,
    ['--test', '--test-concurrency=1', '--test-reporter=spec', ...(options.nodeArgs ?? []), ...files],
    // NODE_TEST_CONTEXT unset: a run started from inside a test file is a run of its own.
    { all: true, reject: false, env: { ...options.env, NODE_TEST_CONTEXT: undefined }, detached: true },
  );
  const lines: string[] = [];
  createInterface({ input: child.all! }).on('line', (line) => {
    lines.push(line);
    options.onLine?.(line);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    const line = `test: ${files.join(' ')} still running after ${options.timeoutMs / 1000} s: killed`;
    lines.push(line);
    options.onLine?.(line);
    killGroup(child.pid);
  }, options.timeoutMs);
  const result = await child;
  clearTimeout(timer);
  // A group member that outlived the runner (a worker the file started) goes too.
  killGroup(child.pid);
  return { exitCode: timedOut ? 1 : (result.exitCode ?? 1), output: lines.join('\n'), timedOut };
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
