// `npm start`: the main job on the embedded default. Tools -> Temporal dev server (state in
// .data/temporal) -> local cluster (.data/cluster) -> worker (task queue `runbooks`, or
// RUNBOOK_TASK_QUEUE: the worker, the schedules and the TaskRun controller all use the same one).
// On the local cluster the worker answers /health probes with the local stand-in (its kwok pods
// never answer HTTP); with --kubeconfig it probes through the service proxy.
// Ctrl-C stops everything cleanly; running it again reuses .data/.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { workerProcessEnv } from '../worker/process-env.ts';
import { execa, type ResultPromise } from 'execa';
import { ensureTools, toolPath } from './stack/tools.ts';
import { startDevServer, type DevServer } from './stack/temporal-dev-server.ts';
import { createLocalCluster, devClusterRef, type LocalCluster } from './stack/local-cluster.ts';
import { tryFirstCommands } from './stack/try-first.ts';
import { connectClient } from '../client/connection.ts';
import {
  ensureNightlyBackupSchedule,
  ensureSecurityAuditSchedule,
  nightlyInputFromEnv,
  NIGHTLY_BACKUP_SCHEDULE,
  SECURITY_AUDIT_SCHEDULE,
} from '../client/schedules.ts';
import {
  CLEANUP_SCHEDULE,
  ensureTaskRunCleanupSchedule,
  ensureTaskRunController,
} from '../client/taskrun-controller.ts';
import { DEFAULT_TASK_QUEUE } from '../contract/task-queue.ts';

const HELP = `Usage: npm start [-- options]

Starts the local stack and the runbook worker:
  1. builds the pinned tools on first use (about 16-25 minutes, once; cached in ~/.cache/platform-runbooks)
  2. a Temporal dev server with its Web UI (state in .data/temporal)
  3. the local Kubernetes cluster (kwok, 3 nodes; state in .data/cluster)
  4. the worker on task queue "runbooks", acting on that cluster; there it answers the platform's
     /health itself (--local-health-standin: kwok pods never answer HTTP; image tag :unhealthy
     answers 503)

Options (environment variable in brackets):
  --temporal-port PORT   Temporal frontend [TEMPORAL_PORT] (default 7233)
  --ui-port PORT         Temporal Web UI [TEMPORAL_UI_PORT] (default 8233)
  --http-port PORT       worker /metrics and /health [RUNBOOK_HTTP_PORT] (default 9464)
  --task-queue NAME      the worker's task queue, also of the schedules and the TaskRun controller
                         [RUNBOOK_TASK_QUEUE] (default "runbooks")
  --kubeconfig FILE      act on this cluster instead of the local one (no local cluster is started)
  --context NAME         context in --kubeconfig
  -h, --help             this help
`;

const repo = fileURLToPath(new URL('..', import.meta.url));
const dataDir = join(repo, '.data');

export type StartOptions = ReturnType<typeof startOptions>;

