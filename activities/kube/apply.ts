// Server-side apply with a fixed field manager: applying the same object twice changes nothing,
// and a retried activity is harmless. A manager owns every field it applied last time, so a partial
// object applied under a shared manager prunes the rest: writers of parts (one Secret key, one
// annotation) pass a field manager of their own.
import { PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import type { KubeClients } from './client.ts';
import { kubeCall } from '../errors.ts';

export const FIELD_MANAGER = 'platform-runbooks';

export interface AppliedObject {
  kind: string;
  name: string;
  namespace?: string;
  /** Did the apply change the stored object (resourceVersion moved)? Unknown for dry runs. */
  changed: boolean | 'dry-run';
}

function describe(obj: KubernetesObject): string {
  return `${obj.kind}/${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name}`;
}

async function currentResourceVersion(kube: KubeClients, obj: KubernetesObject): Promise<string | undefined> {
  try {
    const header = {
      apiVersion: obj.apiVersion!,
      kind: obj.kind!,
      metadata: { name: obj.metadata!.name!, namespace: obj.metadata?.namespace },
    };
    return (await kube.objects.read(header)).metadata?.resourceVersion;
  } catch {
    return undefined;
  }
}

/** Applies each object (server-side, forced for the field manager); dryRun asks the server to validate only. */
export async function applyObjects(
  kube: KubeClients,
  objects: KubernetesObject[],
  dryRun = false,
  fieldManager = FIELD_MANAGER,
): Promise<AppliedObject[]> {
  const applied: AppliedObject[] = [];
  for (const obj of objects) {
    const before = dryRun ? undefined : await currentResourceVersion(kube, obj);
    const result = await kubeCall(`apply ${describe(obj)}`, () =>
      kube.objects.patch(obj, undefined, dryRun ? 'All' : undefined, fieldManager, true, PatchStrategy.ServerSideApply),
    );
    applied.push({
      kind: obj.kind ?? '',
      name: obj.metadata?.name ?? '',
      ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}),
      changed: dryRun ? 'dry-run' : result.metadata?.resourceVersion !== before,
    });
  }
  return applied;
}
