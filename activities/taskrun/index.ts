// The TaskRun controller's activities (the watch, creations + status writes, cleanup).
import type { ActivityDeps } from '../deps.ts';
import { taskRunMetrics, type TaskRunMetrics } from '../../worker/metrics.ts';
import { watchTaskRunChanges } from './watch.ts';
import { applyTaskRunActions } from './apply.ts';
import { deleteTaskRuns, planTaskRunCleanup, type PlanCleanupInput } from './cleanup.ts';
import type { ApplyActionsInput, WatchInput } from '../../workflows/types/taskrun.ts';

export function taskRunActivities(deps: ActivityDeps, metrics: TaskRunMetrics = taskRunMetrics) {
  return {
    async watchTaskRunChanges(input: WatchInput) {
      metrics.activeTasks.set({ namespace: input.namespace }, input.activeTasks);
      return watchTaskRunChanges(deps.kube, input);
    },
    async applyTaskRunActions(input: ApplyActionsInput) {
      return applyTaskRunActions(deps.kube, input, metrics);
    },
    async planTaskRunCleanup(input: PlanCleanupInput) {
      return planTaskRunCleanup(deps.kube, input);
    },
    async deleteTaskRuns(input: { namespace: string; taskRuns: { name: string; uid: string }[] }) {
      return deleteTaskRuns(deps.kube, input);
    },
  };
}
