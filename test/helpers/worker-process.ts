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
}): Promise<WorkerProcess> {
  // Under TEST_LOG_DIR in a full run, where the leak scan reads the worker logs.
  const logFile = join(mkdtempSync(join(process.env.TEST_LOG_DIR ?? tmpdir(), 'runbooks-worker-')), 'worker.log');
  const child: ResultPromise = execa(
    process.execPath,
    [
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
  let exited = false;
  child.then(
    () => (exited = true),
    () => (exited = true),
  );
  // Ready when the worker logs that it started (it bundles the workflows first).
  for (let i = 0; i < 600; i++) {
    const log = (() => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    })();
    if (log.includes('"msg":"worker started"')) break;
    if (exited) throw new Error(`worker exited early:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
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
