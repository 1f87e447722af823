// The one place where errors from the Kubernetes API (and the network under it) are classified
// into ApplicationFailure types that workflows can branch on and retry policies can honour.
import { ApiException } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { KUBE_CONFLICT, KUBE_FORBIDDEN, KUBE_INVALID, KUBE_NOT_FOUND, KUBE_UNAVAILABLE } from '../contract/failures.ts';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** The API server's V1Status message, when the body carries one. */
export function statusMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.trim().slice(0, 300) || undefined;
    }
  }
  if (parsed && typeof parsed === 'object' && 'message' in parsed && typeof parsed.message === 'string')
    return parsed.message;
  return undefined;
}

function networkCode(err: unknown): string | undefined {
  for (
    let e: unknown = err, depth = 0;
    e && typeof e === 'object' && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    if (e instanceof Error && e.name === 'TimeoutError') return 'ETIMEDOUT';
  }
  return undefined;
}

/** Maps an HTTP status to a failure type and whether a retry can help. */
export function classifyStatus(code: number): { type: string; retryable: boolean } {
  if (code === 403 || code === 401) return { type: KUBE_FORBIDDEN, retryable: false };
  if (code === 404) return { type: KUBE_NOT_FOUND, retryable: false };
  if (code === 409) return { type: KUBE_CONFLICT, retryable: true };
  if (code === 400 || code === 422) return { type: KUBE_INVALID, retryable: false };
  // 429 (throttling; a PDB's 429 on eviction is handled by the eviction code itself), 5xx, timeouts
  return { type: KUBE_UNAVAILABLE, retryable: true };
}

/** Converts any error of a Kubernetes call into a classified ApplicationFailure. */
export function toKubeFailure(err: unknown, what: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ApiException) {
    const { type, retryable } = classifyStatus(err.code);
    const message = `${what}: HTTP ${err.code}${statusMessage(err.body) ? ` ${statusMessage(err.body)}` : ''}`;
    return ApplicationFailure.create({ type, message, nonRetryable: !retryable, details: [{ httpStatus: err.code }] });
  }
  const code = networkCode(err);
  const reason = err instanceof Error ? err.message : String(err);
  if (code) {
    return ApplicationFailure.create({
      type: KUBE_UNAVAILABLE,
      message: `${what}: ${code} (${reason})`,
      nonRetryable: false,
    });
  }
  // Unknown errors stay retryable: the activity's bounded retry policy decides.
  return ApplicationFailure.create({ type: KUBE_UNAVAILABLE, message: `${what}: ${reason}`, nonRetryable: false });
}

/** Runs one Kubernetes call, classifying its failure. */
export async function kubeCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toKubeFailure(err, what);
  }
}

/** True when `err` is an HTTP error of the given status (before classification). */
export function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiException && err.code === code;
}
