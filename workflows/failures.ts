// ApplicationFailure types shared by activities (which raise them) and workflows (which branch
// on them). Kept free of imports so that both sides can load it.

/** Workflow input failed validation; never retried. */
export const INVALID_INPUT = 'InvalidInput';
/** The Kubernetes API or the network is temporarily unavailable (5xx, connection errors, 429, timeouts). */
export const KUBE_UNAVAILABLE = 'KubeUnavailable';
/** The runbook's identity may not do this (403). */
export const KUBE_FORBIDDEN = 'KubeForbidden';
/** A required object or kind does not exist (404). */
export const KUBE_NOT_FOUND = 'KubeNotFound';
/** The API server rejected the object (400, 422). */
export const KUBE_INVALID = 'KubeInvalid';
/** A write conflicted with a concurrent change (409); retrying re-reads and can succeed. */
export const KUBE_CONFLICT = 'KubeConflict';

/** Failure types that a retry cannot fix: activities are proxied with these as non-retryable. */
export const NON_RETRYABLE_TYPES = [INVALID_INPUT, KUBE_FORBIDDEN, KUBE_NOT_FOUND, KUBE_INVALID];
