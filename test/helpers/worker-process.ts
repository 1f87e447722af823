// The real worker as a separate process (worker/main.ts), so that a test can SIGKILL it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { toolPath } from '../../scripts/stack/tools.ts';

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
      env: opts.env ?? {},
      cleanup: true,
    },
  );
  let exited = false;
  child.then(
    () => (exited = true),
    () => (exited = true),
  );
  // Ready when the worker logs that it started (it bundles the workflows first).
  const { readFileSync } = await import('node:fs');
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
      child.kill(signal);
      await child;
    },
  };
}
