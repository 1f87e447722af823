// The orchestrator's /health: through the API server's service proxy (what `kubectl
// port-forward svc/orchestrator` + curl does by hand), at a URL the operator gives, or, on the
// project's own local cluster only, from the local stand-in (see probeLocalStandin).
//
// A healthUrl comes from a workflow input, so it must not widen the worker's reach: link-local
// addresses (169.254.0.0/16, fe80::/10) are refused after DNS resolution (checked on every connection,
// so a name that resolves elsewhere later cannot slip through), cloud metadata endpoints always;
// redirects are never followed; the report keeps the status code and the documented fields of the
// body (status, version, timestamp), never the raw body.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { INVALID_INPUT } from '../contract/failures.ts';
import type { ServiceProbeReport } from '../contract/types/platform-health.ts';
import { METADATA_ADDRESSES, METADATA_HOSTS } from '../contract/types/common.ts';
import type { KubeClients } from './kube/client.ts';
import { isStatus, kubeCall, statusMessage, toKubeFailure } from './errors.ts';
import { ApiException, type V1Pod, type V1Service } from '@kubernetes/client-node';

const PROBE_TIMEOUT_MS = 5000;
/** At most this much of a /health body is read. */
const MAX_BODY_BYTES = 64 * 1024;
/** The fields of /health the operations guide documents; nothing else of a body is kept. */
export const HEALTH_BODY_FIELDS = ['status', 'version', 'timestamp'] as const;
const MAX_FIELD_CHARS = 200;

/** What a healthUrl may reach besides ordinary addresses (the worker's --probe-allow-link-local). */
export interface ProbePolicy {
  allowLinkLocal?: boolean;
  /** The resolver (tests give their own; default dns.lookup). */
  resolve?: (
    hostname: string,
    options: { all: true },
    callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
  ) => void;
}

const LINK_LOCAL = new BlockList();
LINK_LOCAL.addSubnet('169.254.0.0', 16, 'ipv4');
LINK_LOCAL.addSubnet('fe80::', 10, 'ipv6');
/** Cloud metadata endpoints: never probed, whatever the configuration says. */
const METADATA = new BlockList();
for (const address of METADATA_ADDRESSES) METADATA.addAddress(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
const METADATA_HOST_NAMES = new Set(METADATA_HOSTS);

/** Why an address may not be probed, or undefined when it may. */
export function addressRefusal(address: string, policy: ProbePolicy = {}): string | undefined {
  let ip = address.replace(/^\[|\]$/g, '');
  let family = isIP(ip);
  if (family === 0) return undefined;
  // An IPv4-mapped IPv6 address is its IPv4 address.
  const mapped = family === 6 ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip) : null;
  if (mapped) {
    ip = mapped[1]!;
    family = 4;
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (METADATA.check(ip, type)) return `${ip} is a cloud metadata address`;
  if (LINK_LOCAL.check(ip, type) && !policy.allowLinkLocal)
    return `${ip} is a link-local address (the worker's --probe-allow-link-local allows link-local addresses)`;
  return undefined;
}

/** Why a host name may not be probed before it is resolved (metadata names), or undefined. */
export function hostRefusal(hostname: string, policy: ProbePolicy = {}): string | undefined {
  const host = hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  if (METADATA_HOST_NAMES.has(host)) return `${host} is a cloud metadata host`;
  return addressRefusal(host, policy);
}

class ProbeRefused extends Error {}

/** dns.lookup that refuses link-local/metadata results: every connection of the request goes through it. */
function checkedLookup(policy: ProbePolicy): LookupFunction {
  return (hostname, options, callback) => {
    const resolve = policy.resolve ?? ((host, opts, cb) => dnsLookup(host, { ...options, ...opts }, cb));
    resolve(hostname, { all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const list = addresses;
      const refused = list.map((a) => addressRefusal(a.address, policy)).find(Boolean);
      if (refused) return callback(new ProbeRefused(`${hostname} resolves to ${refused}`) as NodeJS.ErrnoException, '');
      if (options.all) return callback(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

/** Only the documented fields of a JSON /health body (short strings); undefined when none. */
export function healthBodyFields(text: string): Record<string, string> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const fields: Record<string, string> = {};
  for (const key of HEALTH_BODY_FIELDS) {
    const value = (parsed as Record<string, unknown>)[key];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      fields[key] = String(value).slice(0, MAX_FIELD_CHARS);
  }
  return Object.keys(fields).length ? fields : undefined;
}

const refusedFailure = (url: string, why: string) =>
  ApplicationFailure.create({
    type: INVALID_INPUT,
    nonRetryable: true,
    message: `healthUrl: ${url} refused: ${why}; a health URL may not reach link-local or cloud metadata addresses`,
  });

function get(url: URL, policy: ProbePolicy): Promise<{ response: IncomingMessage; text: string }> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      {
        method: 'GET',
        lookup: checkedLookup(policy),
        timeout: PROBE_TIMEOUT_MS,
        headers: { accept: 'application/json' },
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if (size >= MAX_BODY_BYTES) return;
          chunks.push(chunk);
          size += chunk.length;
          if (size >= MAX_BODY_BYTES) response.destroy();
        });
        const done = () => resolve({ response, text: Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY_BYTES) });
        response.on('end', done);
        response.on('close', done);
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)));
    request.on('error', reject);
    request.end();
  });
}

