// The worker's Prometheus registry (worker/http.ts serves it on /metrics) and the metrics that activities update.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'runbooks_worker_' });

// The TaskRun controller's metrics (the operations guide's names), updated by its activities.

export const taskRunMetrics = {
  /** One per TaskRun reconciled by applyTaskRunActions (a Job created and/or a status written). */
  reconciliations: new Counter({
    name: 'taskrun_reconciliations_total',
    help: 'TaskRun reconciliations, by result',
    labelNames: ['namespace', 'result'] as const,
    registers: [registry],
  }),
  reconciliationDuration: new Histogram({
    name: 'taskrun_reconciliation_duration_seconds',
    help: 'Time to reconcile one TaskRun (create its Job and/or write its status)',
    labelNames: ['namespace'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  }),
  jobsCreated: new Counter({
    name: 'taskrun_jobs_created_total',
    help: 'Agent Jobs created for TaskRuns',
    labelNames: ['namespace'] as const,
    registers: [registry],
  }),
  jobsFailed: new Counter({
    name: 'taskrun_jobs_failed_total',
    help: 'TaskRuns whose agent Job failed',
    labelNames: ['namespace'] as const,
    registers: [registry],
  }),
  /** A controller whose watches keep reopening (each one the API server replays from its cursor) shows here. */
  watchRequests: new Counter({
    name: 'taskrun_watch_requests_total',
    help: "Watch requests of the TaskRun controller (its namespace's TaskRuns, agent Jobs, config), by resource",
    labelNames: ['namespace', 'resource'] as const,
    registers: [registry],
  }),
  activeTasks: new Gauge({
    name: 'taskrun_active_tasks',
    help: 'TaskRuns with an agent Job that has not finished',
    labelNames: ['namespace'] as const,
    registers: [registry],
  }),
};
export type TaskRunMetrics = typeof taskRunMetrics;
