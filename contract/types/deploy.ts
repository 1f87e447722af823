// deployPlatform: input schema and report.
import { z } from 'zod';
import { httpUrl, k8sName } from './common.ts';
import { secretKeyRefSchema } from './secret-ref.ts';
import type { HealthCheckReport } from './platform-health.ts';

/** A chart from a local directory (relative to the worker's working directory) or a repository. */
export const chartSchema = z.union(
  [
    z.object({ path: z.string().min(1) }).strict(),
    z.object({ repo: httpUrl, name: z.string().min(1), version: z.string().min(1) }).strict(),
  ],
  { error: 'must be {"path": DIR} or {"repo": URL, "name": NAME, "version": VERSION}' },
);
export type ChartRef = z.infer<typeof chartSchema>;

export const DEFAULT_CHART: ChartRef = { path: 'charts/orchestrator' };

export const deployPlatformInputSchema = z
  .object({
    namespace: k8sName.default('orchestrator'),
    release: k8sName.default('orchestrator'),
    createTelemetryNamespace: z.boolean().default(false),
    telemetryNamespace: k8sName.default('telemetry'),
    chart: chartSchema.default(DEFAULT_CHART),
    /** Helm values (no secret values: the chart reads Secrets by name). */
    values: z.record(z.string(), z.unknown()).default({}),
    valuesFiles: z.array(z.string().min(1)).default([]),
    /**
     * Who turns TaskRuns into Jobs: platform-runbooks' taskRunController workflow (the chart's own
     * reconciler is turned off: values taskRunReconciler.enabled=false) or the orchestrator itself.
     * Never both, or a TaskRun gets two Jobs. Wins over the same key in `values`.
     */
    taskRunReconciler: z.enum(['workflow', 'orchestrator']).default('workflow'),
    /** Secrets to create or update before the chart, each key from a reference. */
    secrets: z.array(z.object({ name: k8sName, keys: z.array(secretKeyRefSchema).min(1) }).strict()).default([]),
    timeouts: z
      .object({
        crdSeconds: z.number().int().min(1).max(3600).default(60),
        rolloutSeconds: z.number().int().min(1).max(7200).default(300),
      })
      .strict()
      .default({ crdSeconds: 60, rolloutSeconds: 300 }),
    /** Probe this URL for /health instead of the API server's service proxy. */
    healthUrl: httpUrl.optional(),
    /** Skip the /health probe (e.g. a cluster whose pods cannot answer HTTP). */
    skipHealthCheck: z.boolean().default(false),
    /** Plan only: server-side dry runs; nothing is changed. */
    dryRun: z.boolean().default(false),
  })
  .strict();

export type DeployPlatformInput = z.input<typeof deployPlatformInputSchema>;
export type DeployPlatformOptions = z.output<typeof deployPlatformInputSchema>;

export interface PlannedObject {
  kind: string;
  name: string;
  namespace?: string;
  /** Does it exist already? */
  exists: boolean;
}

export interface DeployPlan {
  namespaces: PlannedObject[];
  crds: PlannedObject[];
  secrets: { name: string; keys: string[]; exists: boolean }[];
  helm: {
    release: string;
    namespace: string;
    installed: boolean;
    currentRevision?: number;
    /** False when the release already runs this exact chart and values. */
    willChange: boolean;
    /** Objects the chart renders (kind/name), from helm's server-side dry run. */
    objects: string[];
  };
}

export interface DeployReport {
  runbook: 'deployPlatform';
  dryRun: boolean;
  plan: DeployPlan;
  namespaces?: { name: string; changed: boolean | 'dry-run' }[];
  crds?: { name: string; changed: boolean | 'dry-run' }[];
  secrets?: { name: string; keys: { key: string; fingerprint: string }[]; changed: boolean | 'dry-run' }[];
  helm?: { revision: number; changed: boolean; status: string };
  rollout?: { deployment: string; ready: number; replicas: number }[];
  /** The health step's verdict (judgeHealthProbe): ok, which probe answered, the version it reported. */
  health?: HealthCheckReport;
}
