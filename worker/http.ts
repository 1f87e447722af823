// /metrics (Prometheus), /health (is the worker running: liveness) and /ready (is it polling its
// task queue: readiness) on one small HTTP server.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthState {
  /** The worker's state as reported by the SDK (RUNNING, STOPPING, ...). */
  workerState(): string;
  /** The worker has polled its task queue (the SDK's first poll succeeded); /ready answers 503 until then. */
  polling?(): boolean;
}

/** What /metrics serves: prom-client's registry, or metricsWithSdk() (worker/sdk-metrics.ts) around it. */
export type MetricsSource = Pick<Registry, 'contentType' | 'metrics'>;

export async function startHttpServer(
  port: number,
  host: string,
  registry: MetricsSource,
  health: HealthState,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    void (async () => {
      if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(await registry.metrics());
      } else if (req.url === '/health') {
        const state = health.workerState();
        const ok = state === 'RUNNING';
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: ok ? 'healthy' : 'unhealthy', worker: state }));
      } else if (req.url === '/ready') {
        const state = health.workerState();
        const ready = state === 'RUNNING' && (health.polling?.() ?? true);
        res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: ready ? 'ready' : 'not-ready', worker: state }));
      } else {
        res.writeHead(404).end();
      }
    })().catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`port ${port} (worker /metrics and /health) is busy: pass --http-port or stop what holds it`)
          : err,
      ),
    );
    server.listen(port, host, resolve);
  });
  return { server, port: (server.address() as AddressInfo).port };
}
