// The TaskRun controller's activities (the watch, creations + status writes, cleanup).
import type { ActivityDeps } from '../deps.ts';
import { taskRunMetrics, type TaskRunMetrics } from '../metrics.ts';
import { watchTaskRunView } from './view-watch.ts';
import { applyTaskRunActions } from './apply.ts';
import { deleteOldTaskRuns, planTaskRunCleanup } from './cleanup.ts';
import type { ApplyActionsInput, CleanupCriteria, WatchInput } from '../../contract/types/taskrun.ts';

export function taskRunActivities(deps: ActivityDeps, metrics: TaskRunMetrics = taskRunMetrics) {
  return {
    async watchTaskRunChanges(input: WatchInput) {
      metrics.activeTasks.set({ namespace: input.namespace }, input.activeTasks);
      // The view's differences only: the full list stays on this worker (view-watch.ts).
      return watchTaskRunView(deps.kube, input, {
        onJobCreated: () => metrics.jobsCreated.inc({ namespace: input.namespace }),
        onWatchRequest: (resource) => metrics.watchRequests.inc({ namespace: input.namespace, resource }),
      });
    },
    async applyTaskRunActions(input: ApplyActionsInput) {
      return applyTaskRunActions(deps.kube, input, metrics);
    },
    async planTaskRunCleanup(input: CleanupCriteria) {
      return planTaskRunCleanup(deps.kube, input);
    },
    async deleteOldTaskRuns(input: CleanupCriteria) {
      return deleteOldTaskRuns(deps.kube, input);
    },
  };
}
