// What the tests read back of a deployed platform: fields of its Deployment (image, restart stamp)
// and its Helm release (history, values), as kubectl and helm show them.
import { execa } from 'execa';
import { toolPath } from '../../scripts/stack/tools.ts';
import type { TestCluster } from './cluster.ts';

type Cluster = Pick<TestCluster, 'kubectl' | 'kubeconfigPath'>;
type HelmValues = Record<string, unknown>;

/** One field of a Deployment (a kubectl jsonpath, without the `jsonpath=`), trimmed. */
export async function deploymentField(
  cluster: Cluster,
  namespace: string,
  jsonpath: string,
  deployment = 'orchestrator',
): Promise<string> {
  return (
    await cluster.kubectl(['get', 'deployment', deployment, '-n', namespace, '-o', `jsonpath=${jsonpath}`])
  ).trim();
}

/** The image of the Deployment's first container. */
export const deploymentImage = (cluster: Cluster, namespace: string, deployment = 'orchestrator') =>
  deploymentField(cluster, namespace, '{.spec.template.spec.containers[0].image}', deployment);

/** The stamp a runbook's restart leaves on the pod template (`<workflowId>/<time>`), '' before any. */
export const restartStamp = (cluster: Cluster, namespace: string, deployment = 'orchestrator') =>
  deploymentField(
    cluster,
    namespace,
    "{.spec.template.metadata.annotations['platform-runbooks/restarted-by']}",
    deployment,
  );

export interface HelmRevision {
  revision: number;
  status: string;
  description: string;
}

/** `helm history` of the release, oldest revision first. */
export async function helmHistory(
  cluster: Cluster,
  namespace: string,
  release = 'orchestrator',
): Promise<HelmRevision[]> {
  return JSON.parse(await helm(cluster, ['history', release, '-n', namespace, '-o', 'json'])) as HelmRevision[];
}

/** The release's user-supplied values (`helm get values`). */
export async function helmValues(cluster: Cluster, namespace: string, release = 'orchestrator'): Promise<HelmValues> {
  return JSON.parse(await helm(cluster, ['get', 'values', release, '-n', namespace, '-o', 'json'])) as HelmValues;
}

async function helm(cluster: Cluster, args: string[]): Promise<string> {
  return (await execa(toolPath('helm'), [...args, '--kubeconfig', cluster.kubeconfigPath])).stdout;
}
