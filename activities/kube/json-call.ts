// A lean JSON call to the API server for hot loops (a restore's two writes per TaskRun, thousands of
// them): undici's request() on the same pooled connections and credentials as client-node's clients,
// without client-node's fetch, request-context and serializer layers, which cost the worker more CPU per
// call than the API server spends on it (`npm run bench -- restore-steps --protocols h1,json`).
// Errors are client-node's ApiException, so kubeCall/toKubeFailure classify them as any other call's.
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import { request, type Dispatcher } from 'undici';

export type KubeJsonCall = (
  method: 'GET' | 'POST' | 'PUT' | 'PATCH',
  path: string,
  body?: unknown,
  contentType?: string,
) => Promise<unknown>;

interface Credentials {
  headers: Record<string, string>;
  dispatcher?: Dispatcher;
}

/** Credentials are read again after this long: a token file (in a pod) or an exec plugin's token rotates. */
const CREDENTIALS_TTL_MS = 30_000;

/** Calls on `config`'s current cluster and user (the pooled copy of makeKubeClients: its dispatcher is kept). */
export function kubeJsonCall(config: KubeConfig): KubeJsonCall {
  const server = (config.getCurrentCluster()?.server ?? '').replace(/\/+$/, '');
  let credentials: Promise<Credentials> | undefined;
  let readAt = 0;
  const read = async (): Promise<Credentials> => {
    const found: Credentials = { headers: {} };
    // What client-node applies to each of its requests: auth headers and the (pooled) TLS dispatcher.
    await config.applySecurityAuthentication({
      setHeaderParam: (key: string, value: string) => void (found.headers[key] = value),
      setDispatcher: (dispatcher: Dispatcher) => void (found.dispatcher = dispatcher),
    } as unknown as Parameters<KubeConfig['applySecurityAuthentication']>[0]);
    return found;
  };
  return async (method, path, body, contentType = 'application/json') => {
    if (!credentials || Date.now() - readAt > CREDENTIALS_TTL_MS) {
      readAt = Date.now();
      credentials = read();
      credentials.catch(() => (credentials = undefined));
    }
    const { headers, dispatcher } = await credentials;
    const response = await request(server + path, {
      method,
      dispatcher,
      headers: {
        ...headers,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': contentType }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.body.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON (a proxy's error page): kept as text for the error message.
    }
    if (response.statusCode >= 400)
      throw new ApiException(
        response.statusCode,
        `${method} ${path}`,
        parsed,
        response.headers as Record<string, string>,
      );
    return parsed;
  };
}
