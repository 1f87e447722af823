// runbook lease: who holds the maintenance lease of this task queue's cluster, and who waits.
import { WorkflowNotFoundError } from '@temporalio/client';
import { leaseQuery, maintenanceLeaseId } from '../../contract/lease-messages.ts';
import type { LeaseState } from '../../contract/types/lease.ts';
import { EXIT, str, type Command } from './command.ts';
import { table } from './run-state.ts';

export const lease: Command = {
  name: 'lease',
  synopsis: 'lease [--task-queue Q]',
  summary: 'the maintenance lease: its holder (since when) and the runbooks waiting in line',
  help: `  --task-queue Q   the lease of another task queue's workers (default: RUNBOOK_TASK_QUEUE)
  --json           {leaseId, holder, waiters, runs}; holder null when free`,
  options: { 'task-queue': { type: 'string' } },
  async run({ values, json }, io) {
    const { client, settings } = await io.temporal();
    const leaseId = maintenanceLeaseId(str(values, 'task-queue') ?? settings.taskQueue);
    const handle = client.workflow.getHandle(leaseId);
    let state: LeaseState;
    try {
      const running = (await handle.describe()).status.name === 'RUNNING';
      // The lease workflow ends when nobody holds or wants it: then it is free.
      state = running ? await handle.query(leaseQuery) : { leaseId, holder: null, waiters: [], runs: 0 };
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      state = { leaseId, holder: null, waiters: [], runs: 0 };
    }
    if (json) {
      io.out(JSON.stringify(state, null, 2));
      return EXIT.succeeded;
    }
    io.out(
      state.holder
        ? `${leaseId}: held by ${state.holder.workflowId} (${state.holder.runbook}) since ${state.holder.grantedAt}`
        : `${leaseId}: free`,
    );
    if (state.waiters.length) {
      io.out(
        table(
          ['#', 'WAITING', 'RUNBOOK', 'PRIORITY', 'SINCE'],
          state.waiters.map((w, i) => [String(i + 1), w.workflowId, w.runbook, String(w.priority), w.requestedAt]),
        ),
      );
    }
    return EXIT.succeeded;
  },
};
