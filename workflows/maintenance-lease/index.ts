// maintenanceLease: a mutex workflow, one per cluster (id `maintenance-lease`: see maintenanceLeaseId).
// Runbooks that change the platform request it (signal, or start it when it is not running: see
// acquire.ts), wait for the grant, act, and release it in a finally that cancellation cannot skip.
//
// A lease never outlives its holder. A holder that ends in any way its own code sees (success,
// failure, cancellation) releases in its finally. One that is terminated (or whose worker history is
// reset) cannot run code, so the lease checks on it: it signals the holder's run (leasePing), and a
// signal to a closed run fails. It does so whenever a new request finds the lease taken, and every
// checkIntervalSeconds while anyone waits: a dead holder is dropped before it can block anyone. (We
// chose this over a child "guard" workflow per holder or an activity that describes the holder:
// it needs no activity, so it works the same under mocked activities, and costs the holder one
// signal event per check only while someone waits.) Waiters are checked the same way, and a grant
// that cannot be delivered (the waiter is gone) goes to the next in line.
//
// Preemption: a request at PREEMPTING_PRIORITY (incident response) that finds a holder of lower
// priority asks it, once, to yield (leasePreempt); the holder releases at its next step boundary and
// asks again as `resuming` (first in line among its own priority), behind the preempting runbook.
//
// The queue survives continue-as-new (holder, waiters and unhandled messages are the next run's
// input). With no holder and no waiter the workflow ends (after idleExitSeconds): the next request
// starts it again.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  PREEMPTING_PRIORITY,
  type LeaseHolder,
  type LeaseRequest,
  type LeaseState,
  type LeaseWaitNotice,
  type MaintenanceLeaseInput,
} from '../../contract/types/lease.ts';
import {
  leaseDeniedSignal,
  leaseGrantedSignal,
  leasePingSignal,
  leasePreemptSignal,
  leaseQuery,
  leaseQueuedSignal,
  releaseLeaseSignal,
  requestLeaseSignal,
} from '../../contract/lease-messages.ts';

const sameRun = (a: { workflowId: string; runId: string }, b: { workflowId: string; runId: string }) =>
  a.workflowId === b.workflowId && a.runId === b.runId;

