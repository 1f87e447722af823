// The task queue every runbook runs on unless RUNBOOK_TASK_QUEUE / --task-queue names another:
// the worker, `npm start`, the CLI, the schedules and the lease's workflow id all start from it.
export const DEFAULT_TASK_QUEUE = 'runbooks';
