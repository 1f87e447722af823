// npm run cluster -- up|stop|down|status [--nodes N] [--name NAME]
// Manages the project's local development cluster (kwok, state under .data/cluster).
import { parseArgs } from 'node:util';
import {
  clusterStatus,
  createLocalCluster,
  deleteLocalCluster,
  devClusterRef,
  stopLocalCluster,
} from './stack/local-cluster.ts';
import { ensureTools } from './stack/tools.ts';

const usage = `Usage: npm run cluster -- <command> [options]

Commands:
  up       create the cluster, or start it if stopped (idempotent); prints the kubeconfig path
  stop     stop the cluster's processes, keeping its state
  down     stop the cluster and delete all of its state
  status   show whether it exists and runs, and how many nodes are Ready

Options:
  --nodes N     simulated nodes for 'up' (default: 3 when creating, unchanged otherwise)
  --name NAME   cluster name (default platform-runbooks; state under .data/cluster)
  -h, --help    show this help

Use it:  export KUBECONFIG=$(npm run -s cluster -- up)   (progress goes to stderr)`;

function fail(message: string): never {
  console.error(`cluster: ${message}`);
  process.exit(1);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { nodes: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    fail(`${(err as Error).message}\n\n${usage}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return void console.log(usage);
  const [command, ...extra] = positionals;
  if (!command || extra.length > 0) fail(`expected exactly one command\n\n${usage}`);
  const name = values.name ?? 'platform-runbooks';
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name))
    fail(`--name '${name}' must be lowercase letters, digits and dashes`);
  // Without --nodes, 'up' creates 3 nodes and leaves an existing cluster's count alone.
  const nodes = values.nodes === undefined ? undefined : Number(values.nodes);
  if (nodes !== undefined && (!Number.isInteger(nodes) || nodes < 1 || nodes > 1000))
    fail(`--nodes '${values.nodes}' must be an integer from 1 to 1000`);
  const ref = devClusterRef(name);

  switch (command) {
    case 'up': {
      // Progress to stderr so that stdout is just the kubeconfig path.
      const log = (line: string) => console.error(`cluster: ${line}`);
      await ensureTools(['kwok', 'etcd', 'kubernetes'], { progressTo: 'stderr' });
      const started = Date.now();
      const cluster = await createLocalCluster({ ...ref, nodes, log });
      log(`${cluster.action} '${name}' (${cluster.server}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      log(`kubeconfig: ${cluster.kubeconfigPath}`);
      console.log(cluster.kubeconfigPath);
      return;
    }
    case 'stop':
      await stopLocalCluster(ref);
      return void console.error(`cluster: '${name}' stopped (state kept in ${ref.dataDir})`);
    case 'down':
      await deleteLocalCluster(ref);
      return void console.error(`cluster: '${name}' deleted`);
    case 'status': {
      const s = await clusterStatus(ref);
      if (!s.exists) return void console.log(`'${name}': absent (npm run cluster -- up creates it)`);
      const components = Object.entries(s.components)
        .map(([c, st]) => `${c}=${st}`)
        .join(' ');
      console.log(
        s.running
          ? `'${name}': running; nodes Ready ${s.nodes.ready}/${s.nodes.total}`
          : `'${name}': not running (npm run cluster -- up starts it)`,
      );
      console.log(`components: ${components || '(none)'}`);
      console.log(`kubeconfig: ${s.kubeconfigPath}`);
      return;
    }
    default:
      fail(`unknown command '${command}'\n\n${usage}`);
  }
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
