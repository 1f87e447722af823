// The Temporal dev server (`temporal server start-dev`: frontend + Web UI + SQLite) as a child
// process, for `npm start` (file DB under .data/, survives restarts) and tests (in-memory).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { assertPortFree, freePort } from './ports.ts';
import { toolPath } from './tools.ts';
import { TASKRUN_SEARCH_ATTRIBUTES } from '../../contract/types/taskrun.ts';
import { RUNBOOK_SEARCH_ATTRIBUTES } from '../../contract/runbook-search-attributes.ts';

export type SearchAttributeType = 'Text' | 'Keyword' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

export interface DevServerOptions {
  /** Where the server's stdout/stderr go (appended). Required: the console stays clean. */
  logFile: string;
  /** Frontend gRPC port; default: a free port. A given port is checked first (clear error if busy). */
  port?: number;
  /** Web UI port; default: a free port. */
  uiPort?: number;
  /** SQLite file for persistent state; omitted = in-memory (state dies with the process). */
  dbFile?: string;
  /** Namespace the caller will use; 'default' (always created) unless given. */
  namespace?: string;
  /**
   * More custom search attributes to register at launch, e.g. { Team: 'Keyword' }. Every runbook's
   * (RUNBOOK_SEARCH_ATTRIBUTES) and the TaskRun controller's (TASKRUN_SEARCH_ATTRIBUTES) are always
   * registered: a workflow that upserts an unregistered one fails its workflow task. (SQLite visibility allows 3 Int, 10 Keyword, 3 of
   * each other type per namespace.)
   */
  searchAttributes?: Record<string, SearchAttributeType>;
  /** How long to wait for the frontend to answer; default 60 s (first start of a file DB is slower). */
  startTimeoutMs?: number;
  /** What the ports are for in "port busy" errors, e.g. 'set TEMPORAL_PORT'. */
  portHint?: string;
}

export interface DevServer {
  /** host:port of the frontend, for Connection.connect({ address }). */
  address: string;
  /** http URL of the Web UI. */
  uiUrl: string;
  namespace: string;
  pid: number;
  /** SIGTERM, then SIGKILL after `graceMs` (default 10 s); resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

const host = '127.0.0.1';

/** Starts the dev server and resolves once its frontend reports SERVING. */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const temporal = toolPath('temporal');
  const namespace = opts.namespace ?? 'default';
  const hint = opts.portHint ?? 'choose another port';
  const port = opts.port ?? (await freePort());
  const uiPort = opts.uiPort ?? (await freePort());
  if (opts.port !== undefined) await assertPortFree(port, 'Temporal frontend', hint);
  if (opts.uiPort !== undefined) await assertPortFree(uiPort, 'Temporal Web UI', hint);

  const args = [
    'server',
    'start-dev',
    '--ip',
    host,
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--log-level',
    'warn',
    '--color',
    'never',
  ];
  // 'default' always exists; naming it again is harmless but noisy.
  if (namespace !== 'default') args.push('--namespace', namespace);
  if (opts.dbFile) {
    mkdirSync(dirname(opts.dbFile), { recursive: true });
    // WAL + synchronous=normal: far fewer fsyncs, still crash-safe for a dev database.
    args.push(
      '--db-filename',
      opts.dbFile,
      '--sqlite-pragma',
      'journal_mode=wal',
      '--sqlite-pragma',
      'synchronous=normal',
    );
  }
  // Registering one that a file DB already has (same type) is a no-op.
  for (const [name, type] of Object.entries({
    ...RUNBOOK_SEARCH_ATTRIBUTES,
    ...TASKRUN_SEARCH_ATTRIBUTES,
    ...opts.searchAttributes,
  })) {
    args.push('--search-attribute', `${name}=${type}`);
  }

  mkdirSync(dirname(opts.logFile), { recursive: true });
  const logFd = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(temporal, args, { stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd); // the child holds its own copy
  }
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ?? code ?? 'unknown'));
    child.once('error', (err) => resolve(err.message));
  });

  // The server must not outlive us, even when the caller forgets stop() (a synchronous kill is
  // all an 'exit' handler can do).
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));

  const address = `${host}:${port}`;
  const stop = (graceMs = 10_000) => stopChild(child, exited, graceMs);
  try {
    await waitHealthy(temporal, address, exited, opts.startTimeoutMs ?? 60_000);
  } catch (err) {
    await stop(2_000);
    throw new Error(`${(err as Error).message}\n--- last lines of ${opts.logFile} ---\n${tail(opts.logFile, 30)}`, {
      cause: err,
    });
  }
  return { address, uiUrl: `http://${host}:${uiPort}`, namespace, pid: child.pid!, stop };
}

/** Polls `temporal operator cluster health` until SERVING, the process dies, or time runs out. */
async function waitHealthy(
  temporal: string,
  address: string,
  exited: Promise<number | string>,
  timeoutMs: number,
): Promise<void> {
  let exitedWith: number | string | undefined;
  void exited.then((how) => {
    exitedWith = how;
  });
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (exitedWith !== undefined)
      throw new Error(`temporal server start-dev exited (${exitedWith}) before it was ready`);
    // Ignore the user's Temporal env/config files: they may point at another server or add TLS.
    const r = await execa(
      temporal,
      [
        'operator',
        'cluster',
        'health',
        '--address',
        address,
        '--disable-config-env',
        '--disable-config-file',
        '--command-timeout',
        '2s',
      ],
      { reject: false, timeout: 5_000 },
    );
    if (r.exitCode === 0 && r.stdout.includes('SERVING')) return;
    lastError = (r.stderr || r.stdout).trim();
    await sleep(200);
  }
  throw new Error(
    `Temporal dev server at ${address} not healthy after ${timeoutMs} ms (last check: ${lastError || 'no answer'})`,
  );
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log file)';
  }
}
