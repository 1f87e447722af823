// The backup keys (the manifest HMAC key, the age identity that decrypts restores) are the worker's
// configuration, never a workflow input: a caller who could name the key could make a forged backup
// verify, or read any env var of the worker. The worker's flags pick them (worker/config.ts); the
// activities resolve them here.
import type { SecretSource } from '../../contract/types/secret-ref.ts';
import type { ActivityDeps } from '../deps.ts';
import { resolveSecretSource } from '../kube/secrets.ts';

export interface BackupKeys {
  /** The key of the manifests' HMAC (signs new backups, authenticates every backup read). */
  hmacKey: SecretSource;
  /** The age identity (AGE-SECRET-KEY-1...) that decrypts a backup's encrypted files. */
  identity: SecretSource;
}

export const DEFAULT_BACKUP_KEYS: BackupKeys = {
  hmacKey: { env: 'RUNBOOK_BACKUP_HMAC_KEY' },
  identity: { env: 'RUNBOOK_BACKUP_AGE_IDENTITY' },
};

/** Where a Secret reference without a namespace is looked up (the worker's flags always give one). */
const REF_NAMESPACE = 'default';

const keysOf = (deps: ActivityDeps): BackupKeys => ({ ...DEFAULT_BACKUP_KEYS, ...deps.backupKeys });

/** The worker's manifest HMAC key. */
export function resolveHmacKey(deps: ActivityDeps): Promise<string> {
  return resolveSecretSource(deps.kube, keysOf(deps).hmacKey, REF_NAMESPACE);
}

/** The worker's age identity. */
export function resolveIdentity(deps: ActivityDeps): Promise<string> {
  return resolveSecretSource(deps.kube, keysOf(deps).identity, REF_NAMESPACE);
}

/** `env:NAME` or `secret:NAMESPACE/NAME/KEY` (worker flags) as a reference; throws on anything else. */
export function parseKeyReference(flag: string, value: string): SecretSource {
  const env = /^(?:env:)?([A-Za-z_][A-Za-z0-9_]*)$/.exec(value);
  if (env) return { env: env[1]! };
  const secret = /^secret:([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)\/([-._a-zA-Z0-9]+)$/.exec(
    value,
  );
  if (secret) return { secret: { namespace: secret[1]!, name: secret[3]!, key: secret[5]! } };
  throw new Error(
    `${flag}: ${value} is neither an environment variable name (NAME or env:NAME) nor secret:NAMESPACE/NAME/KEY`,
  );
}
