// TCP port helpers for the local stack. Everything listens on 127.0.0.1 only.
import { createServer } from 'node:net';

/** Tries to listen on host:port; resolves the bound port, or rejects with the listen error. */
function listenOnce(port: number, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A port that was free a moment ago (the OS picks it from the ephemeral range). Another process
 * may still take it before you bind it; for tests beside a user's stack that race is acceptable.
 */
export function freePort(): Promise<number> {
  return listenOnce(0);
}

/** `count` distinct free ports (the OS rarely repeats itself, but make sure). */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/**
 * Throws a clear error when `port` on 127.0.0.1 is taken, naming what wanted it and, via `hint`,
 * how to choose another one (e.g. 'set TEMPORAL_PORT').
 */
export async function assertPortFree(port: number, what: string, hint = 'choose another port'): Promise<void> {
  try {
    await listenOnce(port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new Error(`port ${port} (${what}) is busy: stop whatever holds it or ${hint}`, { cause: err });
    }
    throw new Error(`port ${port} (${what}) cannot be used: ${(err as Error).message}`, { cause: err });
  }
}
