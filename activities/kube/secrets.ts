// Writes Secret keys from references. Values are read here, written to the API server, and
// never returned, logged or put into an error message.
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { V1Secret } from '@kubernetes/client-node';
import { SECRET_REF_UNRESOLVED } from '../../contract/failures.ts';
import type { SecretKeyRef, SecretSource } from '../../contract/types/secret-ref.ts';
import type { KubeClients } from './client.ts';
import { isStatus, toKubeFailure } from '../errors.ts';
import { applyObjects, FIELD_MANAGER } from './apply.ts';

const unresolved = (message: string) =>
  ApplicationFailure.create({ type: SECRET_REF_UNRESOLVED, message, nonRetryable: true });

export async function resolveSecretSource(
  kube: KubeClients,
  source: SecretSource,
  defaultNamespace: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  if ('env' in source) {
    const value = env[source.env];
    if (value === undefined || value === '')
      throw unresolved(`environment variable ${source.env} is not set on the worker`);
    return value;
  }
  const namespace = source.secret.namespace ?? defaultNamespace;
  try {
    const secret = await kube.core.readNamespacedSecret({ namespace, name: source.secret.name });
    const encoded = secret.data?.[source.secret.key];
    if (encoded === undefined)
      throw unresolved(`Secret ${namespace}/${source.secret.name} has no key ${source.secret.key}`);
    return Buffer.from(encoded, 'base64').toString('utf8');
  } catch (err) {
    if (isStatus(err, 404)) throw unresolved(`Secret ${namespace}/${source.secret.name} does not exist`);
    throw toKubeFailure(err, `read Secret ${namespace}/${source.secret.name}`);
  }
}

/** A short fingerprint of a value, so reports can show that a key changed without showing it. */
export function fingerprint(value: string): string {
  return `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 12)}`;
}

export interface SecretKeysResult {
  namespace: string;
  name: string;
  keys: { key: string; fingerprint: string }[];
  changed: boolean | 'dry-run';
}

/**
 * The field manager of one Secret key. Each key has its own, so that applying one key (a rotation)
 * leaves the keys that earlier applies wrote alone; under one shared manager they would be pruned.
 */
export function secretKeyFieldManager(key: string): string {
  const manager = `${FIELD_MANAGER}-key-${key}`;
  return manager.length <= 128
    ? manager
    : `${FIELD_MANAGER}-key-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

/**
 * Server-side applies the given keys of Secret namespace/name, one key per apply under that key's
 * field manager: the Secret's other keys are left as they are.
 */
export async function applySecretKeys(
  kube: KubeClients,
  namespace: string,
  name: string,
  refs: SecretKeyRef[],
  dryRun = false,
): Promise<SecretKeysResult> {
  const values = [];
  for (const ref of refs) values.push({ key: ref.key, value: await resolveSecretSource(kube, ref.from, namespace) });
  const keys = values.map(({ key, value }) => ({ key, fingerprint: fingerprint(value) }));
  let changed: SecretKeysResult['changed'] = dryRun ? 'dry-run' : false;
  for (const { key, value } of values) {
    const secret: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace, name },
      type: 'Opaque',
      data: { [key]: Buffer.from(value, 'utf8').toString('base64') },
    };
    const [applied] = await applyObjects(kube, [secret], dryRun, secretKeyFieldManager(key));
    if (applied!.changed === true) changed = true;
  }
  return { namespace, name, keys, changed };
}
