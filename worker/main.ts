// The worker process: config -> logging -> cluster connection -> Temporal -> Worker, plus
// /metrics and /health. Stops cleanly on SIGINT/SIGTERM (the SDK drains in-flight tasks).
import { assertSupportedNode } from './node-version.ts';

assertSupportedNode();

const { parseWorkerConfig, WORKER_HELP } = await import('./config.ts');
const { createLogger, installTemporalRuntimeLogger } = await import('./logger.ts');
const { loadKubeConfig, makeKubeClients } = await import('../activities/kube/client.ts');
const { createActivities } = await import('../activities/index.ts');
const { localStandinRefusal } = await import('../activities/health-probe.ts');
const { NativeConnection } = await import('@temporalio/worker');
const { createRunbookWorker } = await import('./worker.ts');
const { startHttpServer } = await import('./http.ts');
const { registry } = await import('./metrics.ts');

let config;
try {
  config = parseWorkerConfig(process.argv.slice(2), process.env);
} catch (err) {
  console.error(`worker: ${(err as Error).message}\n\n${WORKER_HELP}`);
  process.exit(2);
}
if (config === 'help') {
  console.log(WORKER_HELP);
  process.exit(0);
}

const logger = createLogger(config.logLevel);
installTemporalRuntimeLogger(logger);

try {
  const kubeTarget = { kubeconfigPath: config.kubeconfigPath, ...(config.kubeContext ? { context: config.kubeContext } : {}) };
  const kubeConfig = loadKubeConfig(kubeTarget);
  const kube = makeKubeClients(kubeConfig);
  if (config.localHealthStandin) {
    const refusal = localStandinRefusal(kubeConfig.getCurrentCluster()?.server, kubeConfig.getCurrentContext());
    if (refusal) throw new Error(refusal);
  }
  const connection = await NativeConnection.connect({ address: config.temporalAddress }).catch((err: Error) => {
    throw new Error(`cannot reach Temporal at ${config.temporalAddress}: ${err.message} (is the dev server running? \`npm start\` starts one)`);
  });
  const worker = await createRunbookWorker({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    activities: createActivities({ kube, kubeTarget, helmBin: config.helmBin, workdir: process.cwd(), backupDir: config.backupDir, secretSources: config.secretSources, backupKeys: config.backupKeys, localHealthStandin: config.localHealthStandin, probeAllowLinkLocal: config.probeAllowLinkLocal, logger: logger.child({ component: 'activities' }) }),
  });
  const http = await startHttpServer(config.httpPort, config.httpHost, registry, { workerState: () => worker.getState() });
  logger.info(
    { temporal: config.temporalAddress, namespace: config.temporalNamespace, taskQueue: config.taskQueue, cluster: kubeConfig.getCurrentCluster()?.server, context: kubeConfig.getCurrentContext(), http: `http://${config.httpHost}:${http.port}`,
      healthProbe: config.localHealthStandin ? 'local-standin (local kwok cluster: /health answered from the Ready pods\' image; tag :unhealthy answers 503)' : 'service-proxy' },
    'worker started',
  );
  await worker.run();
  http.server.close();
  await connection.close();
  logger.info('worker stopped');
} catch (err) {
  logger.error({ err }, `worker failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
