// Runs the helm binary: explicit cluster (--kubeconfig/--kube-context on every call), a private helm
// home (never ~/.config/helm, ~/.cache/helm or ~/.kube/cache), a process timeout, activity heartbeats
// while helm runs, and cancellation. Failures come back classified (errors.ts).
//
// Cancellation and timeouts send SIGTERM (SIGKILL 10 s later). helm 4.3 install/upgrade catch SIGTERM and
// mark the release failed ("context canceled"); helm rollback and uninstall do not, so a cancelled rollback
// leaves the release pending-rollback: recoverStuckRelease unlocks it.
import { lstatSync, mkdirSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { currentContext } from '../activity-context.ts';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import type { HelmDeps } from './deps.ts';
import { invalidHelmRequest, processTimeoutFailure, toHelmFailure } from './errors.ts';
import { HELM_INVALID } from '../../contract/failures.ts';

export interface HelmRunOptions {
  /** Kills helm after this long (default 60 s); give helm's own --timeout plus a margin. */
  timeoutMs?: number;
  /** Cancels helm (SIGTERM) when aborted; default: the activity's cancellationSignal, when inside an activity. */
  signal?: AbortSignal;
  /** What is being done, for errors, logs and heartbeat details (e.g. "upgrade orchestrator/orch"). */
  what: string;
  /** A missing release is an expected answer here (status reads): logged at debug, not info. */
  releaseMayBeMissing?: boolean;
}

export interface HelmRunResult {
  stdout: string;
  stderr: string;
  durationMs: number;
}

/**
 * The private helm home of these deps (created on first use). Its default name under /tmp is
 * predictable, so another user could create it first: it must be ours and closed to others.
 */
export function helmHome(deps: HelmDeps): string {
  const home = deps.helmHome ?? join(tmpdir(), `platform-runbooks-helm-${userInfo().uid}`);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const info = lstatSync(home);
  if (!info.isDirectory() || info.uid !== process.getuid?.() || (info.mode & 0o077) !== 0) {
    throw ApplicationFailure.create({
      type: HELM_INVALID,
      nonRetryable: true,
      message: `helm home ${home} is not a private directory of this user (owner uid ${info.uid}, mode ${(info.mode & 0o777).toString(8)}${info.isSymbolicLink() ? ', a symlink' : ''}): remove it, or set helmHome`,
    });
  }
  return home;
}

/** What helm may see of the worker's environment: how to find programs and reach the network, nothing else. */
const HELM_ENV_PASSED = [
  'PATH',
  'HOME',
  'TMPDIR',
  'LANG',
  'LC_ALL',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
];

/**
 * The environment helm runs with: the few variables of HELM_ENV_PASSED (never the worker's
 * credentials: its HMAC key, age identity or Temporal API key), and a private helm home.
 */
export function helmEnv(deps: HelmDeps): Record<string, string> {
  const home = helmHome(deps);
  const env: Record<string, string> = {};
  for (const key of HELM_ENV_PASSED) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return {
    ...env,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    // Release records are Secrets (helm's default); recoverStuckRelease relies on it.
    HELM_DRIVER: 'secret',
    // The Kubernetes discovery/HTTP cache; its default is ~/.kube/cache.
    KUBECACHEDIR: join(home, 'kube-cache'),
    NO_COLOR: '1',
  };
}

/** The cluster flags every helm call gets. */
export function clusterArgs(deps: HelmDeps): string[] {
  return ['--kubeconfig', deps.kubeconfigPath, ...(deps.kubeContext ? ['--kube-context', deps.kubeContext] : [])];
}

/** Runs `helm <args>`; returns its output, or throws a classified ApplicationFailure (or the activity's CancelledFailure). */
export async function runHelm(deps: HelmDeps, args: string[], opts: HelmRunOptions): Promise<HelmRunResult> {
  const context = currentContext();
  const signal = opts.signal ?? context?.cancellationSignal;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const started = Date.now();
  const log = deps.logger.child({ helm: args[0], what: opts.what });
  const heartbeat = () =>
    context?.heartbeat({ helm: opts.what, elapsedSeconds: Math.round((Date.now() - started) / 1000) });
  heartbeat();
  const timer = context ? setInterval(heartbeat, deps.heartbeatIntervalMs ?? 5000) : undefined;
  log.debug({ args: redactArgs(args) }, 'helm started');
  try {
    const r = await execa(deps.helmBin, [...args, ...clusterArgs(deps)], {
      env: helmEnv(deps),
      extendEnv: false,
      reject: false,
      timeout: timeoutMs,
      ...(signal ? { cancelSignal: signal } : {}),
      forceKillAfterDelay: 10_000,
      stdin: 'ignore',
      maxBuffer: 256 * 1024 * 1024,
    });
    const durationMs = Date.now() - started;
    if (r.isCanceled) {
      log.warn({ durationMs }, 'helm cancelled');
      throw signal?.reason instanceof Error
        ? signal.reason
        : ApplicationFailure.create({ message: `${opts.what}: cancelled`, nonRetryable: true });
    }
    if (r.timedOut) {
      log.warn({ durationMs }, 'helm killed: process timeout');
      throw processTimeoutFailure(opts.what, timeoutMs, r.stderr);
    }
    if (r.exitCode === undefined && !r.signal) {
      // Not started at all (missing or non-executable binary): configuration, a retry cannot help.
      throw invalidHelmRequest(
        `${opts.what}: cannot run helm (${deps.helmBin}): ${r.originalMessage ?? r.message ?? 'unknown error'}`,
      );
    }
    if (r.exitCode !== 0) {
      const output =
        r.stderr || r.stdout || (r.signal ? `helm was killed by ${r.signal}` : `helm exited with ${r.exitCode}`);
      const failure = toHelmFailure(output, opts.what);
      const expected = opts.releaseMayBeMissing && /release: not found/.test(output);
      log[expected ? 'debug' : 'info'](
        { durationMs, type: failure.type, exitCode: r.exitCode, error: failure.message },
        'helm failed',
      );
      throw failure;
    }
    log.debug({ durationMs }, 'helm done');
    return { stdout: r.stdout, stderr: r.stderr, durationMs };
  } finally {
    if (timer) clearInterval(timer);
  }
}

/** Arguments for the log: --set values are never logged (values files are paths, which is fine). */
function redactArgs(args: string[]): string[] {
  return args.map((a, i) => (args[i - 1]?.startsWith('--set') ? '<redacted>' : a));
}

/** Parses helm's JSON output; a parse failure is a retryable HelmFailed naming the command. */
export function parseJson<T>(stdout: string, what: string): T {
  try {
    return JSON.parse(stdout) as T;
  } catch {
    throw toHelmFailure(`unexpected output (not JSON): ${stdout.slice(0, 200)}`, what);
  }
}
