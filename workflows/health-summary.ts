// Turns the platformHealth readings into problems and warnings. Pure, so it is unit-tested
// and deterministic inside the workflow.
import type {
  NodesReport,
  PodsReport,
  ServiceProbeReport,
  TaskRunsReport,
} from './types/platform-health.ts';

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
  if (r.nodes.total > 0 && r.nodes.cordoned.length === r.nodes.total) problems.push('every node is cordoned: nothing new can be scheduled');

  if (!r.pods.namespaceExists) {
    problems.push(`namespace ${r.pods.namespace} does not exist: the platform is not deployed`);
  } else {
    const unready = r.pods.pods.filter((p) => !p.ready && p.phase !== 'Succeeded');
    if (unready.length) {
      problems.push(`pods not ready in ${r.pods.namespace}: ${unready.map((p) => `${p.name} (${p.reason ?? p.phase})`).join(', ')}`);
    }
    const restarting = r.pods.pods.filter((p) => p.restarts >= r.restartWarningThreshold);
    if (restarting.length) {
      warnings.push(`pods restarting often: ${restarting.map((p) => `${p.name} (${p.restarts} restarts)`).join(', ')}`);
    }
  }

  if (!r.taskRuns.crdInstalled) warnings.push('the TaskRun CRD (taskruns.orchestrator.io) is not installed');
  else if ((r.taskRuns.byPhase.Failed ?? 0) > 0) warnings.push(`${r.taskRuns.byPhase.Failed} TaskRuns failed`);

  if (r.service.checked && !r.service.ok) problems.push(`orchestrator health check failed: ${r.service.detail}`);
  if (!r.service.checked) warnings.push(r.service.detail);

  return { healthy: problems.length === 0, problems, warnings };
}
