// The local cluster the integration tests run against: the one `npm test` started (TEST_KUBECONFIG),
// or, when a test file runs alone, one of its own in a temp dir, deleted after the file.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLocalCluster, kubectl, type ClusterRef } from '../../scripts/stack/local-cluster.ts';
import { toolPath } from '../../scripts/stack/tools.ts';
import { createLogger } from '../../worker/logger.ts';
import type { ActivityDeps } from '../../activities/deps.ts';
import { loadKubeConfig, makeKubeClients, type KubeClients } from '../../activities/kube/client.ts';
import { runCleanups } from './cleanups.ts';

export interface TestCluster {
  kubeconfigPath: string;
  kube: KubeClients;
  kubectl(args: string[], input?: string): Promise<string>;
  /** Registers cleanup of what a test made in the cluster; runs (last first) before the cluster goes away. */
  defer(cleanup: () => Promise<unknown>): void;
  /** The local cluster's name and state directory (to stop its API server in outage tests). */
  ref?: ClusterRef;
}

/**
 * Call at the top level of a test file; returns an accessor that connects on first use (top-level
 * before hooks of node:test do not wait for each other, so nothing may rely on their order).
 */
export function useTestCluster(): () => Promise<TestCluster> {
  let cluster: Promise<TestCluster> | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    await runCleanups(cleanups);
  });
  return () => (cluster ??= open(cleanups));
}

async function open(cleanups: (() => Promise<unknown>)[]): Promise<TestCluster> {
  let kubeconfigPath = process.env.TEST_KUBECONFIG;
  let ref: ClusterRef | undefined =
    process.env.TEST_CLUSTER_NAME && process.env.TEST_CLUSTER_DIR
      ? { name: process.env.TEST_CLUSTER_NAME, dataDir: process.env.TEST_CLUSTER_DIR }
      : undefined;
  if (!kubeconfigPath) {
    const own = await createLocalCluster({
      name: `test-${randomUUID().slice(0, 6)}`,
      dataDir: mkdtempSync(join(tmpdir(), 'runbooks-cluster-')),
      nodes: 3,
    });
    cleanups.push(() => own.delete());
    kubeconfigPath = own.kubeconfigPath;
    ref = { name: own.name, dataDir: own.dataDir };
  }
  const path = kubeconfigPath;
  return {
    kubeconfigPath: path,
    kube: makeKubeClients(loadKubeConfig({ kubeconfigPath: path })),
    kubectl: (args, input) => kubectl(path, args, input),
    defer: (cleanup) => cleanups.push(cleanup),
    ...(ref ? { ref } : {}),
  };
}

/** A namespace name no other test uses. */
export function uniqueNamespace(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 6)}`;
}

/** Real activity dependencies for a test cluster (the pinned helm, the repo as working directory). */
export function testActivityDeps(cluster: TestCluster): ActivityDeps {
  return {
    kube: cluster.kube,
    kubeTarget: { kubeconfigPath: cluster.kubeconfigPath },
    helmBin: toolPath('helm'),
    workdir: fileURLToPath(new URL('../..', import.meta.url)),
    logger: createLogger('warn'),
    // The tests' secret values come from env vars named <FILE>_TEST_*.
    secretSources: {
      envAllow: [
        'ANTHROPIC_API_KEY',
        'GITHUB_TOKEN',
        'LIFECYCLE_TEST_*',
        'ROTATE_TEST_*',
        'BACKUP_TEST_*',
        'UPGRADE_BACKUP_TEST_*',
        'VERIFY_TEST_*',
      ],
      secretNamespaces: [],
    },
  };
}
