// The controller's configuration: config.yaml of the controller ConfigMap (charts/orchestrator
// templates/configmap.yaml), validated by a zod schema. The watch lists it once and then watches it:
// a change ends the watch round with the new config, so that edits apply to the next Jobs. A
// config.yaml that does not validate (e.g. `maxConcurrentTasks: "20"`) changes nothing: the
// controller keeps its last good config and reports the error, naming the field (ControllerConfig.error).
import { parse } from 'yaml';
import { z } from 'zod';
import type { KubeClients } from '../kube/client.ts';
import { kubeCall } from '../errors.ts';
import type { ControllerConfig } from '../../contract/types/taskrun.ts';

/**
 * The controller's defaults, the one place they are written: config.yaml's absent fields, and the
 * whole config when the ConfigMap is absent. The chart's values.yaml (controllerConfig + secrets)
 * renders the same (test/unit/taskrun-config.test.ts checks it).
 */
export const CONTROLLER_DEFAULTS = {
  agent: {
    image: 'ghcr.io/example/claude-agent:1.0.0',
    imagePullPolicy: 'IfNotPresent',
    resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '2', memory: '4Gi' } },
    workspaceMountPath: '/workspace',
  },
  job: { ttlSecondsAfterFinished: 3600, backoffLimit: 0, activeDeadlineSeconds: 7200 },
  maxConcurrentTasks: 10,
  secrets: {
    name: 'orchestrator-secrets',
    env: [
      { name: 'ANTHROPIC_API_KEY', key: 'ANTHROPIC_API_KEY' },
      { name: 'GITHUB_TOKEN', key: 'GITHUB_TOKEN' },
    ],
  },
} satisfies Omit<ControllerConfig, 'resourceVersion' | 'error'>;

const D = CONTROLLER_DEFAULTS;
const quantity = z.union([z.string().min(1), z.number().nonnegative()]);
const resourceList = z.record(z.string(), quantity);
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');

/** config.yaml: every field optional (absent: the default), no unknown fields (a typo is an error, not a silent default). */
export const controllerConfigSchema = z
  .object({
    agent: z
      .object({
        image: z.string().min(1).default(D.agent.image),
        imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
        resources: z
          .object({ requests: resourceList.optional(), limits: resourceList.optional() })
          .strict()
          .default(D.agent.resources),
        workspaceMountPath: z.string().startsWith('/').default(D.agent.workspaceMountPath),
      })
      .strict()
      .prefault({}),
    job: z
      .object({
        ttlSecondsAfterFinished: z.number().int().min(0).default(D.job.ttlSecondsAfterFinished),
        backoffLimit: z.number().int().min(0).default(D.job.backoffLimit),
        activeDeadlineSeconds: z.number().int().min(1).default(D.job.activeDeadlineSeconds),
      })
      .strict()
      .prefault({}),
    maxConcurrentTasks: z.number().int().min(0).default(D.maxConcurrentTasks),
    secrets: z
      .object({
        name: z.string().min(1).default(D.secrets.name),
        env: z
          .array(
            z
              .object({ name: envName, key: z.string().min(1).optional() })
              .strict()
              .transform((e) => ({ name: e.name, key: e.key ?? e.name })),
          )
          .default(D.secrets.env),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** The defaults as a config (no ConfigMap: resourceVersion ''). */
export const DEFAULT_CONTROLLER_CONFIG: ControllerConfig = {
  ...structuredClone(CONTROLLER_DEFAULTS),
  resourceVersion: '',
};

/** Every problem of an invalid config.yaml, each naming its field (`job.backoffLimit: ...`). */
function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`).join('; ');
}

/**
 * config.yaml over the defaults. Invalid (not YAML, a mistyped or unknown field): `fallback` (the
 * last good config; the defaults when there is none) with this ConfigMap's resourceVersion and the
 * error, naming every bad field.
 */
export function parseControllerConfig(
  text: string | undefined,
  resourceVersion: string,
  fallback: ControllerConfig = DEFAULT_CONTROLLER_CONFIG,
): ControllerConfig {
  let raw: unknown;
  try {
    raw = text ? parse(text) : {};
  } catch (err) {
    return invalid(
      fallback,
      resourceVersion,
      `config.yaml is not YAML: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const parsed = controllerConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) return invalid(fallback, resourceVersion, `config.yaml is invalid (${describe(parsed.error)})`);
  return { ...parsed.data, resourceVersion };
}

function invalid(fallback: ControllerConfig, resourceVersion: string, error: string): ControllerConfig {
  const { error: previous, ...good } = fallback;
  const KEEPS = '; the controller keeps its last good config';
  // Invalid after invalid: the good config is still the one the first error named.
  const kept = previous?.includes(KEEPS)
    ? previous.slice(previous.indexOf(KEEPS))
    : `${KEEPS}${good.resourceVersion ? ` (ConfigMap resourceVersion ${good.resourceVersion})` : ' (the defaults)'}`;
  return { ...good, resourceVersion, error: `${error}${kept}` };
}

/**
 * The config, read with a list (fieldSelector on its name) so that the list's resourceVersion comes
 * with it: a watch of the ConfigMap resumes from there. (The ConfigMap's own resourceVersion can be
 * far older than the watch cache once the namespace's ConfigMaps churn: a watch from it gets 410.)
 * `fallback`: the config kept when config.yaml is invalid.
 */
export async function listControllerConfig(
  kube: KubeClients,
  namespace: string,
  name: string,
  fallback?: ControllerConfig,
): Promise<{ config: ControllerConfig; resourceVersion: string }> {
  const list = await kubeCall(`read ConfigMap ${namespace}/${name}`, () =>
    kube.core.listNamespacedConfigMap({ namespace, fieldSelector: `metadata.name=${name}` }),
  );
  const cm = list.items.find((c) => c.metadata?.name === name);
  return {
    config: cm
      ? parseControllerConfig(cm.data?.['config.yaml'], cm.metadata?.resourceVersion ?? '', fallback)
      : DEFAULT_CONTROLLER_CONFIG,
    resourceVersion: list.metadata?.resourceVersion ?? '',
  };
}
