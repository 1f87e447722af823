// Runbook metrics on the worker's /metrics, next to the SDK's and the TaskRun controller's:
// - from workflow code, through the sink of contract/runbook-metrics.ts (not called on replay):
//   runs started and finished (by runbook, outcome and the schedule that started it), run and step
//   durations, lease wait time;
// - from visibility, at scrape time (cached briefly): paused runbooks and running TaskRun controllers.
//   Every replica reports the same values: aggregate these two with max(), not sum().
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Client } from '@temporalio/client';
import type { WorkflowInfo } from '@temporalio/workflow';
import type { InjectedSinks } from '@temporalio/worker';
import { registry } from '../activities/metrics.ts';
import type { RunbookMetricsSinks } from '../contract/runbook-metrics.ts';
import { PAUSED_PHASES } from '../contract/runbook-search-attributes.ts';

const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600];

export const runbookMetrics = {
  runsStarted: new Counter({
    name: 'runbook_runs_started_total',
    help: 'Runbook runs started, by runbook and the schedule that started them ("" when none)',
    labelNames: ['runbook', 'schedule'] as const,
    registers: [registry],
  }),
  runsFinished: new Counter({
    name: 'runbook_runs_finished_total',
    help: 'Runbook runs finished, by runbook, outcome (final RunbookPhase: succeeded, failed, cancelled, rolled-back, aborted, mismatch) and schedule',
    labelNames: ['runbook', 'outcome', 'schedule'] as const,
    registers: [registry],
  }),
  runDuration: new Histogram({
    name: 'runbook_run_duration_seconds',
    help: 'Runbook run duration, start to end (pauses included)',
    labelNames: ['runbook', 'outcome'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  }),
  stepDuration: new Histogram({
    name: 'runbook_step_duration_seconds',
    help: 'Runbook step duration, by runbook, step and status',
    labelNames: ['runbook', 'step', 'status'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  }),
  leaseWait: new Histogram({
    name: 'runbook_lease_wait_seconds',
    help: 'Time a runbook waited in line for the maintenance lease',
    labelNames: ['runbook'] as const,
    buckets: [0, 1, 5, 15, 60, 300, 900, 1800, 3600, 4 * 3600],
    registers: [registry],
  }),
  paused: new Gauge({
    name: 'runbook_paused',
    help: 'Running runbooks paused for an operator (RunbookPhase paused-*), by runbook and phase; from visibility, the same on every replica',
    labelNames: ['runbook', 'phase'] as const,
    registers: [registry],
    collect: () => collectVisibility(),
  }),
  controllersRunning: new Gauge({
    name: 'runbook_taskrun_controllers_running',
    help: 'Running taskRunController workflows, by TaskRun namespace; from visibility, the same on every replica',
    labelNames: ['namespace'] as const,
    registers: [registry],
    collect: () => collectVisibility(),
  }),
  visibilityErrors: new Counter({
    name: 'runbook_visibility_errors_total',
    help: 'Failed visibility queries behind runbook_paused and runbook_taskrun_controllers_running',
    registers: [registry],
  }),
};

/** The schedule that started this run (its TemporalScheduledById search attribute), or "". */
function scheduleOf(info: WorkflowInfo): string {
  const v = (info.searchAttributes as Record<string, unknown> | undefined)?.TemporalScheduledById;
  return Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '';
}

export function runbookMetricsSinks(): InjectedSinks<RunbookMetricsSinks> {
  const m = runbookMetrics;
  return {
    runbookMetrics: {
      runStarted: { fn: (info, runbook) => m.runsStarted.inc({ runbook, schedule: scheduleOf(info) }) },
      runFinished: {
        fn: (info, runbook, outcome, seconds) => {
          m.runsFinished.inc({ runbook, outcome, schedule: scheduleOf(info) });
          m.runDuration.observe({ runbook, outcome }, seconds);
        },
      },
      stepFinished: {
        fn: (_info, runbook, step, status, seconds) => m.stepDuration.observe({ runbook, step, status }, seconds),
      },
      leaseWaited: { fn: (_info, runbook, seconds) => m.leaseWait.observe({ runbook }, seconds) },
    },
  };
}

let visibility: { client: Client; cacheMs: number } | undefined;
let last: { at: number; done: Promise<void> } | undefined;

/** Lets /metrics read the paused runbooks and running controllers from this client's namespace. */
export function observeVisibility(client: Client, cacheMs = 15_000): void {
  visibility = { client, cacheMs };
  last = undefined;
}

async function collectVisibility(): Promise<void> {
  if (!visibility) return;
  const now = Date.now();
  if (last && now - last.at < visibility.cacheMs) return last.done;
  last = { at: now, done: readVisibility(visibility.client) };
  return last.done;
}

async function readVisibility(client: Client): Promise<void> {
  const paused = new Map<string, number>();
  const controllers = new Map<string, number>();
  try {
    await client.connection.withDeadline(Date.now() + 5_000, async () => {
      const phases = PAUSED_PHASES.map((p) => `'${p}'`).join(', ');
      for await (const wf of client.workflow.list({
        query: `ExecutionStatus = 'Running' AND RunbookPhase IN (${phases})`,
      })) {
        const key = `${String(wf.searchAttributes.RunbookKind?.[0] ?? wf.type)}\0${String(wf.searchAttributes.RunbookPhase?.[0])}`;
        paused.set(key, (paused.get(key) ?? 0) + 1);
      }
      for await (const wf of client.workflow.list({
        query: `ExecutionStatus = 'Running' AND WorkflowType = 'taskRunController'`,
      })) {
        const ns = String(
          wf.searchAttributes.TaskRunNamespace?.[0] ?? wf.workflowId.replace(/^taskrun-controller-/, ''),
        );
        controllers.set(ns, (controllers.get(ns) ?? 0) + 1);
      }
    });
  } catch {
    runbookMetrics.visibilityErrors.inc();
    return; // keep the last values
  }
  runbookMetrics.paused.reset();
  for (const [key, n] of paused) {
    const [runbook = '', phase = ''] = key.split('\0');
    runbookMetrics.paused.set({ runbook, phase }, n);
  }
  // Zero for the paused phases of upgradePlatform, so that an alert's series exists before the first pause.
  for (const phase of PAUSED_PHASES)
    if (!paused.has(`upgradePlatform\0${phase}`)) runbookMetrics.paused.set({ runbook: 'upgradePlatform', phase }, 0);
  runbookMetrics.controllersRunning.reset();
  for (const [namespace, n] of controllers) runbookMetrics.controllersRunning.set({ namespace }, n);
}