/**
 * GET the URL (no redirects followed) and report its status and the documented body fields. A URL that
 * names or resolves to a refused address throws InvalidInput (non-retryable) naming healthUrl.
 */
export async function probeUrl(url: string, policy: ProbePolicy = {}): Promise<ServiceProbeReport> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refusedFailure(url, 'not a URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw refusedFailure(url, `${parsed.protocol} is not http or https`);
  const byName = hostRefusal(parsed.hostname, policy);
  if (byName) throw refusedFailure(url, byName);
  try {
    const { response, text } = await get(parsed, policy);
    const status = response.statusCode ?? 0;
    const ok = status >= 200 && status < 300;
    const body = healthBodyFields(text);
    const location = response.headers.location;
    const detail =
      status >= 300 && status < 400
        ? `${url} answered ${status}, a redirect${location ? ` to ${location.slice(0, 200)}` : ''}: redirects are not followed (give the final URL)`
        : ok
          ? `${url} answered ${status}`
          : `${url} answered ${status}: unhealthy`;
    return { checked: true, via: 'url', target: url, ok, statusCode: status, ...(body ? { body } : {}), detail };
  } catch (err) {
    if (err instanceof ProbeRefused) throw refusedFailure(url, err.message);
    const reason = err instanceof Error ? err.message : String(err);
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
export async function findService(
  kube: KubeClients,
  namespace: string,
  name: string,
  release?: string,
): Promise<V1Service | undefined> {
  const named = await readService(kube, namespace, name);
  if (named || !release) return named;
  const list = await kubeCall(`list Services of release ${release} in ${namespace}`, () =>
    kube.core.listNamespacedService({ namespace, labelSelector: `app.kubernetes.io/instance=${release}` }),
  );
  const items = list.items ?? [];
  return items.length === 1 ? items[0] : undefined;
}

const noService = (namespace: string, service: string, release?: string): ServiceProbeReport => ({
  checked: false,
  ok: false,
  detail: `no Service ${namespace}/${service}${release ? ` (nor one Service of release ${release})` : ''}: nothing to probe`,
});

/** The Service a probe targets, as findService found it, and its name. */
interface FoundService {
  namespace: string;
  name: string;
  service: V1Service;
}

/**
 * A probe of the orchestrator's Service at `path`: `probe` runs on the Service findService finds
 * (serviceName, else the release's one Service); when there is none, nothing is probed (checked: false).
 */
function serviceProbe(probe: (kube: KubeClients, found: FoundService, path: string) => Promise<ServiceProbeReport>) {
  return async (
    kube: KubeClients,
    namespace: string,
    serviceName: string,
    path: string,
    release?: string,
  ): Promise<ServiceProbeReport> => {
    const service = await findService(kube, namespace, serviceName, release);
    if (!service) return noService(namespace, serviceName, release);
    return probe(kube, { namespace, name: service.metadata?.name ?? serviceName, service }, path);
  };
}

/** GET `path` of the Service through the API server's service proxy. */
export const probeServiceProxy = serviceProbe(async (kube, { namespace, name: service }, path) => {
  const target = `service proxy ${namespace}/${service}${path}`;
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS).unref(),
  );
  try {
    const text = await Promise.race([
      kube.core.connectGetNamespacedServiceProxyWithPath({ namespace, name: service, path: path.replace(/^\//, '') }),
      timeout,
    ]);
    const body = healthBodyFields(String(text));
    return {
      checked: true,
      via: 'service-proxy',
      target,
      ok: true,
      statusCode: 200,
      ...(body ? { body } : {}),
      detail: `${target} answered 200`,
    };
  } catch (err) {
    const statusCode = err instanceof ApiException ? err.code : undefined;
    const reason =
      err instanceof ApiException
        ? (statusMessage(err.body) ?? `HTTP ${err.code}`)
        : err instanceof Error
          ? err.message
          : String(err);
    return {
      checked: true,
      via: 'service-proxy',
      target,
      ok: false,
      ...(statusCode ? { statusCode } : {}),
      detail: `${target} did not answer: ${reason}. No pod behind the Service answered HTTP (on the local kwok cluster pods are simulated and never answer; pass healthUrl to probe elsewhere)`,
    };
  }
});

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
  !pod.metadata?.deletionTimestamp &&
  pod.status?.phase === 'Running' &&
  (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

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
export const probeLocalStandin = serviceProbe(async (kube, { namespace, name, service }, path) => {
  const target = `local stand-in for service proxy ${namespace}/${name}${path}`;
  const base = { checked: true, via: 'local-standin' as const, target };
  const selector = Object.entries(service.spec?.selector ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const pods = selector
    ? ((
        await kubeCall(`list pods of Service ${namespace}/${name}`, () =>
          kube.core.listNamespacedPod({ namespace, labelSelector: selector }),
        )
      ).items ?? [])
    : [];
  const ready = pods
    .filter(podReady)
    .sort(
      (a, b) =>
        String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')) ||
        (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
    );
  const pod = ready[0];
  if (!pod) {
    return {
      ...base,
      ok: false,
      statusCode: 503,
      detail: `${target} answered 503: no Ready pod behind the Service (${pods.length} pods), so no endpoint would answer`,
    };
  }
  const podName = pod.metadata?.name ?? '';
  if (path.replace(/\/+$/, '') !== '/health') {
    return {
      ...base,
      ok: false,
      statusCode: 404,
      detail: `${target} answered 404: the local stand-in answers only /health`,
    };
  }
  const port = service.spec?.ports?.[0]?.targetPort ?? service.spec?.ports?.[0]?.port;
  const containers = pod.spec?.containers ?? [];
  const container =
    containers.find((c) =>
      (c.ports ?? []).some((p) => p.containerPort === port || (p.name !== undefined && p.name === port)),
    ) ?? containers[0];
  const version = imageVersion(container?.image ?? '');
  const healthy = version !== UNHEALTHY_IMAGE_TAG;
  const statusCode = healthy ? 200 : 503;
  const body = { status: healthy ? 'healthy' : 'unhealthy', version, timestamp: new Date().toISOString() };
  const from = `pod ${podName}, image ${container?.image ?? '?'}`;
  return {
    ...base,
    ok: healthy,
    statusCode,
    body,
    detail: healthy
      ? `${target} answered ${statusCode} (${from})`
      : `${target} answered ${statusCode}: unhealthy (${from}; the image tag ":${UNHEALTHY_IMAGE_TAG}" simulates an unhealthy platform)`,
  };
});

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
