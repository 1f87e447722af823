// The CLI's Temporal connection, from the Temporal CLI's environment variables: TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_CERT / _KEY / _CA (files) or
// TEMPORAL_TLS_CERT_DATA / _KEY_DATA / _CA_DATA (PEM), TEMPORAL_TLS_SERVER_NAME; plus the task queue.
import { readFileSync } from 'node:fs';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { DEFAULT_TASK_QUEUE } from '../contract/task-queue.ts';

export interface ClientSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  /** TLS (with a client certificate and/or a private CA), or undefined for plain text. */
  tls?: { clientCert?: Buffer; clientKey?: Buffer; serverCa?: Buffer; serverName?: string };
  apiKey?: string;
}

function pem(env: NodeJS.ProcessEnv, name: string): Buffer | undefined {
  const data = env[`${name}_DATA`];
  if (data) return Buffer.from(data);
  const file = env[name];
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`${name}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

export function clientSettings(env: NodeJS.ProcessEnv = process.env): ClientSettings {
  const clientCert = pem(env, 'TEMPORAL_TLS_CERT');
  const clientKey = pem(env, 'TEMPORAL_TLS_KEY');
  if (Boolean(clientCert) !== Boolean(clientKey))
    throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (a client certificate needs its key)');
  const serverCa = pem(env, 'TEMPORAL_TLS_CA');
  const serverName = env.TEMPORAL_TLS_SERVER_NAME || undefined;
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  const tlsOn = env.TEMPORAL_TLS === 'true' || env.TEMPORAL_TLS === '1';
  const tlsOff = env.TEMPORAL_TLS === 'false' || env.TEMPORAL_TLS === '0';
  // As the Temporal CLI: a certificate, a CA or an API key turns TLS on unless TEMPORAL_TLS=false.
  const tls =
    !tlsOff && (tlsOn || clientCert || serverCa || serverName || apiKey)
      ? {
          ...(clientCert ? { clientCert } : {}),
          ...(clientKey ? { clientKey } : {}),
          ...(serverCa ? { serverCa } : {}),
          ...(serverName ? { serverName } : {}),
        }
      : undefined;
  return {
    address: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: env.RUNBOOK_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
    ...(tls ? { tls } : {}),
    ...(apiKey ? { apiKey } : {}),
  };
}

/** The SDK's connection options for these settings (secrets stay out of error messages). */
export function connectionOptions(settings: ClientSettings): ConnectionOptions {
  const t = settings.tls;
  return {
    address: settings.address,
    ...(t
      ? {
          tls: {
            ...(t.clientCert && t.clientKey ? { clientCertPair: { crt: t.clientCert, key: t.clientKey } } : {}),
            ...(t.serverCa ? { serverRootCACertificate: t.serverCa } : {}),
            ...(t.serverName ? { serverNameOverride: t.serverName } : {}),
          },
        }
      : {}),
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
  };
}

export async function connectClient(settings: ClientSettings): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(settings)).catch((err: Error) => {
    throw new Error(
      `cannot reach Temporal at ${settings.address}: ${err.message} (start it with \`npm start\`, or set TEMPORAL_ADDRESS)`,
    );
  });
  return new Client({ connection, namespace: settings.namespace });
}
