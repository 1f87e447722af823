// The controller's configuration: config.yaml of the controller ConfigMap (charts/orchestrator
// templates/configmap.yaml). The watch lists it once and then watches it: a change ends the watch
// round with the new config, so that edits apply to the next Jobs.
import { parse } from 'yaml';
import type { KubeClients } from '../kube/client.ts';
import { kubeCall } from '../errors.ts';
import type { ControllerConfig } from '../../workflows/types/taskrun.ts';

/** The chart's defaults (values.yaml controllerConfig + secrets), used when the ConfigMap is absent. */
export const DEFAULT_CONTROLLER_CONFIG: ControllerConfig = {
  agent: {
    image: 'ghcr.io/example/claude-agent:1.0.0',
    imagePullPolicy: 'IfNotPresent',
    resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '2', memory: '4Gi' } },
    workspaceMountPath: '/workspace',
  },
  job: { ttlSecondsAfterFinished: 3600, backoffLimit: 0, activeDeadlineSeconds: 7200 },
  maxConcurrentTasks: 10,
  secrets: { name: 'orchestrator-secrets', env: [{ name: 'ANTHROPIC_API_KEY', key: 'ANTHROPIC_API_KEY' }, { name: 'GITHUB_TOKEN', key: 'GITHUB_TOKEN' }] },
  resourceVersion: '',
};

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : {});
const num = (v: unknown, fallback: number | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
const str = (v: unknown, fallback: string) => (typeof v === 'string' && v ? v : fallback);

/** Merges config.yaml over the defaults; unknown or mistyped fields fall back to the defaults. */
export function parseControllerConfig(text: string | undefined, resourceVersion: string): ControllerConfig {
  const d = DEFAULT_CONTROLLER_CONFIG;
  const raw = obj(text ? parse(text) : {});
  const agent = obj(raw.agent);
  const job = obj(raw.job);
  const secrets = obj(raw.secrets);
  const env = Array.isArray(secrets.env)
    ? secrets.env.map(obj).filter((e) => typeof e.name === 'string').map((e) => ({ name: e.name as string, key: str(e.key, e.name as string) }))
    : d.secrets.env;
  const ttl = num(job.ttlSecondsAfterFinished, d.job.ttlSecondsAfterFinished);
  const deadline = num(job.activeDeadlineSeconds, d.job.activeDeadlineSeconds);
  return {
    agent: {
      image: str(agent.image, d.agent.image),
      imagePullPolicy: str(agent.imagePullPolicy, d.agent.imagePullPolicy!),
      resources: agent.resources ? (obj(agent.resources) as ControllerConfig['agent']['resources']) : d.agent.resources!,
      workspaceMountPath: str(agent.workspaceMountPath, d.agent.workspaceMountPath),
    },
    job: { backoffLimit: num(job.backoffLimit, d.job.backoffLimit)!, ...(ttl !== undefined ? { ttlSecondsAfterFinished: ttl } : {}), ...(deadline !== undefined ? { activeDeadlineSeconds: deadline } : {}) },
    maxConcurrentTasks: num(raw.maxConcurrentTasks, d.maxConcurrentTasks)!,
    secrets: { name: str(secrets.name, d.secrets.name), env },
    resourceVersion,
  };
}

/**
 * The config, read with a list (fieldSelector on its name) so that the list's resourceVersion comes
 * with it: a watch of the ConfigMap resumes from there. (The ConfigMap's own resourceVersion can be
 * far older than the watch cache once the namespace's ConfigMaps churn: a watch from it gets 410.)
 */
export async function listControllerConfig(kube: KubeClients, namespace: string, name: string): Promise<{ config: ControllerConfig; resourceVersion: string }> {
  const list = await kubeCall(`read ConfigMap ${namespace}/${name}`, () => kube.core.listNamespacedConfigMap({ namespace, fieldSelector: `metadata.name=${name}` }));
  const cm = list.items.find((c) => c.metadata?.name === name);
  return {
    config: cm ? parseControllerConfig(cm.data?.['config.yaml'], cm.metadata?.resourceVersion ?? '') : DEFAULT_CONTROLLER_CONFIG,
    resourceVersion: list.metadata?.resourceVersion ?? '',
  };
}
