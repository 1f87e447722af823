// Existence checks: a read that answers 404 means "absent"; any other error is a classified failure.
import { isStatus, toKubeFailure } from '../errors.ts';
import type { KubeClients } from './client.ts';

export async function exists(read: () => Promise<unknown>, what: string): Promise<boolean> {
  try {
    await read();
    return true;
  } catch (err) {
    if (isStatus(err, 404)) return false;
    throw toKubeFailure(err, `read ${what}`);
  }
}

export const namespaceExists = (kube: KubeClients, name: string) => exists(() => kube.core.readNamespace({ name }), `namespace ${name}`);

export const crdExists = (kube: KubeClients, name: string) => exists(() => kube.apiextensions.readCustomResourceDefinition({ name }), `CRD ${name}`);
