// The SDK's own metrics (the Core runtime's Prometheus exporter: temporal_workflow_task_*,
// temporal_activity_*, pollers, sticky cache...) on the worker's one /metrics endpoint: Core listens
// on a free loopback port, and /metrics appends what it answers to prom-client's registry.
import { createServer } from 'node:net';
import type { MetricsSource } from './http.ts';

/** A free loopback address for the Core exporter (it binds its own server). */
export async function freeLoopbackAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${port}`;
}

export function metricsWithSdk(registry: MetricsSource, sdkAddress: string): MetricsSource {
  return {
    contentType: registry.contentType,
    async metrics() {
      const own = await registry.metrics();
      // The runbook metrics are served even when Core's exporter does not answer.
      const sdk = await fetch(`http://${sdkAddress}/metrics`, { signal: AbortSignal.timeout(2_000) })
        .then((r) => (r.ok ? r.text() : ''))
        .catch(() => '');
      return sdk ? `${own.trimEnd()}\n${sdk}` : own;
    },
  };
}
