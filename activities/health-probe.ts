// The orchestrator's /health: through the API server's service proxy (what `kubectl
// port-forward svc/orchestrator` + curl does by hand), at a URL the operator gives, or, on the
// project's own local cluster only, from the local stand-in (see probeLocalStandin).
import type { ServiceProbeReport } from '../workflows/types/platform-health.ts';
import type { KubeClients } from './kube/client.ts';
import { isStatus, kubeCall, statusMessage, toKubeFailure } from './errors.ts';
import { ApiException, type V1Pod, type V1Service } from '@kubernetes/client-node';

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

async function readService(kube: KubeClients, namespace: string, name: string): Promise<V1Service | undefined> {
  try {
    return await kube.core.readNamespacedService({ namespace, name });
  } catch (err) {
    if (isStatus(err, 404)) return undefined;
    throw toKubeFailure(err, `read Service ${namespace}/${name}`);
  }
}

/**
 * The Service to probe: `name`, else (when a Helm release is given) the one Service of that release
 * (label app.kubernetes.io/instance): the chart names it `<release>-orchestrator` unless the
 * release's name contains "orchestrator".
 */
export async function findService(kube: KubeClients, namespace: string, name: string, release?: string): Promise<V1Service | undefined> {
  const named = await readService(kube, namespace, name);
  if (named || !release) return named;
  const list = await kubeCall(`list Services of release ${release} in ${namespace}`, () =>
    kube.core.listNamespacedService({ namespace, labelSelector: `app.kubernetes.io/instance=${release}` }),
  );
  const items = list.items ?? [];
  return items.length === 1 ? items[0] : undefined;
}

const noService = (namespace: string, service: string, release?: string): ServiceProbeReport => ({
  checked: false, ok: false,
  detail: `no Service ${namespace}/${service}${release ? ` (nor one Service of release ${release})` : ''}: nothing to probe`,
});

export async function probeServiceProxy(
  kube: KubeClients,
  namespace: string,
  serviceName: string,
  path: string,
  release?: string,
): Promise<ServiceProbeReport> {
  const found = await findService(kube, namespace, serviceName, release);
  if (!found) return noService(namespace, serviceName, release);
  const service = found.metadata?.name ?? serviceName;
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

/**
 * The image tag that makes the local stand-in answer 503 {"status":"unhealthy"}: pods of it become
 * Ready (a rollout succeeds), but the platform's /health says it is not healthy, so a smoke test fails.
 * (":broken", a kwok Stage, is the other simulated failure: pods that never become ready.)
 */
export const UNHEALTHY_IMAGE_TAG = 'unhealthy';

/** The tag (or digest) of an image reference; "latest" when it has neither. */
export function imageVersion(image: string): string {
  const at = image.indexOf('@');
  if (at >= 0) return image.slice(at + 1);
  const lastSlash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > lastSlash ? image.slice(colon + 1) : 'latest';
}

const podReady = (pod: V1Pod) =>
  !pod.metadata?.deletionTimestamp && pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/**
 * What the service proxy would answer for `path` of this Service if the orchestrator's pods served
 * HTTP, computed from the API server: the Service's Ready pods (as its endpoints would be), the
 * newest of them (after a rollout: the new version), and the image of its container that serves the
 * Service's target port. /health answers as the operations guide documents it:
 * 200 {"status":"healthy","version":<image tag>,"timestamp"}, or 503 {"status":"unhealthy",...}
 * for the image tag ":unhealthy"; no Ready pod is a 503 (no endpoints), another path a 404.
 *
 * Only for the project's own local cluster (kwok: its pods never answer HTTP), where the worker runs
 * with --local-health-standin (RUNBOOK_LOCAL_HEALTH=1), as `npm start` starts it.
 */
export async function probeLocalStandin(
  kube: KubeClients,
  namespace: string,
  serviceName: string,
  path: string,
  release?: string,
): Promise<ServiceProbeReport> {
  const service = await findService(kube, namespace, serviceName, release);
  if (!service) return noService(namespace, serviceName, release);
  const name = service.metadata?.name ?? serviceName;
  const target = `local stand-in for service proxy ${namespace}/${name}${path}`;
  const base = { checked: true, via: 'local-standin' as const, target };
  const selector = Object.entries(service.spec?.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = selector
    ? (await kubeCall(`list pods of Service ${namespace}/${name}`, () => kube.core.listNamespacedPod({ namespace, labelSelector: selector }))).items ?? []
    : [];
  const ready = pods.filter(podReady).sort((a, b) =>
    String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
  );
  const pod = ready[0];
  if (!pod) {
    return { ...base, ok: false, statusCode: 503, detail: `${target} answered 503: no Ready pod behind the Service (${pods.length} pods), so no endpoint would answer` };
  }
  const podName = pod.metadata?.name ?? '';
  if (path.replace(/\/+$/, '') !== '/health') {
    return { ...base, ok: false, statusCode: 404, detail: `${target} answered 404: the local stand-in answers only /health` };
  }
  const port = service.spec?.ports?.[0]?.targetPort ?? service.spec?.ports?.[0]?.port;
  const containers = pod.spec?.containers ?? [];
  const container = containers.find((c) => (c.ports ?? []).some((p) => p.containerPort === port || (p.name !== undefined && p.name === port))) ?? containers[0];
  const version = imageVersion(container?.image ?? '');
  const healthy = version !== UNHEALTHY_IMAGE_TAG;
  const statusCode = healthy ? 200 : 503;
  const body = { status: healthy ? 'healthy' : 'unhealthy', version, timestamp: new Date().toISOString() };
  const from = `pod ${podName}, image ${container?.image ?? '?'}`;
  return {
    ...base, ok: healthy, statusCode, body,
    detail: healthy ? `${target} answered ${statusCode} (${from})` : `${target} answered ${statusCode}: unhealthy (${from}; the image tag ":${UNHEALTHY_IMAGE_TAG}" simulates an unhealthy platform)`,
  };
}

/**
 * Why the local stand-in may not be used with this cluster, or undefined when it may: only a
 * kwok cluster on this machine (a loopback API server, a `kwok-` context: the project's own local
 * cluster, as `npm start` and the tests create it) has pods that cannot answer HTTP; on any
 * other cluster the stand-in would report a health it never measured.
 */
export function localStandinRefusal(server: string | undefined, context: string): string | undefined {
  let host = '';
  try {
    host = new URL(server ?? '').hostname.replace(/^\[|\]$/g, '');
  } catch {
    // not a URL: refused below
  }
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
  if (loopback && context.startsWith('kwok-')) return undefined;
  return `--local-health-standin is only for the project's own local kwok cluster (a 127.0.0.1 API server and a kwok-* context), not ${server ?? 'an unknown server'} (context ${context || 'none'}): on a real cluster /health is probed through the service proxy`;
}
