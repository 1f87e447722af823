// A loopback HTTP server standing in for the orchestrator's /health, which the local cluster's
// simulated pods cannot serve: /health answers 200, /broken answers 500.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function startProbeServer(): Promise<{ url: (path: string) => string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const ok = req.url === '/health';
    res.writeHead(ok ? 200 : 500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: ok ? 'healthy' : 'unhealthy', version: 'test' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
