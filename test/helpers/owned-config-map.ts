// A ConfigMap with an owner, as restores meet them (a TaskRun owns its task ConfigMap): a restore must
// drop the ownerReference, or the garbage collector deletes the restored copy whose owner is not there.
import type { TestCluster } from './cluster.ts';

/** Creates the Secret `owner` in the namespace; returns the ConfigMap `owned` (data task=prompt) that it owns, to apply. */
export async function configMapOwnedBySecret(cluster: Pick<TestCluster, 'kubectl'>, namespace: string) {
  await cluster.kubectl(['create', 'secret', 'generic', 'owner', '-n', namespace, '--from-literal=k=v']);
  const uid = (
    await cluster.kubectl(['get', 'secret', 'owner', '-n', namespace, '-o', 'jsonpath={.metadata.uid}'])
  ).trim();
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'owned',
      namespace,
      ownerReferences: [{ apiVersion: 'v1', kind: 'Secret', name: 'owner', uid }],
    },
    data: { task: 'prompt' },
  };
}
