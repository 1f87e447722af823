// Calls where some HTTP statuses are answers, not errors: a read's 404 means "absent", a create's
// 409 "already there", a delete's 404 "already gone". Any other error is a classified failure.
import { isStatus, toKubeFailure } from '../errors.ts';
import type { KubeClients } from './client.ts';

/** The call's result, or undefined when it answered one of `statuses`. `what` names the call in errors. */
export async function unlessStatus<T>(
  what: string,
  statuses: readonly number[],
  call: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    if (statuses.some((code) => isStatus(err, code))) return undefined;
    throw toKubeFailure(err, what);
  }
}

/** The object, or undefined when it does not exist. */
export function readIfExists<T>(what: string, read: () => Promise<T>): Promise<T | undefined> {
  return unlessStatus(`read ${what}`, [404], read);
}

export async function exists(read: () => Promise<unknown>, what: string): Promise<boolean> {
  return (await readIfExists(what, read)) !== undefined;
}

export const namespaceExists = (kube: KubeClients, name: string) =>
  exists(() => kube.core.readNamespace({ name }), `namespace ${name}`);

export const crdExists = (kube: KubeClients, name: string) =>
  exists(() => kube.apiextensions.readCustomResourceDefinition({ name }), `CRD ${name}`);
