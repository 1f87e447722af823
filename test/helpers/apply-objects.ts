// The tests' fixtures go into the cluster as `kubectl apply` of their objects: one object as it is,
// several as one List (one kubectl run, however many objects).
import type { TestCluster } from './cluster.ts';

/** Applies these objects (client-side apply, as kubectl does); returns kubectl's output. */
export function applyObjects(cluster: Pick<TestCluster, 'kubectl'>, ...objects: object[]): Promise<string> {
  const manifest = objects.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects };
  return cluster.kubectl(['apply', '-f', '-'], JSON.stringify(manifest));
}