export async function maintenanceLease(input: MaintenanceLeaseInput = {}): Promise<LeaseState> {
  const leaseId = workflowInfo().workflowId;
  const checkMs = (input.checkIntervalSeconds ?? 15) * 1000;
  const idleMs = (input.idleExitSeconds ?? 0) * 1000;
  let holder: LeaseHolder | null = input.holder ?? null;
  const waiters: LeaseRequest[] = [...(input.waiters ?? [])];
  const requests: LeaseRequest[] = [...(input.requests ?? [])];
  const releases: { workflowId: string; runId: string }[] = [...(input.releases ?? [])];
  const runs = (input.runs ?? 0) + 1;
  const state = (): LeaseState => ({ leaseId, holder, waiters: [...waiters], runs });

  setHandler(requestLeaseSignal, (r) => void requests.push(r));
  setHandler(releaseLeaseSignal, (r) => void releases.push(r));
  setHandler(leaseQuery, state);

  const alive = async (run: { workflowId: string; runId: string }): Promise<boolean> => {
    try {
      await getExternalWorkflowHandle(run.workflowId, run.runId).signal(leasePingSignal);
      return true;
    } catch {
      return false;
    }
  };
  const notice = (position: number): LeaseWaitNotice => ({
    leaseId,
    holder: holder ? { workflowId: holder.workflowId, runbook: holder.runbook, since: holder.grantedAt } : null,
    position,
  });
  const tell = async (
    run: LeaseRequest,
    signal: typeof leaseQueuedSignal | typeof leaseDeniedSignal,
    position: number,
  ) => {
    try {
      await getExternalWorkflowHandle(run.workflowId, run.runId).signal(signal, notice(position));
      return true;
    } catch {
      return false;
    }
  };
  const dropDeadHolder = async () => {
    if (holder && !(await alive(holder))) holder = null;
  };
  /** Grants to the first live waiter (priority, then arrival); tells the rest who holds it now. */
  const grantNext = async () => {
    while (!holder && waiters.length) {
      const next = waiters.shift()!;
      const grantedAt = new Date().toISOString();
      try {
        await getExternalWorkflowHandle(next.workflowId, next.runId).signal(leaseGrantedSignal, { leaseId, grantedAt });
        holder = { ...next, grantedAt };
      } catch {
        // The waiter is gone: the next in line.
      }
      if (holder) {
        const told = await Promise.all(waiters.map((w, i) => tell(w, leaseQueuedSignal, i + 1)));
        for (let i = told.length - 1; i >= 0; i--) if (!told[i]) waiters.splice(i, 1);
      }
    }
  };
  const enqueue = (r: LeaseRequest) => {
    let at = waiters.findIndex(
      (w) => w.priority < r.priority || (r.resuming && w.priority === r.priority && !w.resuming),
    );
    if (at < 0) at = waiters.length;
    waiters.splice(at, 0, r);
    return at + 1;
  };

  /** Asks a holder of lower priority to yield to a preempting request (once per holder). */
  const preemptHolderFor = async (r: LeaseRequest) => {
    if (!holder || r.priority < PREEMPTING_PRIORITY || holder.priority >= r.priority || holder.preemptedBy) return;
    holder.preemptedBy = r.workflowId;
    await getExternalWorkflowHandle(holder.workflowId, holder.runId)
      .signal(leasePreemptSignal, {
        leaseId,
        by: { workflowId: r.workflowId, runbook: r.runbook, priority: r.priority },
      })
      .catch(() => undefined); // a dead holder is dropped by the next check
  };

  // The Web UI shows the holder and the line (the `lease` query returns the same as JSON).
  const publish = () =>
    setCurrentDetails(
      [
        `**maintenance lease ${leaseId}**`,
        holder
          ? `held by ${holder.workflowId} (${holder.runbook}) since ${holder.grantedAt}${holder.preemptedBy ? `; asked to yield to ${holder.preemptedBy}` : ''}`
          : 'free',
        ...waiters.map(
          (w, i) =>
            `${i + 1}. ${w.workflowId} (${w.runbook}) waiting since ${w.requestedAt}${w.priority ? `, priority ${w.priority}` : ''}`,
        ),
      ].join('\n\n'),
    );

  let lastCheck = Date.now();
  for (;;) {
    publish();
    // Releases first: a holder that released and asked again goes to the back of the line.
    for (const r of releases.splice(0)) {
      if (holder && sameRun(holder, r)) holder = null;
      const i = waiters.findIndex((w) => sameRun(w, r));
      if (i >= 0) waiters.splice(i, 1);
    }
    for (const r of requests.splice(0)) {
      if (holder && sameRun(holder, r)) {
        // A repeated request of the holder (e.g. a re-sent signal): grant again, idempotently.
        await getExternalWorkflowHandle(r.workflowId, r.runId)
          .signal(leaseGrantedSignal, { leaseId, grantedAt: holder.grantedAt })
          .catch(() => undefined);
        continue;
      }
      if (waiters.some((w) => sameRun(w, r))) continue;
      await dropDeadHolder();
      lastCheck = Date.now();
      if (!holder && !waiters.length) {
        waiters.push(r);
        await grantNext();
      } else if (!r.wait) {
        await tell(r, leaseDeniedSignal, 0);
      } else {
        const position = enqueue(r);
        await tell(r, leaseQueuedSignal, position);
        await preemptHolderFor(r);
      }
    }
    await grantNext();
    publish();

    if (!holder && !waiters.length) {
      if (!(await condition(() => requests.length > 0 || releases.length > 0, idleMs || 1))) {
        await condition(allHandlersFinished);
        if (!requests.length && !releases.length) return state();
      }
      continue;
    }
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof maintenanceLease>({
        holder,
        waiters,
        requests,
        releases,
        checkIntervalSeconds: checkMs / 1000,
        idleExitSeconds: idleMs / 1000,
        runs,
      });
    }
    const hasMessages = () => requests.length > 0 || releases.length > 0;
    if (!waiters.length) {
      await condition(hasMessages);
      continue;
    }
    if (!(await condition(hasMessages, Math.max(1, checkMs - (Date.now() - lastCheck))))) {
      // Someone waits: is the holder (and is every waiter) still there?
      lastCheck = Date.now();
      await dropDeadHolder();
      const live = await Promise.all(waiters.map((w) => alive(w)));
      for (let i = live.length - 1; i >= 0; i--) if (!live[i]) waiters.splice(i, 1);
    }
  }
}
