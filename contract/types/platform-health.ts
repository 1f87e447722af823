// platformHealth: input schema and report, shared by the workflow, its activities and the CLI.
import { z } from 'zod';
import { httpUrl, k8sName } from './common.ts';

export const platformHealthInputSchema = z
  .object({
    /** Namespace of the orchestrator (pods, Service, TaskRuns). */
    namespace: k8sName.default('orchestrator'),
    /** The orchestrator's Service, probed through the API server's service proxy. */
    serviceName: k8sName.default('orchestrator'),
    healthPath: z.string().startsWith('/', 'must start with /').default('/health'),
    /** Probe this URL instead of the service proxy (for clusters whose pods do not answer HTTP). */
    healthUrl: httpUrl.optional(),
    /** A container restarted this many times or more is reported as a warning. */
    restartWarningThreshold: z.number().int().min(1).default(5),
  })
  .strict();

export type PlatformHealthInput = z.input<typeof platformHealthInputSchema>;
export type PlatformHealthOptions = z.output<typeof platformHealthInputSchema>;

export interface ClusterIdentity {
  server: string;
  context: string;
  version: string;
}

export interface NodeHealth {
  name: string;
  ready: boolean;
  /** Cordoned (spec.unschedulable). */
  cordoned: boolean;
  /** Reason of a not-Ready condition. */
  reason?: string;
  allocatable: { cpu: string; memory: string; pods: string };
}

export interface NodesReport {
  total: number;
  ready: number;
  notReady: string[];
  cordoned: string[];
  nodes: NodeHealth[];
}

export interface PodHealth {
  name: string;
  phase: string;
  ready: boolean;
  restarts: number;
  node?: string;
  /** Why a container is not ready (e.g. CrashLoopBackOff). */
  reason?: string;
}

export interface PodsReport {
  namespace: string;
  namespaceExists: boolean;
  total: number;
  ready: number;
  pods: PodHealth[];
  /** Sum of the pods' container requests (the guide's `kubectl top` needs metrics-server). */
  requested: { cpuMillis: number; memoryBytes: number };
}

export interface TaskRunsReport {
  crdInstalled: boolean;
  total: number;
  byPhase: Record<string, number>;
}

/**
 * How the orchestrator's /health was reached: the API server's service proxy (the default, right
 * for a real cluster), a URL the input gave, or the local stack's stand-in (a worker started with
 * --local-health-standin on the project's own kwok cluster, whose pods never answer HTTP).
 */
export type ProbeKind = 'service-proxy' | 'url' | 'local-standin';

export interface ServiceProbeReport {
  /** false when there was nothing to probe (no Service and no URL override). */
  checked: boolean;
  via?: ProbeKind;
  target?: string;
  ok: boolean;
  statusCode?: number;
  /** The /health body when it was JSON, e.g. {status, version, timestamp}. */
  body?: unknown;
  detail: string;
}

/**
 * A runbook's health check (deployPlatform and rotateSecret `health`, upgradePlatform `smokeTest`):
 * the verdict of judgeHealthProbe (workflows/health-summary.ts) on one probe.
 */
export interface HealthCheckReport {
  /** Did the check pass (the one rule: the probe ran and answered healthy)? */
  ok: boolean;
  /** Did the probe run at all (false: e.g. no Service to probe)? */
  checked: boolean;
  /** Which probe answered: service-proxy, url or local-standin. */
  probe?: ProbeKind;
  target?: string;
  statusCode?: number;
  /** The `version` of the /health answer, when it gave one. */
  version?: string;
  detail: string;
}

export interface PlatformHealthReport {
  runbook: 'platformHealth';
  checkedAt: string;
  cluster: ClusterIdentity;
  healthy: boolean;
  /** What makes the platform unhealthy. */
  problems: string[];
  /** What deserves a look but is not a failure. */
  warnings: string[];
  nodes: NodesReport;
  pods: PodsReport;
  taskRuns: TaskRunsReport;
  service: ServiceProbeReport;
}
