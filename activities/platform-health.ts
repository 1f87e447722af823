// Read-only activities of the platformHealth runbook.
import type {
  ClusterIdentity,
  NodesReport,
  PodsReport,
  ServiceProbeReport,
  TaskRunsReport,
} from '../contract/types/platform-health.ts';
import type { ActivityDeps } from './deps.ts';
import { kubeCall } from './errors.ts';
import { probeLocalStandin, probeServiceProxy, probeUrl } from './health-probe.ts';
import { readNodes } from './kube/nodes.ts';
import { readPods } from './kube/pods.ts';
import { countTaskRunsByPhase } from './kube/taskruns.ts';

export interface ProbeOrchestratorRequest {
  namespace: string;
  serviceName: string;
  healthPath: string;
  healthUrl?: string;
  /** The Helm release: its Service is probed when none is named serviceName (`<release>-orchestrator`). */
  release?: string;
}

export function platformHealthActivities({ kube, localHealthStandin, probeAllowLinkLocal }: ActivityDeps) {
  return {
    async describeCluster(): Promise<ClusterIdentity> {
      const version = await kubeCall('read server version', () => kube.version.getCode());
      return {
        server: kube.config.getCurrentCluster()?.server ?? '',
        context: kube.config.getCurrentContext(),
        version: version.gitVersion,
      };
    },
    async checkNodes(): Promise<NodesReport> {
      return readNodes(kube);
    },
    async checkPods(namespace: string): Promise<PodsReport> {
      return readPods(kube, namespace);
    },
    async countTaskRuns(namespace: string): Promise<TaskRunsReport> {
      return countTaskRunsByPhase(kube, namespace);
    },
    async probeOrchestrator(req: ProbeOrchestratorRequest): Promise<ServiceProbeReport> {
      if (req.healthUrl) return probeUrl(req.healthUrl, { allowLinkLocal: probeAllowLinkLocal === true });
      // The worker's configuration, never the input, chooses the stand-in (only on the local cluster).
      if (localHealthStandin)
        return probeLocalStandin(kube, req.namespace, req.serviceName, req.healthPath, req.release);
      return probeServiceProxy(kube, req.namespace, req.serviceName, req.healthPath, req.release);
    },
  };
}
