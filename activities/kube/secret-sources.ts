// Which secret sources a workflow input may name. A caller who can start a workflow must not be
// able to copy the worker's own credentials (its HMAC key, age identity, Temporal API key) into a
// Secret, nor read Secrets of namespaces the worker does not manage: the worker's configuration
// lists the environment variables and namespaces that may be read, and its credentials never are.
import { ApplicationFailure } from '@temporalio/common';
import { SECRET_SOURCE_REFUSED } from '../../contract/failures.ts';
import type { SecretSource } from '../../contract/types/secret-ref.ts';

export interface SecretSourcePolicy {
  /** Environment variable names that may be read; a trailing `*` matches a prefix. */
  envAllow: string[];
  /** Namespaces whose Secrets may be read besides the namespace being written. */
  secretNamespaces: string[];
}

export const DEFAULT_SECRET_SOURCE_POLICY: SecretSourcePolicy = {
  envAllow: ['ANTHROPIC_API_KEY', 'GITHUB_TOKEN', 'RUNBOOK_SECRET_*'],
  secretNamespaces: [],
};

/** The worker's own credentials: refused whatever the allowlist says. */
const WORKER_CREDENTIALS = [
  /^RUNBOOK_BACKUP_/,
  /^TEMPORAL_/,
  /^RUNBOOK_KUBE/,
  /^KUBECONFIG$/,
  /^AWS_/,
  /^GOOGLE_/,
  /^AZURE_/,
];

export function envAllowed(name: string, policy: SecretSourcePolicy): boolean {
  if (WORKER_CREDENTIALS.some((re) => re.test(name))) return false;
  return policy.envAllow.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p));
}

/**
 * Throws SecretSourceRefused (non-retryable, naming `field`) unless the policy allows reading this
 * source for a Secret written in targetNamespace.
 */
export function checkSecretSource(
  source: SecretSource,
  targetNamespace: string,
  policy: SecretSourcePolicy,
  field: string,
): void {
  if ('env' in source) {
    if (envAllowed(source.env, policy)) return;
    const why = WORKER_CREDENTIALS.some((re) => re.test(source.env))
      ? "is one of the worker's own credentials"
      : `is not in the worker's allowlist (--secret-env-allow / RUNBOOK_SECRET_ENV_ALLOW: ${policy.envAllow.join(', ') || 'empty'})`;
    throw refused(`${field}: environment variable ${source.env} ${why}`);
  }
  const namespace = source.secret.namespace ?? targetNamespace;
  if (namespace === targetNamespace || policy.secretNamespaces.includes(namespace)) return;
  throw refused(
    `${field}: Secrets of namespace ${namespace} may not be read (allowed: ${[targetNamespace, ...policy.secretNamespaces].join(', ')}; --secret-namespaces / RUNBOOK_SECRET_NAMESPACES)`,
  );
}

const refused = (message: string) =>
  ApplicationFailure.create({ type: SECRET_SOURCE_REFUSED, message, nonRetryable: true });

/** Parses a comma-separated list (flags and environment variables). */
export function parseList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
