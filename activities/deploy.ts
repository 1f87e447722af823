// Activities of deployPlatform (and shared by upgradePlatform/rotateSecret): namespaces, CRDs,
// Secrets from references, rollout waits. Each is idempotent.
import { ApplicationFailure } from '@temporalio/common';
import { INVALID_INPUT } from '../contract/failures.ts';
import { DEFAULT_FILE_ROOTS, resolveAllowedPath } from './allowed-paths.ts';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ChartRef, PlannedObject } from '../contract/types/deploy.ts';
import type { SecretKeyRef } from '../contract/types/secret-ref.ts';
import type { ActivityDeps } from './deps.ts';
import { kubeCall } from './errors.ts';
import { applyObjects } from './kube/apply.ts';
import { crdExists, exists, namespaceExists } from './kube/exists.ts';
import { readChartCrds } from './kube/chart-crds.ts';
import { applySecretKeys, type SecretKeysResult } from './kube/secrets.ts';
import { checkSecretSource, DEFAULT_SECRET_SOURCE_POLICY } from './kube/secret-sources.ts';
import { waitCrdEstablished, waitDeploymentRollout } from './kube/wait.ts';

export interface SecretSpec {
  name: string;
  keys: SecretKeyRef[];
}

export function chartDir(deps: ActivityDeps, chart: ChartRef): string | undefined {
  if (!('path' in chart)) return undefined;
  const allowed = resolveAllowedPath(chart.path, deps.workdir, deps.fileRoots ?? DEFAULT_FILE_ROOTS);
  if ('refused' in allowed)
    throw ApplicationFailure.create({
      type: INVALID_INPUT,
      message: `chart.path: ${allowed.refused}`,
      nonRetryable: true,
    });
  return allowed.path;
}

/** The restart annotation has a field manager of its own (an apply of it must not prune other fields). */
const RESTART_FIELD_MANAGER = 'platform-runbooks-restart';

const namespaceObject = (name: string): KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name },
});

export function deployActivities(deps: ActivityDeps) {
  const { kube } = deps;
  const policy = deps.secretSources ?? DEFAULT_SECRET_SOURCE_POLICY;
  /** Refuses every source outside the worker's allowlist before any value is read. `field` names the input field of secrets[i].keys[j]. */
  const checkSources = (namespace: string, secrets: SecretSpec[], field?: string) =>
    secrets.forEach((s, i) =>
      s.keys.forEach((k, j) => checkSecretSource(k.from, namespace, policy, field ?? `secrets[${i}].keys[${j}].from`)),
    );

  return {
    /** Read-only: what exists, and a server-side dry run of the namespaces and CRDs. */
    async planPlatformObjects(req: {
      namespaces: string[];
      chart: ChartRef;
      secretsNamespace: string;
      secrets: SecretSpec[];
    }): Promise<{
      namespaces: PlannedObject[];
      crds: PlannedObject[];
      secrets: { name: string; keys: string[]; exists: boolean }[];
    }> {
      checkSources(req.secretsNamespace, req.secrets);
      const namespaces = [];
      for (const name of req.namespaces) {
        namespaces.push({ kind: 'Namespace', name, exists: await namespaceExists(kube, name) });
      }
      const dir = chartDir(deps, req.chart);
      const crdObjects = dir ? readChartCrds(dir) : [];
      await applyObjects(kube, crdObjects, true); // validates them on the server, changes nothing
      const crds = [];
      for (const crd of crdObjects) {
        const name = crd.metadata!.name!;
        crds.push({ kind: 'CustomResourceDefinition', name, exists: await crdExists(kube, name) });
      }
      const secrets = [];
      for (const s of req.secrets) {
        const found = namespaces.find((n) => n.name === req.secretsNamespace)?.exists
          ? await exists(
              () => kube.core.readNamespacedSecret({ namespace: req.secretsNamespace, name: s.name }),
              `Secret ${s.name}`,
            )
          : false;
        secrets.push({ name: s.name, keys: s.keys.map((k) => k.key), exists: found });
      }
      return { namespaces, crds, secrets };
    },

    async ensureNamespaces(names: string[]): Promise<{ name: string; changed: boolean | 'dry-run' }[]> {
      const applied = await applyObjects(kube, names.map(namespaceObject));
      return applied.map((a) => ({ name: a.name, changed: a.changed }));
    },

    async applyChartCrds(chart: ChartRef): Promise<{ name: string; changed: boolean | 'dry-run' }[]> {
      const dir = chartDir(deps, chart);
      if (!dir) return []; // a repository chart: Helm installs its crds/ on first install
      const applied = await applyObjects(kube, readChartCrds(dir));
      return applied.map((a) => ({ name: a.name, changed: a.changed }));
    },

    async waitCrdsEstablished(req: { names: string[]; timeoutSeconds: number }): Promise<void> {
      for (const name of req.names) await waitCrdEstablished(kube, name, req.timeoutSeconds * 1000);
    },

    /** `field`: the input field that names the source, when it is not deployPlatform's secrets[i].keys[j].from. */
    async applySecrets(req: { namespace: string; secrets: SecretSpec[]; field?: string }): Promise<SecretKeysResult[]> {
      checkSources(req.namespace, req.secrets, req.field);
      const results = [];
      for (const s of req.secrets) results.push(await applySecretKeys(kube, req.namespace, s.name, s.keys));
      return results;
    },

    /** Waits for every Deployment of a Helm release (label app.kubernetes.io/instance) to roll out. */
    async waitReleaseRollout(req: {
      namespace: string;
      release: string;
      timeoutSeconds: number;
    }): Promise<{ deployment: string; ready: number; replicas: number }[]> {
      const list = await kubeCall(`list Deployments of ${req.release}`, () =>
        kube.apps.listNamespacedDeployment({
          namespace: req.namespace,
          labelSelector: `app.kubernetes.io/instance=${req.release}`,
        }),
      );
      const results = [];
      for (const d of list.items) {
        const name = d.metadata!.name!;
        const state = await waitDeploymentRollout(kube, req.namespace, name, req.timeoutSeconds * 1000);
        results.push({ deployment: name, ready: state.ready, replicas: state.replicas });
      }
      return results;
    },

    async waitDeploymentsRollout(req: {
      namespace: string;
      deployments: string[];
      timeoutSeconds: number;
    }): Promise<{ deployment: string; ready: number; replicas: number }[]> {
      const results = [];
      for (const name of req.deployments) {
        const state = await waitDeploymentRollout(kube, req.namespace, name, req.timeoutSeconds * 1000);
        results.push({ deployment: name, ready: state.ready, replicas: state.replicas });
      }
      return results;
    },

    /** Restarts Deployments the way `kubectl rollout restart` does; the stamp (the workflow run) makes a retry a no-op. */
    async restartDeployments(req: {
      namespace: string;
      deployments: string[];
      stamp: string;
    }): Promise<{ deployment: string; changed: boolean | 'dry-run' }[]> {
      const patches = req.deployments.map((name) => ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { namespace: req.namespace, name },
        spec: { template: { metadata: { annotations: { 'platform-runbooks/restarted-by': req.stamp } } } },
      }));
      for (const p of patches) {
        await kubeCall(`read Deployment ${req.namespace}/${p.metadata.name}`, () =>
          kube.apps.readNamespacedDeployment({ namespace: req.namespace, name: p.metadata.name }),
        );
      }
      const applied = await applyObjects(kube, patches as KubernetesObject[], false, RESTART_FIELD_MANAGER);
      return applied.map((a) => ({ deployment: a.name, changed: a.changed }));
    },
  };
}
