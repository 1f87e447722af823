// The real worker as a separate process (worker/main.ts), so that a test can SIGKILL it.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { toolPath } from '../../scripts/stack/tools.ts';
import { workerProcessEnv } from '../../worker/process-env.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));

export interface WorkerProcess {
  pid: number;
  logFile: string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function startWorkerProcess(opts: {
  temporalAddress: string;
  kubeconfigPath: string;
  taskQueue: string;
  env?: Record<string, string>;
  /** More worker flags (e.g. --local-health-standin). */
  args?: string[];
  /** Node flags before the script (a bench's --cpu-prof). */
  nodeArgs?: string[];
  /** Where the log goes (default: under TEST_LOG_DIR in a full run, where the leak scan reads the worker logs). */
  logDir?: string;
}): Promise<WorkerProcess> {
  const logFile = join(
    mkdtempSync(join(opts.logDir ?? process.env.TEST_LOG_DIR ?? tmpdir(), 'runbooks-worker-')),
    'worker.log',
  );
  const child: ResultPromise = execa(
    process.execPath,
    [
      ...(opts.nodeArgs ?? []),
      'worker/main.ts',
      '--kubeconfig',
      opts.kubeconfigPath,
      '--temporal-address',
      opts.temporalAddress,
      '--task-queue',
      opts.taskQueue,
      '--helm-bin',
      toolPath('helm'),
      '--http-port',
      '0',
      '--log-level',
      'info',
      ...(opts.args ?? []),
    ],
    {
      cwd: repo,
      reject: false,
      stdout: { file: logFile },
      stderr: { file: logFile },
      env: { ...workerProcessEnv(), ...opts.env },
      cleanup: true,
    },
  );
  // Ready when the worker logs that it started (it bundles the workflows first).
  await waitForLogLine(child, logFile, '"msg":"worker started"', 'the worker');
  return {
    pid: child.pid!,
    logFile,
    kill: async (signal) => {
      // A SIGKILL takes the worker's child processes (helm) with it, as a pod's death does.
      const descendants = signal === 'SIGKILL' ? descendantsOf(child.pid!) : [];
      child.kill(signal);
      for (const pid of descendants) killQuietly(pid);
      await child;
    },
  };
}

/** The pids of a process's children, their children and so on (from /proc). */
function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      // Fields after the command (which is in parentheses and may hold spaces): state, then the parent's pid.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // It exited while we read.
    }
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      found.push(c);
      walk(c);
    }
  };
  walk(pid);
  return found;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Waits until a child process wrote `marker` to its log file; fails when it exits first or after 120 s. */
export async function waitForLogLine(child: ResultPromise, logFile: string, marker: string, what: string) {
  let exited = false;
  child.then(
    () => (exited = true),
    () => (exited = true),
  );
  for (let i = 0; i < 1200; i++) {
    const log = (() => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    })();
    if (log.includes(marker)) return;
    if (exited) throw new Error(`${what} exited before it started:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not start within 120 s`);
}
