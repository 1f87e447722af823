// The worker process: config -> logging -> cluster connection -> Temporal -> Worker, plus
// /metrics and /health. Stops cleanly on SIGINT/SIGTERM (the SDK drains in-flight tasks).
import { assertSupportedNode } from './node-version.ts';

assertSupportedNode();
// V8's heap sized for memory over speed (smaller young generation, slower heap growth), set before
// the modules load: about 14 MB less idle RSS, and the worker waits on the network, not the CPU
// (README "Worker sizing"). The workflow thread, started later, gets it too.
const { setFlagsFromString } = await import('node:v8');
setFlagsFromString('--optimize-for-size');

const { parseWorkerConfig, WORKER_HELP } = await import('./config.ts');
const { createLogger, installTemporalRuntimeLogger } = await import('./logger.ts');
const { loadKubeConfig, loadInClusterKubeConfig, writeInClusterKubeconfig, makeKubeClients } =
  await import('../activities/kube/client.ts');
const { readFileSync, mkdtempSync } = await import('node:fs');
const { tmpdir } = await import('node:os');
const { join } = await import('node:path');
const { createActivities } = await import('../activities/index.ts');
const { stopLiveWatches } = await import('../activities/taskrun/live-watch.ts');
const { localStandinRefusal } = await import('../activities/health-probe.ts');
const { NativeConnection } = await import('@temporalio/worker');
const { createRunbookWorker } = await import('./worker.ts');
const { workflowBundlePath } = await import('./workflow-bundle.ts');
const { startHttpServer } = await import('./http.ts');
const { registry } = await import('../activities/metrics.ts');
const { ensureRunbookSearchAttributes } = await import('./search-attributes.ts');
const { observeVisibility } = await import('./runbook-metrics.ts');
const { Client } = await import('@temporalio/client');

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
const { freeLoopbackAddress, metricsWithSdk } = await import('./sdk-metrics.ts');
const sdkMetricsAddress = await freeLoopbackAddress();
installTemporalRuntimeLogger(logger, 'INFO', sdkMetricsAddress);

try {
  // In a pod with no kubeconfig named: the in-cluster config for the API clients, and for helm a
  // kubeconfig file (in the temp dir: the root file system may be read-only) that points at the same token.
  const kubeTarget =
    config.inCluster || !config.kubeconfigPath
      ? { kubeconfigPath: writeInClusterKubeconfig(mkdtempSync(join(tmpdir(), 'runbook-worker-'))), inCluster: true }
      : { kubeconfigPath: config.kubeconfigPath, ...(config.kubeContext ? { context: config.kubeContext } : {}) };
  const kubeConfig = kubeTarget.inCluster ? loadInClusterKubeConfig() : loadKubeConfig(kubeTarget);
  const kube = makeKubeClients(kubeConfig);
  if (config.localHealthStandin) {
    const refusal = localStandinRefusal(kubeConfig.getCurrentCluster()?.server, kubeConfig.getCurrentContext());
    if (refusal) throw new Error(refusal);
  }
  const tlsFiles = config.temporalTls;
  const tls = tlsFiles && {
    ...(tlsFiles.clientCertPath && tlsFiles.clientKeyPath
      ? { clientCertPair: { crt: readFileSync(tlsFiles.clientCertPath), key: readFileSync(tlsFiles.clientKeyPath) } }
      : {}),
    ...(tlsFiles.serverCaCertPath ? { serverRootCACertificate: readFileSync(tlsFiles.serverCaCertPath) } : {}),
    ...(tlsFiles.serverName ? { serverNameOverride: tlsFiles.serverName } : {}),
  };
  const connection = await NativeConnection.connect({
    address: config.temporalAddress,
    ...(tls ? { tls } : {}),
    ...(config.temporalApiKey ? { apiKey: config.temporalApiKey } : {}),
  }).catch((err: Error) => {
    throw new Error(
      `cannot reach Temporal at ${config.temporalAddress}: ${err.message} (is the dev server running? \`npm start\` starts one)`,
    );
  });
  const searchAttributes = await ensureRunbookSearchAttributes(connection, config.temporalNamespace);
  if (searchAttributes.added.length)
    logger.info(
      { added: searchAttributes.added, namespace: config.temporalNamespace },
      "registered the runbooks' search attributes",
    );
  // runbook_paused and runbook_taskrun_controllers_running are read from visibility at scrape time.
  observeVisibility(new Client({ connection, namespace: config.temporalNamespace }));
  const codePath = await workflowBundlePath();
  const worker = await createRunbookWorker({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    workflowBundle: { codePath },
    sizing: config.sizing,
    activities: createActivities({
      kube,
      kubeTarget,
      helmBin: config.helmBin,
      workdir: process.cwd(),
      backupDir: config.backupDir,
      secretSources: config.secretSources,
      backupKeys: config.backupKeys,
      localHealthStandin: config.localHealthStandin,
      probeAllowLinkLocal: config.probeAllowLinkLocal,
      logger: logger.child({ component: 'activities' }),
    }),
  });
  const http = await startHttpServer(config.httpPort, config.httpHost, metricsWithSdk(registry, sdkMetricsAddress), {
    workerState: () => worker.getState(),
    polling: () => {
      const s = worker.getStatus();
      return s.workflowPollerState === 'POLLING' && s.activityPollerState === 'POLLING';
    },
  });
  logger.info(
    {
      temporal: config.temporalAddress,
      namespace: config.temporalNamespace,
      taskQueue: config.taskQueue,
      cluster: kubeConfig.getCurrentCluster()?.server,
      context: kubeConfig.getCurrentContext(),
      kubeconfig: kubeTarget.inCluster
        ? "in-cluster (the pod's service account; no kubeconfig named)"
        : kubeTarget.kubeconfigPath,
      temporalTls: Boolean(tls),
      temporalApiKey: Boolean(config.temporalApiKey),
      http: `http://${config.httpHost}:${http.port}`,
      healthProbe: config.localHealthStandin
        ? "local-standin (local kwok cluster: /health answered from the Ready pods' image; tag :unhealthy answers 503)"
        : 'service-proxy',
      sizing: {
        ...config.sizing,
        mallocArenaMax: process.env.MALLOC_ARENA_MAX ?? 'glibc default',
        mallocTrimThreshold: process.env.MALLOC_TRIM_THRESHOLD_ ?? 'glibc default',
      },
    },
    'worker started',
  );
  await worker.run();
  // The TaskRun controller's watches stay open between its calls; nothing calls now.
  stopLiveWatches();
  http.server.close();
  await connection.close();
  logger.info('worker stopped');
} catch (err) {
  logger.error({ err }, `worker failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
