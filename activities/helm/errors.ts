// Classifies helm's error output into the ApplicationFailure types workflows branch on. The patterns are
// helm 4.3 messages (see test/unit/helm-errors.test.ts for the real lines each one was taken from).
import { ApplicationFailure } from '@temporalio/common';
import {
  HELM_FAILED,
  HELM_INVALID,
  HELM_RELEASE_LOCKED,
  HELM_TIMEOUT,
  KUBE_FORBIDDEN,
  KUBE_UNAVAILABLE,
} from '../../contract/failures.ts';

export interface HelmErrorClass {
  type: string;
  retryable: boolean;
}

const rules: { type: string; retryable: boolean; patterns: RegExp[] }[] = [
  // Another install/upgrade/rollback holds the release (its latest revision is pending-*).
  {
    type: HELM_RELEASE_LOCKED,
    retryable: true,
    patterns: [/another operation \(install\/upgrade\/rollback\) is in progress/i],
  },
  // A chart repository or OCI registry that cannot be reached: may come back, retry.
  {
    type: HELM_FAILED,
    retryable: true,
    patterns: [
      /is not a valid chart repository or cannot be reached/i,
      /failed to perform "FetchReference"/i,
      /failed to fetch .*(index|chart)/i,
    ],
  },
  // A kubeconfig or context that does not exist: configuration, not an outage.
  {
    type: HELM_INVALID,
    retryable: false,
    patterns: [
      /kubernetes cluster unreachable: context ".*" does not exist/i,
      /kubernetes cluster unreachable: stat .*: no such file or directory/i,
      /invalid configuration: /i,
    ],
  },
  // The API server cannot be reached or is overloaded.
  {
    type: KUBE_UNAVAILABLE,
    retryable: true,
    patterns: [
      /kubernetes cluster unreachable/i,
      /the server is currently unable to handle the request/i,
      /the server has received too many requests/i,
      /etcdserver: (request timed out|leader changed|too many requests)/i,
      /http2: client connection lost/i,
      /TLS handshake timeout/i,
      /dial tcp [^:]+:\d+: connect: connection refused.*$/im,
    ],
  },
  { type: KUBE_FORBIDDEN, retryable: false, patterns: [/ is forbidden: User ".*" cannot /i, /\bUnauthorized\b/] },
  // The chart, its values or its objects are wrong, or the request names something that does not exist.
  {
    type: HELM_INVALID,
    retryable: false,
    patterns: [
      /Error: path ".*" not found/i,
      /chart ".*" (version ".*" )?not found in .* repository/i,
      /Error: repo .* not found/i,
      /values don't meet the specifications of the schema/i,
      /execution error at \(/i,
      /parse error at \(/i,
      /template: .*: (executing|function|unexpected)/i,
      /YAML parse error/i,
      /error converting YAML to JSON/i,
      /unable to build kubernetes objects from (release|new release|current release) manifest/i,
      /chart requires kubeVersion: .* which is incompatible/i,
      /invalid ownership metadata/i,
      /Apply failed with \d+ conflicts?/i,
      /release has no \d+ version/i,
      /Error: release: not found/i,
      /namespaces ".*" not found/i,
      /cannot re-use a name that is still in use/i,
      /is invalid: /i,
      /validation failed/i,
      /chart ".*" matching .* not found/i,
      /Chart.yaml file is missing/i,
      /unable to detect chart at /i,
      /no chart version found for/i,
    ],
  },
  // --wait ran out of time: resources not ready.
  {
    type: HELM_TIMEOUT,
    retryable: false,
    patterns: [
      /context deadline exceeded/i,
      /timed out waiting for the condition/i,
      /resource .* not ready\. status: /i,
    ],
  },
];

/** Classifies helm's stderr; anything unrecognised is a retryable HelmFailed. */
export function classifyHelmError(stderr: string): HelmErrorClass {
  for (const rule of rules) {
    if (rule.patterns.some((p) => p.test(stderr))) return { type: rule.type, retryable: rule.retryable };
  }
  return { type: HELM_FAILED, retryable: true };
}

/**
 * The part of helm's stderr worth a message: from its `Error:` line on (helm 4 first logs
 * `level=WARN msg="upgrade failed" ...` lines that repeat it), else the last lines.
 */
export function helmErrorMessage(stderr: string): string {
  const text = stderr.trim();
  const at = text.search(/^Error: /m);
  const message = at >= 0 ? text.slice(at + 'Error: '.length) : text.split('\n').slice(-3).join('\n');
  return message.length > 1500 ? `${message.slice(0, 1500)}...` : message || 'no output';
}

/** helm's failure output as a classified ApplicationFailure. */
export function toHelmFailure(stderr: string, what: string): ApplicationFailure {
  const { type, retryable } = classifyHelmError(stderr);
  return ApplicationFailure.create({
    type,
    message: `${what}: ${helmErrorMessage(stderr)}`,
    nonRetryable: !retryable,
    details: [{ stderr: stderr.length > 4000 ? stderr.slice(-4000) : stderr }],
  });
}

/** helm ran longer than the process timeout (its own --timeout plus a margin) and was killed. */
export function processTimeoutFailure(what: string, timeoutMs: number, stderr: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: HELM_TIMEOUT,
    message: `${what}: helm did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped`,
    nonRetryable: true,
    details: [{ stderr: stderr.slice(-4000) }],
  });
}

/** A bad argument caught before helm runs. */
export function invalidHelmRequest(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: HELM_INVALID, message, nonRetryable: true });
}

/** The release is locked by a pending operation (found before helm runs). */
export function releaseLocked(message: string, details: Record<string, unknown>): ApplicationFailure {
  return ApplicationFailure.create({ type: HELM_RELEASE_LOCKED, message, nonRetryable: false, details: [details] });
}
