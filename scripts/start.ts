// `npm start`: the main job on the embedded default. Tools -> Temporal dev server (state in
// .data/temporal) -> local cluster (.data/cluster) -> worker (task queue `runbooks`).
// Ctrl-C stops everything cleanly; running it again reuses .data/.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa, type ResultPromise } from 'execa';
import { ensureTools, toolPath } from './stack/tools.ts';
import { startDevServer, type DevServer } from './stack/temporal-dev-server.ts';
import { createLocalCluster, devClusterRef, type LocalCluster } from './stack/local-cluster.ts';
import { connectClient } from '../client/connection.ts';
import { ensureNightlyBackupSchedule, nightlyInputFromEnv, NIGHTLY_BACKUP_SCHEDULE } from '../client/schedules.ts';
import { CLEANUP_SCHEDULE, ensureTaskRunCleanupSchedule, ensureTaskRunController } from '../client/taskrun-controller.ts';

const HELP = `Usage: npm start [-- options]

Starts the local stack and the runbook worker:
  1. builds the pinned tools on first use (about 16-25 minutes, once; cached in ~/.cache/platform-runbooks)
  2. a Temporal dev server with its Web UI (state in .data/temporal)
  3. the local Kubernetes cluster (kwok, 3 nodes; state in .data/cluster)
  4. the worker on task queue "runbooks", acting on that cluster

Options (environment variable in brackets):
  --temporal-port PORT   Temporal frontend [TEMPORAL_PORT] (default 7233)
  --ui-port PORT         Temporal Web UI [TEMPORAL_UI_PORT] (default 8233)
  --http-port PORT       worker /metrics and /health [RUNBOOK_HTTP_PORT] (default 9464)
  --kubeconfig FILE      act on this cluster instead of the local one (no local cluster is started)
  --context NAME         context in --kubeconfig
  -h, --help             this help
`;

const repo = fileURLToPath(new URL('..', import.meta.url));
const dataDir = join(repo, '.data');

function options() {
  const { values } = parseArgs({
    options: {
      'temporal-port': { type: 'string' }, 'ui-port': { type: 'string' }, 'http-port': { type: 'string' },
      kubeconfig: { type: 'string' }, context: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const port = (flag: string, value: string | undefined, fallback: number) => {
    const n = Number(value ?? fallback);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`--${flag}: ${value} is not a port number`);
    return n;
  };
  return {
    help: values.help ?? false,
    temporalPort: port('temporal-port', values['temporal-port'] ?? process.env.TEMPORAL_PORT, 7233),
    uiPort: port('ui-port', values['ui-port'] ?? process.env.TEMPORAL_UI_PORT, 8233),
    httpPort: port('http-port', values['http-port'] ?? process.env.RUNBOOK_HTTP_PORT, 9464),
    kubeconfig: values.kubeconfig,
    context: values.context,
  };
}

const say = (line: string) => console.log(`start: ${line}`);

async function main(): Promise<void> {
  const opts = options();
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
      port: opts.temporalPort, uiPort: opts.uiPort, dbFile: join(dataDir, 'temporal', 'temporal.db'),
      logFile: join(dataDir, 'temporal', 'server.log'), portHint: 'pass --temporal-port/--ui-port (or set TEMPORAL_PORT/TEMPORAL_UI_PORT)',
    });
    say(`Temporal dev server at ${temporal.address}; Web UI: ${temporal.uiUrl}`);

    let kubeconfig = opts.kubeconfig;
    if (!kubeconfig) {
      cluster = await createLocalCluster({ ...devClusterRef(), log: (line) => say(line) });
      kubeconfig = cluster.kubeconfigPath;
      say(`local cluster ${cluster.server} (${cluster.action}); kubeconfig: ${kubeconfig}`);
      say(`  kubectl: export KUBECONFIG=${kubeconfig}`);
    }

    const args = ['worker/main.ts', '--kubeconfig', kubeconfig, '--helm-bin', toolPath('helm'), '--temporal-address', temporal.address, '--http-port', String(opts.httpPort)];
    if (opts.context) args.push('--context', opts.context);
    worker = execa(process.execPath, args, { cwd: repo, stdio: 'inherit', reject: false });
    say(`worker started (task queue "runbooks", /metrics and /health on http://127.0.0.1:${opts.httpPort})`);
    await ensureSchedule(temporal.address);
    await ensureController(temporal.address);
    say(`try it: open ${temporal.uiUrl}, Start Workflow -> type platformHealth, task queue runbooks, input {}`);
    say(`    or: npm run runbook -- start platformHealth`);
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

/** The nightly backup schedule, created or updated (the same function as `npm run schedules`); a failure is reported, not fatal. */
async function ensureSchedule(address: string): Promise<void> {
  try {
    const client = await connectClient({ address, namespace: 'default', taskQueue: 'runbooks' });
    const outcome = await ensureNightlyBackupSchedule(client, {
      taskQueue: 'runbooks', input: nightlyInputFromEnv(), ...(process.env.RUNBOOK_BACKUP_TIME_ZONE ? { timeZone: process.env.RUNBOOK_BACKUP_TIME_ZONE } : {}),
    });
    await client.connection.close();
    say(`schedule ${NIGHTLY_BACKUP_SCHEDULE} ${outcome} (backupPlatform at 02:00; see README "Backups")`);
  } catch (err) {
    say(`schedule ${NIGHTLY_BACKUP_SCHEDULE} not created: ${(err as Error).message}`);
  }
}

/** The TaskRun controller of the orchestrator namespace (a no-op when it runs) and its weekly cleanup schedule; failures are reported, not fatal. */
async function ensureController(address: string): Promise<void> {
  try {
    const client = await connectClient({ address, namespace: 'default', taskQueue: 'runbooks' });
    const { workflowId } = await ensureTaskRunController(client, { taskQueue: 'runbooks', input: { namespace: 'orchestrator' } });
    const outcome = await ensureTaskRunCleanupSchedule(client, { taskQueue: 'runbooks', input: { namespace: 'orchestrator' } });
    await client.connection.close();
    say(`TaskRun controller ${workflowId} running; schedule ${CLEANUP_SCHEDULE} ${outcome} (see README "TaskRun controller")`);
  } catch (err) {
    say(`TaskRun controller not started: ${(err as Error).message}`);
  }
}

await main();