/** Flags, then environment, then defaults. */
export function startOptions(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env) {
  const { values } = parseArgs({
    args: argv,
    options: {
      'temporal-port': { type: 'string' },
      'ui-port': { type: 'string' },
      'http-port': { type: 'string' },
      'task-queue': { type: 'string' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const port = (flag: string, value: string | undefined, fallback: number) => {
    const n = Number(value ?? fallback);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`--${flag}: ${value} is not a port number`);
    return n;
  };
  return {
    help: values.help ?? false,
    temporalPort: port('temporal-port', values['temporal-port'] ?? env.TEMPORAL_PORT, 7233),
    uiPort: port('ui-port', values['ui-port'] ?? env.TEMPORAL_UI_PORT, 8233),
    httpPort: port('http-port', values['http-port'] ?? env.RUNBOOK_HTTP_PORT, 9464),
    /** One task queue for the worker, the schedules and the TaskRun controller. */
    taskQueue: values['task-queue'] ?? (env.RUNBOOK_TASK_QUEUE || DEFAULT_TASK_QUEUE),
    kubeconfig: values.kubeconfig,
    context: values.context,
  };
}

/**
 * The worker's command line: the stack's Temporal, the cluster, the task queue, and the local
 * health stand-in only when the cluster is the project's own local one.
 */
export function workerArgs(
  opts: StartOptions,
  stack: { kubeconfig: string; temporalAddress: string; helmBin: string; localCluster: boolean },
): string[] {
  const args = [
    'worker/main.ts',
    '--kubeconfig',
    stack.kubeconfig,
    '--helm-bin',
    stack.helmBin,
    '--temporal-address',
    stack.temporalAddress,
    '--http-port',
    String(opts.httpPort),
    '--task-queue',
    opts.taskQueue,
  ];
  if (opts.context) args.push('--context', opts.context);
  if (stack.localCluster) args.push('--local-health-standin');
  return args;
}

const say = (line: string) => console.log(`start: ${line}`);

async function main(): Promise<void> {
  const opts = startOptions();
  if (opts.help) return void console.log(HELP);

  await ensureTools(opts.kubeconfig ? ['temporal', 'helm'] : ['temporal', 'kwok', 'etcd', 'kubernetes', 'helm']);
  let temporal: DevServer | undefined;
  let cluster: LocalCluster | undefined;
  let worker: ResultPromise | undefined;
  let stopping = false;
  const shutdown = async (why: string) => {
    if (stopping) return;
    stopping = true;
    say(`${why}: stopping the worker, the Temporal dev server and the local cluster (state stays in .data/)`);
    worker?.kill('SIGINT');
    await worker?.catch(() => undefined);
    await temporal?.stop();
    await cluster?.stop();
    say('stopped');
  };
  // `on`, not `once`: execa's signal-exit re-raises a signal that has no other listener left.
  process.on('SIGINT', () => void shutdown('Ctrl-C'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    temporal = await startDevServer({
      port: opts.temporalPort,
      uiPort: opts.uiPort,
      dbFile: join(dataDir, 'temporal', 'temporal.db'),
      logFile: join(dataDir, 'temporal', 'server.log'),
      portHint: 'pass --temporal-port/--ui-port (or set TEMPORAL_PORT/TEMPORAL_UI_PORT)',
    });
    say(`Temporal dev server at ${temporal.address}; Web UI: ${temporal.uiUrl}`);

    let kubeconfig = opts.kubeconfig;
    if (!kubeconfig) {
      cluster = await createLocalCluster({ ...devClusterRef(), log: (line) => say(line) });
      kubeconfig = cluster.kubeconfigPath;
      say(`local cluster ${cluster.server} (${cluster.action}); kubeconfig: ${kubeconfig}`);
      say(`  kubectl: export KUBECONFIG=${kubeconfig}`);
    }

    // Only the project's own local cluster gets the stand-in (the worker refuses it for any other).
    const args = workerArgs(opts, {
      kubeconfig,
      temporalAddress: temporal.address,
      helmBin: toolPath('helm'),
      localCluster: cluster !== undefined,
    });
    worker = execa(process.execPath, args, { cwd: repo, stdio: 'inherit', reject: false, env: workerProcessEnv() });
    const probe = cluster
      ? 'local stand-in (kwok pods never answer HTTP; image tag :unhealthy answers 503)'
      : 'service proxy';
    say(
      `worker started (task queue "${opts.taskQueue}", /health probes: ${probe}, /metrics and /health on http://127.0.0.1:${opts.httpPort})`,
    );
    await ensureSchedule(temporal.address, opts.taskQueue);
    await ensureController(temporal.address, opts.taskQueue);
    say(`Web UI: ${temporal.uiUrl} (Start Workflow: type platformHealth, task queue ${opts.taskQueue}, input {})`);
    say('try these first, in this order:');
    for (const c of tryFirstCommands({
      temporalAddress: temporal.address,
      uiUrl: temporal.uiUrl,
      taskQueue: opts.taskQueue,
    })) {
      say(`  ${c.command}    # ${c.what}`);
    }
    say('Ctrl-C stops everything');
    const result = await worker;
    if (!stopping) {
      await shutdown(`the worker exited (code ${result.exitCode})`);
      process.exitCode = result.exitCode || 1;
    }
  } catch (err) {
    console.error(`start: ${(err as Error).message}`);
    await shutdown('error');
    process.exitCode = 1;
  }
}

/** The nightly backup and monthly security audit schedules, created or updated (the same functions as `npm run schedules`); a failure is reported, not fatal. */
async function ensureSchedule(address: string, taskQueue: string): Promise<void> {
  try {
    const client = await connectClient({ address, namespace: 'default', taskQueue });
    const outcome = await ensureNightlyBackupSchedule(client, {
      taskQueue,
      input: nightlyInputFromEnv(),
      ...(process.env.RUNBOOK_BACKUP_TIME_ZONE ? { timeZone: process.env.RUNBOOK_BACKUP_TIME_ZONE } : {}),
    });
    say(`schedule ${NIGHTLY_BACKUP_SCHEDULE} ${outcome} (backupPlatform at 02:00; see README "Backups")`);
    say(
      `schedule ${SECURITY_AUDIT_SCHEDULE} ${await ensureSecurityAuditSchedule(client, { taskQueue })} (securityAudit at 04:00 on the 1st; see README "Security audit")`,
    );
    await client.connection.close();
  } catch (err) {
    say(`schedules ${NIGHTLY_BACKUP_SCHEDULE}/${SECURITY_AUDIT_SCHEDULE} not created: ${(err as Error).message}`);
  }
}

/** The TaskRun controller of the orchestrator namespace (a no-op when it runs) and its weekly cleanup schedule; failures are reported, not fatal. */
async function ensureController(address: string, taskQueue: string): Promise<void> {
  try {
    const client = await connectClient({ address, namespace: 'default', taskQueue });
    const { workflowId } = await ensureTaskRunController(client, { taskQueue, input: { namespace: 'orchestrator' } });
    // A controller started earlier on another task queue keeps it (one controller per namespace): say so.
    const running = await client.workflow.getHandle(workflowId).describe();
    if (running.taskQueue !== taskQueue) {
      say(
        `warning: ${workflowId} already runs on task queue "${running.taskQueue}", where this worker does not poll; terminate it (temporal workflow terminate --workflow-id ${workflowId}) and start again`,
      );
    }
    const outcome = await ensureTaskRunCleanupSchedule(client, { taskQueue, input: { namespace: 'orchestrator' } });
    await client.connection.close();
    say(
      `TaskRun controller ${workflowId} running; schedule ${CLEANUP_SCHEDULE} ${outcome} (see README "TaskRun controller")`,
    );
  } catch (err) {
    say(`TaskRun controller not started: ${(err as Error).message}`);
  }
}

// Run as `npm start`; imported (by tests), it only exports its pieces.
if (import.meta.main) await main();
