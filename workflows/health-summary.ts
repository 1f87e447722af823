// Turns the platformHealth readings into problems and warnings. Pure, so it is unit-tested
// and deterministic inside the workflow.
import type {
  HealthCheckReport,
  NodesReport,
  PodsReport,
  ServiceProbeReport,
  TaskRunsReport,
} from '../contract/types/platform-health.ts';

/**
 * THE health rule, the one every runbook applies to a /health probe (deployPlatform's and
 * rotateSecret's health step, upgradePlatform's smoke test, platformHealth's report):
 * a check passes only when the probe ran, got a 2xx answer, and that answer's JSON `status`
 * (when it has one) is "healthy". A probe that could not run (no Service to probe) fails the
 * check too: nothing proved the platform healthy. An operator who knows there is nothing to
 * probe skips the check explicitly (skipHealthCheck, smokeTest.skip). Pure and deterministic.
 */
export function judgeHealthProbe(probe: ServiceProbeReport): HealthCheckReport {
  const status = bodyField(probe.body, 'status');
  const version = bodyField(probe.body, 'version');
  const facts = {
    checked: probe.checked,
    ...(probe.via ? { probe: probe.via } : {}),
    ...(probe.target ? { target: probe.target } : {}),
    ...(probe.statusCode !== undefined ? { statusCode: probe.statusCode } : {}),
    ...(version !== undefined ? { version } : {}),
  };
  if (!probe.checked) return { ok: false, ...facts, detail: `the health probe could not run: ${probe.detail}` };
  if (!probe.ok) return { ok: false, ...facts, detail: probe.detail };
  if (status !== undefined && status !== 'healthy') {
    return { ok: false, ...facts, detail: `${probe.detail}, but its status is "${status}", not "healthy"` };
  }
  return { ok: true, ...facts, detail: version !== undefined ? `${probe.detail} (version ${version})` : probe.detail };
}

function bodyField(body: unknown, key: string): string | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const value = (body as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : undefined;
}

/** A list as reports carry it: an array, never null or undefined. */
export function listOf<T>(value: readonly T[] | null | undefined): T[] {
  return Array.isArray(value) ? [...value] : [];
}

/**
 * The readings with every list an array (lists in reports are [], never null): whatever an activity
 * returned (a worker of another version, an API answer without `items`), the report and the
 * summary see arrays.
 */
export function withLists(r: { nodes: NodesReport; pods: PodsReport; taskRuns: TaskRunsReport }): {
  nodes: NodesReport;
  pods: PodsReport;
  taskRuns: TaskRunsReport;
} {
  return {
    nodes: {
      ...r.nodes,
      notReady: listOf(r.nodes?.notReady),
      cordoned: listOf(r.nodes?.cordoned),
      nodes: listOf(r.nodes?.nodes),
    },
    pods: { ...r.pods, pods: listOf(r.pods?.pods) },
    taskRuns: { ...r.taskRuns, byPhase: r.taskRuns?.byPhase ?? {} },
  };
}

export interface HealthReadings {
  nodes: NodesReport;
  pods: PodsReport;
  taskRuns: TaskRunsReport;
  service: ServiceProbeReport;
  restartWarningThreshold: number;
}

export function summarizeHealth(r: HealthReadings): { healthy: boolean; problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];

  if (r.nodes.total === 0) problems.push('the cluster has no nodes');
  if (r.nodes.notReady.length) problems.push(`nodes not Ready: ${r.nodes.notReady.join(', ')}`);
  if (r.nodes.cordoned.length) warnings.push(`nodes cordoned: ${r.nodes.cordoned.join(', ')}`);
  if (r.nodes.total > 0 && r.nodes.cordoned.length === r.nodes.total)
    problems.push('every node is cordoned: nothing new can be scheduled');

  if (!r.pods.namespaceExists) {
    problems.push(`namespace ${r.pods.namespace} does not exist: the platform is not deployed`);
  } else {
    const unready = r.pods.pods.filter((p) => !p.ready && p.phase !== 'Succeeded');
    if (unready.length) {
      problems.push(
        `pods not ready in ${r.pods.namespace}: ${unready.map((p) => `${p.name} (${p.reason ?? p.phase})`).join(', ')}`,
      );
    }
    const restarting = r.pods.pods.filter((p) => p.restarts >= r.restartWarningThreshold);
    if (restarting.length) {
      warnings.push(`pods restarting often: ${restarting.map((p) => `${p.name} (${p.restarts} restarts)`).join(', ')}`);
    }
  }

  if (!r.taskRuns.crdInstalled) warnings.push('the TaskRun CRD (taskruns.orchestrator.io) is not installed');
  else if ((r.taskRuns.byPhase.Failed ?? 0) > 0) warnings.push(`${r.taskRuns.byPhase.Failed} TaskRuns failed`);

  const check = judgeHealthProbe(r.service);
  if (!check.ok) problems.push(`orchestrator health check failed: ${check.detail}`);

  return { healthy: problems.length === 0, problems, warnings };
}
