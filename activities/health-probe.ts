// The orchestrator's /health: through the API server's service proxy (what `kubectl
// port-forward svc/orchestrator` + curl does by hand), or at a URL the operator gives.
import type { ServiceProbeReport } from '../workflows/types/platform-health.ts';
import type { KubeClients } from './kube/client.ts';
import { isStatus, statusMessage, toKubeFailure } from './errors.ts';
import { ApiException } from '@kubernetes/client-node';

const PROBE_TIMEOUT_MS = 5000;

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text.slice(0, 500);
  }
}

export async function probeUrl(url: string): Promise<ServiceProbeReport> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    const body = parseBody(await response.text());
    return {
      checked: true,
      via: 'url',
      target: url,
      ok: response.ok,
      statusCode: response.status,
      body,
      detail: response.ok ? `${url} answered ${response.status}` : `${url} answered ${response.status}: unhealthy`,
    };
  } catch (err) {
    const reason = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    return { checked: true, via: 'url', target: url, ok: false, detail: `${url} did not answer: ${reason}` };
  }
}

async function serviceExists(kube: KubeClients, namespace: string, name: string): Promise<boolean> {
  try {
    await kube.core.readNamespacedService({ namespace, name });
    return true;
  } catch (err) {
    if (isStatus(err, 404)) return false;
    throw toKubeFailure(err, `read Service ${namespace}/${name}`);
  }
}

export async function probeServiceProxy(
  kube: KubeClients,
  namespace: string,
  service: string,
  path: string,
): Promise<ServiceProbeReport> {
  if (!(await serviceExists(kube, namespace, service))) {
    return { checked: false, ok: false, detail: `no Service ${namespace}/${service}: nothing to probe` };
  }
  const target = `service proxy ${namespace}/${service}${path}`;
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS).unref(),
  );
  try {
    const text = await Promise.race([
      kube.core.connectGetNamespacedServiceProxyWithPath({ namespace, name: service, path: path.replace(/^\//, '') }),
      timeout,
    ]);
    return { checked: true, via: 'service-proxy', target, ok: true, statusCode: 200, body: parseBody(String(text)), detail: `${target} answered 200` };
  } catch (err) {
    const statusCode = err instanceof ApiException ? err.code : undefined;
    const reason = err instanceof ApiException ? (statusMessage(err.body) ?? `HTTP ${err.code}`) : err instanceof Error ? err.message : String(err);
    return {
      checked: true,
      via: 'service-proxy',
      target,
      ok: false,
      ...(statusCode ? { statusCode } : {}),
      detail: `${target} did not answer: ${reason}. No pod behind the Service answered HTTP (on the local kwok cluster pods are simulated and never answer; pass healthUrl to probe elsewhere)`,
    };
  }
}
