// The platform check after each node (the guide's "Verify platform functionality"): the orchestrator's
// pods ready (platformHealth's checkPods) and no TaskRun stuck in Pending. Pods evicted by the drain
// may still be starting elsewhere, so it is checked again on a backing-off durable timer until
// timeoutSeconds, then fails with what is wrong.
import { ApplicationFailure, sleep } from '@temporalio/workflow';
import { kubeActs, quickReadActs } from '../activity-proxies.ts';
import { PLATFORM_UNHEALTHY } from '../../contract/failures.ts';
import type { RollingNodeMaintenanceOptions } from '../../contract/types/rolling-maintenance.ts';

const INTERVALS_SECONDS = [2, 3, 5, 10, 15];

export async function waitPlatformHealthy(health: RollingNodeMaintenanceOptions['health']): Promise<string> {
  const deadline = Date.now() + health.timeoutSeconds * 1000;
  for (let attempt = 0; ; attempt++) {
    const [pods, taskRuns] = await Promise.all([
      quickReadActs.checkPods(health.namespace),
      kubeActs.findStuckTaskRuns({ namespace: health.namespace, olderThanSeconds: health.stuckTaskRunSeconds }),
    ]);
    const problems: string[] = [];
    if (!pods.namespaceExists)
      problems.push(`namespace ${health.namespace} does not exist (health.skip: true if the platform is not deployed)`);
    const unready = pods.pods.filter((p) => !p.ready && p.phase !== 'Succeeded');
    if (unready.length)
      problems.push(
        `pods not ready in ${health.namespace}: ${unready
          .slice(0, 10)
          .map((p) => `${p.name} (${p.reason ?? p.phase})`)
          .join(', ')}${unready.length > 10 ? ', ...' : ''}`,
      );
    if (taskRuns.stuck)
      problems.push(
        `${taskRuns.stuck} TaskRuns Pending for more than ${health.stuckTaskRunSeconds} s: ${taskRuns.examples.map((t) => `${t.name} (${t.pendingSeconds} s)`).join(', ')}`,
      );
    if (!problems.length)
      return `${pods.ready}/${pods.total} pods ready in ${health.namespace}, ${taskRuns.crdInstalled ? 'no TaskRun stuck' : 'no TaskRun CRD'}`;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw ApplicationFailure.create({
        type: PLATFORM_UNHEALTHY,
        nonRetryable: true,
        message: `the platform is not healthy after ${health.timeoutSeconds} s: ${problems.join('; ')}`,
        details: [problems],
      });
    }
    await sleep(Math.min(left, INTERVALS_SECONDS[Math.min(attempt, INTERVALS_SECONDS.length - 1)]! * 1000));
  }
}
