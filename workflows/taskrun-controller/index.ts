// taskRunController: the TaskRun controller of one namespace, as one long-running workflow with
// a fixed id (taskrun-controller-<namespace>). A watch activity returns the changes of TaskRuns
// and agent Jobs since the last resourceVersions (or a snapshot); the reconciler (reconcile.ts)
// folds them into its state, starts the next watch at once, and creates ConfigMap + Job pairs and
// writes statuses in chunked activities that run alongside the watch (pipeline.ts: a TaskRun that
// appears while Jobs are being created is handled without waiting for them; scheduler.ts decides
// what is in flight). Job names are derived from the TaskRun's name and uid, so no retry or crash
// can give a TaskRun a second Job. Every TaskRun's life answers the `taskRun` query (finished ones:
// the newest finishedHistory); the history stays bounded by continue-as-new, and what it carries by
// following only unfinished TaskRuns. With `searchAttributes`, the counts are search attributes
// (TASKRUN_SEARCH_ATTRIBUTES), upserted when they change.
import { ApplicationFailure, setHandler, workflowInfo } from '@temporalio/workflow';
import { INVALID_INPUT } from '../../contract/failures.ts';
import { parseInput } from '../validate.ts';
import { taskRunQuery, taskRunControllerQuery } from '../../contract/messages.ts';
import { lookup, restoreState } from './reconcile.ts';
import { pipeline, summary, type ControllerRun } from './pipeline.ts';
import {
  controllerWorkflowId,
  taskRunControllerInputSchema,
  type ControllerCarried,
  type TaskRunControllerInput,
} from '../../contract/types/taskrun.ts';

export async function taskRunController(input: TaskRunControllerInput = {}): Promise<void> {
  const opts = parseInput('taskRunController', taskRunControllerInputSchema, input);
  refuseImpostor(opts);
  const carried = opts.carried as ControllerCarried | undefined;
  const run: ControllerRun = {
    opts,
    state: restoreState(carried, opts.finishedHistory),
    rounds: 0,
    runs: (carried?.runs ?? 0) + 1,
    lastSnapshot: Date.now(),
    ...(carried?.cursor ? { cursor: carried.cursor } : {}),
    ...(carried?.suspended ? { suspended: carried.suspended } : {}),
  };
  setHandler(taskRunQuery, (name) => lookup(run.state, name));
  setHandler(taskRunControllerQuery, () => summary(run));
  await pipeline(run);
}

/**
 * One controller per namespace: only under its fixed workflow id (a second one under another id
 * would create the same Jobs and fight over the statuses). The carried state comes only from this
 * workflow's own continue-as-new: one given at a start would make the controller skip or redo work.
 */
function refuseImpostor(opts: { namespace: string; carried?: unknown }): void {
  const info = workflowInfo();
  const expected = controllerWorkflowId(opts.namespace);
  if (info.workflowId !== expected) {
    throw ApplicationFailure.create({
      type: INVALID_INPUT,
      nonRetryable: true,
      message: `taskRunController of namespace ${opts.namespace} runs only as workflow id ${expected}, not ${info.workflowId} (one controller per namespace; start it with client/taskrun-controller.ts)`,
    });
  }
  if (opts.carried !== undefined && info.continuedFromExecutionRunId === undefined) {
    throw ApplicationFailure.create({
      type: INVALID_INPUT,
      nonRetryable: true,
      message:
        "taskRunController: carried is internal, accepted only from the controller's own continue-as-new; start it without carried",
    });
  }
}
