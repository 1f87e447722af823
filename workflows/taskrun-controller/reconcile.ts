// The TaskRun reconciler's decisions, as pure functions over its state (unit-tested without
// Temporal): fold watch results into the tracked TaskRuns, then compute the actions of a round
// (Jobs to create within maxConcurrentTasks, status subresource writes); finished TaskRuns leave
// the tracked ones for a bounded list of recent ones.
import {
  TERMINAL_PHASES,
  type ActionResult,
  type ControllerCarried,
  type ControllerConfig,
  type FinishedCounts,
  type ObservedJob,
  type ObservedTaskRun,
  type StatusCondition,
  type TaskRunAction,
  type TaskRunPhase,
  type TaskRunStatus,
  type TrackedTaskRun,
  type WatchCursor,
  type WatchResult,
} from '../../contract/types/taskrun.ts';
import { jobNameFor } from '../../contract/taskrun-job-name.ts';

export type TaskRunState = Map<string, TrackedTaskRun>;

export const isTerminal = (phase: TaskRunPhase) => TERMINAL_PHASES.includes(phase);

export { jobNameFor };

/**
 * What the reconciler knows. Only unfinished TaskRuns are followed (`tracked`); a finished one
 * moves to `finished`, a bounded list of the newest ones kept for the `taskRun` query, so that
 * the state carried across continue-as-new does not grow with the finished TaskRuns kept in the
 * cluster. A TaskRun whose stored status is already final is never followed again.
 */
export interface ReconcilerState {
  tracked: TaskRunState;
  /** Finished TaskRuns, oldest first (Map insertion order), compacted; at most keepFinished. */
  finished: TaskRunState;
  keepFinished: number;
  /** TaskRuns that finished while followed, since the controller's first run. */
  finishedCounts: FinishedCounts;
}

/** The status on the TaskRun is final: nothing is left to do for it. */
export const isFinished = (t: TrackedTaskRun) => isTerminal(t.phase) && t.written?.phase === t.phase;

/** What a finished TaskRun keeps: its phases and final status, not its Job, spec or conditions. */
export function compact(t: TrackedTaskRun): TrackedTaskRun {
  const { job: _job, pendingSpec: _spec, ...rest } = t;
  return t.written ? { ...rest, written: { ...t.written, conditions: [] } } : rest;
}

function remember(state: ReconcilerState, t: TrackedTaskRun): void {
  state.finished.delete(t.name); // re-inserted as the newest
  if (state.keepFinished > 0) state.finished.set(t.name, t);
  for (const name of state.finished.keys()) {
    if (state.finished.size <= state.keepFinished) break;
    state.finished.delete(name);
  }
}

/** A followed TaskRun's final status is written: it moves to the bounded finished list. */
function finish(state: ReconcilerState, t: TrackedTaskRun, now: string): void {
  state.tracked.delete(t.name);
  if (t.phase === 'Succeeded' || t.phase === 'Failed') state.finishedCounts[t.phase]++;
  remember(state, { ...compact(t), finishedAt: now });
}

/** The state at the start of a run, from what the previous run carried (if any). */
export function restoreState(carried: ControllerCarried | undefined, keepFinished: number): ReconcilerState {
  const state: ReconcilerState = {
    tracked: new Map(),
    finished: new Map(),
    keepFinished,
    finishedCounts: { Succeeded: 0, Failed: 0, ...carried?.finishedCounts },
  };
  for (const t of carried?.finished ?? []) remember(state, t);
  for (const t of carried?.taskRuns ?? []) state.tracked.set(t.name, t);
  return state;
}

/**
 * The carried state's budget (JSON bytes; the workflow's other input adds about 1 KB), whatever the
 * number of TaskRuns: about 450 TaskRuns with a Job (about 1 KB each) fit; beyond, the rest are
 * re-derived from the view after continue-as-new.
 */
export const CARRY_BUDGET_BYTES = 448 * 1024;

/** Jobless and pending: the worker's view sends it again after continue-as-new (in its turn), so it may be left behind. */
const rederivable = (t: TrackedTaskRun) =>
  !t.jobCreated && !isTerminal(t.phase) && !t.rejected && !t.restorePending && !t.jobLost;

/**
 * What the next run needs: the followed TaskRuns with a Job (or a rejection, a restore, a lost
 * Job), then the pending ones oldest first and the newest finished ones while the budget lasts;
 * the counts. What is left behind is not lost: the new run's first watch sends the worker's view
 * afresh (view-watch.ts: a new run id), with every unfinished TaskRun that has a Job and the head of
 * the queue; only their transitions and the oldest finished ones' query answers are forgotten. Job
 * names are derived from name and uid, so a re-derived TaskRun never gets a second Job.
 */
export function carryState(
  state: ReconcilerState,
  cursor: WatchCursor | undefined,
  runs: number,
  budgetBytes = CARRY_BUDGET_BYTES,
): ControllerCarried {
  let used = 1024;
  const take = (limit: number) => (t: TrackedTaskRun) => {
    const size = JSON.stringify(t).length + 1;
    if (used + size > limit) return false;
    used += size;
    return true;
  };
  const tracked = [...state.tracked.values()];
  const byAge = (a: TrackedTaskRun, b: TrackedTaskRun) =>
    (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.name.localeCompare(b.name);
  const taskRuns = [
    ...tracked.filter((t) => !rederivable(t)).filter(take(budgetBytes)),
    ...tracked.filter(rederivable).sort(byAge).filter(take(budgetBytes)),
  ];
  const finished: TrackedTaskRun[] = [];
  for (const t of [...state.finished.values()].reverse()) if (take(budgetBytes)(t)) finished.unshift(t);
  return {
    taskRuns,
    finished,
    finishedCounts: { ...state.finishedCounts },
    ...(cursor ? { cursor } : {}),
    runs,
  };
}

/** The taskRun query: a followed TaskRun, else a recently finished one, else null. */
export function lookup(state: ReconcilerState, name: string): TrackedTaskRun | null {
  return state.tracked.get(name) ?? state.finished.get(name) ?? null;
}

function track(obs: ObservedTaskRun, now: string): TrackedTaskRun {
  const phase = obs.status?.phase ?? 'Pending';
  const jobCreated = Boolean(obs.status?.jobName);
  return {
    name: obs.name,
    uid: obs.uid,
    generation: obs.generation,
    taskId: obs.spec.taskId,
    service: obs.spec.service,
    phase,
    jobName: obs.status?.jobName ?? jobNameFor(obs.name, obs.uid),
    jobCreated,
    transitions: [{ phase, at: now }],
    ...(obs.status?.phase
      ? { written: { conditions: [], message: '', observedGeneration: 0, jobName: '', ...obs.status, phase } }
      : {}),
    ...(jobCreated || isTerminal(phase) ? {} : { pendingSpec: obs.spec }),
    ...(obs.creationTimestamp ? { createdAt: obs.creationTimestamp } : {}),
  };
}

function upsertTaskRun(state: ReconcilerState, obs: ObservedTaskRun, now: string): void {
  let current = state.tracked.get(obs.name);
  if (current && current.uid !== obs.uid) {
    state.tracked.delete(obs.name); // recreated under the same name: the one followed is gone
    current = undefined;
  }
  const storedPhase = obs.status?.phase;
  if (storedPhase && isTerminal(storedPhase)) {
    // Its final status is written: nothing to do, so it is not followed (again). Followed until now
    // (a status write whose answer was lost, or another writer): it finished.
    if (current?.restorePending) {
      // A restored outcome (written by the restore): not this controller's to count.
      state.tracked.delete(obs.name);
      return;
    }
    if (current) {
      if (current.phase !== storedPhase) current.transitions.push({ phase: storedPhase, at: now });
      current.phase = storedPhase;
      current.written = {
        conditions: [],
        message: '',
        observedGeneration: 0,
        jobName: '',
        ...current.written,
        ...obs.status,
        phase: storedPhase,
      };
      finish(state, current, now);
    }
    return;
  }
  if (obs.restorePending || current?.restorePending) {
    state.tracked.set(obs.name, restoring(obs, current, now));
    return;
  }
  // Finished here already: a late event of it (a status older than the final one) is no new work.
  if (!current && state.finished.get(obs.name)?.uid === obs.uid) return;
  if (!current) {
    state.tracked.set(obs.name, track(obs, now));
    return;
  }
  current.generation = obs.generation;
  if (!current.jobCreated && !isTerminal(current.phase)) current.pendingSpec = obs.spec;
}

/**
 * A TaskRun the restore is writing (RESTORE_PENDING_ANNOTATION: created, then its backed-up status
 * written, then the annotation removed): followed without any action while annotated. Once the
 * annotation is gone it is followed from the status the restore wrote, as if seen for the first
 * time: a Job named there that this controller never saw for this uid (the backed-up TaskRun's Job,
 * owned by another uid) is lost (JobLost), never created a second time.
 */
function restoring(obs: ObservedTaskRun, current: TrackedTaskRun | undefined, now: string): TrackedTaskRun {
  const t = track(obs, now);
  // Its Job, when it has one (restored over a TaskRun this controller followed: same uid).
  if (current?.job) {
    t.job = current.job;
    t.jobName = current.job.name;
    t.jobCreated = true;
    delete t.pendingSpec;
  }
  if (current) {
    if (current.phase !== t.phase) current.transitions.push({ phase: t.phase, at: now });
    t.transitions = current.transitions;
  }
  if (obs.restorePending) {
    t.restorePending = true;
    delete t.pendingSpec; // read again from the TaskRun when the annotation goes
  } else if (t.jobCreated && !t.job && t.jobName !== jobNameFor(obs.name, obs.uid)) {
    t.jobLost = jobUnseen(t.jobName);
  }
  return t;
}

function upsertJob(state: TaskRunState, job: ObservedJob): void {
  const t = state.get(job.ownerName);
  // A rejected creation's Job (made before its ConfigMap was refused, then deleted) is not followed.
  if (!t || t.uid !== job.ownerUid || t.rejected) return;
  t.job = job;
  t.jobName = job.name;
  t.jobCreated = true;
  delete t.pendingSpec;
  delete t.jobLost;
  delete t.jobCreatedAt;
}

/** Messages of a TaskRun whose Job went away before its outcome was seen (it fails; never a second Job). */
export const JOB_DELETED = 'the agent Job was deleted before it finished';
export const jobUnseen = (jobName: string) =>
  `the agent Job ${jobName} no longer exists and its outcome was not seen: it was deleted, or finished and was removed (ttlSecondsAfterFinished), while the controller was not watching; create a new TaskRun to run the task again`;

/**
 * How long a Job this controller created may be missing from a snapshot before it counts as lost: a
 * snapshot of the worker's view can be taken before the Job's watch event arrived (a 2,000-TaskRun
 * bench saw 6 TaskRuns failed as JobLost 250 ms after their Job was created). A Job deleted before
 * any watch saw it is found lost by the first snapshot after this.
 */
const UNSEEN_JOB_GRACE_MS = 60_000;

export interface WatchOptions {
  /** TaskRuns whose Job was created while the watch ran: a snapshot may have been listed before them. */
  createdMeanwhile?: ReadonlySet<string>;
}

/**
 * Folds one watch result into the state (a snapshot first replaces what is known). A snapshot fails
 * an unfinished TaskRun whose Job (status.jobName) is absent, also when this state never saw that
 * Job (a controller started afresh).
 */
export function applyWatchResult(
  state: ReconcilerState,
  result: WatchResult,
  now: string,
  options: WatchOptions = {},
): void {
  if (result.snapshot) {
    const uids = new Map(result.snapshot.taskRuns.map((t) => [t.name, t.uid]));
    // Absent from the worker's view (snapshot.view): queued (sent again when its turn comes), or gone.
    for (const name of state.tracked.keys()) if (!uids.has(name)) state.tracked.delete(name);
    // The view holds no finished TaskRuns: only a full list says which of them are gone.
    if (!result.snapshot.view)
      for (const [name, t] of state.finished) if (uids.get(name) !== t.uid) state.finished.delete(name);
    for (const obs of result.snapshot.taskRuns) upsertTaskRun(state, obs, now);
    const jobsByOwner = new Map(result.snapshot.jobs.map((j) => [`${j.ownerName}/${j.ownerUid}`, j]));
    for (const t of state.tracked.values()) {
      const job = jobsByOwner.get(`${t.name}/${t.uid}`);
      if (job) upsertJob(state.tracked, job);
      else if (options.createdMeanwhile?.has(t.name)) continue;
      // Created by us moments ago: the worker's view may not have its event yet (a new run's first snapshot).
      else if (t.jobCreatedAt && Date.parse(now) - Date.parse(t.jobCreatedAt) < UNSEEN_JOB_GRACE_MS) continue;
      else if (t.job) jobGone(t, jobUnseen(t.jobName));
      // Created (status.jobName) but never seen, e.g. deleted while the controller was down.
      else if (t.jobCreated && !isTerminal(t.phase)) t.jobLost = jobUnseen(t.jobName);
    }
  }
  for (const change of result.changes) {
    if (change.kind === 'taskRun') {
      if (change.type === 'upsert') upsertTaskRun(state, change.taskRun, now);
      else if (state.tracked.get(change.name)?.uid === change.uid) state.tracked.delete(change.name);
      else if (state.finished.get(change.name)?.uid === change.uid) state.finished.delete(change.name);
    } else if (change.type === 'upsert') {
      upsertJob(state.tracked, change.job);
    } else {
      const t = state.tracked.get(change.ownerName);
      // A watch delivers a Job's completion before its deletion: deleted without an outcome, it did not finish.
      if (t && t.uid === change.ownerUid && t.jobName === change.name) jobGone(t, JOB_DELETED);
    }
  }
}

/** The Job went away (TTL after it finished, or deleted by hand): never recreated, so at most one Job. */
function jobGone(t: TrackedTaskRun, why: string): void {
  if (t.job?.outcome) return; // finished: keep what it reported
  delete t.job;
  t.jobLost = why;
}

function desiredPhase(t: TrackedTaskRun): TaskRunPhase {
  if (isTerminal(t.phase)) return t.phase;
  if (t.rejected) return 'Failed';
  if (t.jobCreated && !t.job && t.jobLost) return 'Failed';
  if (t.job?.outcome) return t.job.outcome;
  if (t.job && (t.job.startTime || t.job.active > 0)) return 'Running';
  return 'Pending';
}

function condition(
  previous: StatusCondition[] | undefined,
  c: Omit<StatusCondition, 'lastTransitionTime'>,
  now: string,
): StatusCondition {
  const before = previous?.find((p) => p.type === c.type);
  return { ...c, lastTransitionTime: before && before.status === c.status ? before.lastTransitionTime : now };
}

/** A status without its conditions: what sameStatus compares (planRound computes it for every followed TaskRun each round). */
type StatusFields = Omit<TaskRunStatus, 'conditions'>;

/** The status this TaskRun should have, from what is known about it and its Job. */
export function desiredStatus(t: TrackedTaskRun, waitingFor: string | undefined, now: string): TaskRunStatus {
  const fields = desiredFields(t, waitingFor, now);
  return { ...fields, conditions: desiredConditions(t, fields.phase, waitingFor, now) };
}

function desiredFields(t: TrackedTaskRun, waitingFor: string | undefined, now: string): StatusFields {
  const gen = t.generation;
  if (t.rejected)
    return {
      phase: 'Failed',
      jobName: '',
      completionTime: t.written?.completionTime ?? now,
      message: rejectedMessage(t.rejected),
      observedGeneration: gen,
    };
  const phase = desiredPhase(t);
  const message =
    phase === 'Pending'
      ? t.jobCreated
        ? `agent Job ${t.jobName} created, waiting for it to start`
        : (waitingFor ?? 'creating the agent Job')
      : phase === 'Running'
        ? `agent Job ${t.jobName} running`
        : phase === 'Succeeded'
          ? `agent Job ${t.jobName} completed`
          : (t.job?.message ?? t.jobLost ?? t.lastError ?? `agent Job ${t.jobName} failed`);
  const startTime = t.job?.startTime ?? t.written?.startTime;
  const completionTime = isTerminal(phase)
    ? (t.job?.completionTime ?? t.job?.finishedAt ?? t.written?.completionTime ?? now)
    : undefined;
  // Assigned, not spread: the bundle turns each spread into a helper call, the round's largest cost.
  const fields: StatusFields = { phase, jobName: t.jobCreated ? t.jobName : '', message, observedGeneration: gen };
  if (startTime && phase !== 'Pending') fields.startTime = startTime;
  if (completionTime) fields.completionTime = completionTime;
  return fields;
}

function desiredConditions(
  t: TrackedTaskRun,
  phase: TaskRunPhase,
  waitingFor: string | undefined,
  now: string,
): StatusCondition[] {
  const prev = t.written?.conditions;
  const observedGeneration = t.generation;
  const at = (c: Omit<StatusCondition, 'lastTransitionTime' | 'observedGeneration'>) =>
    condition(prev, { ...c, observedGeneration }, now);
  if (t.rejected)
    return [
      at({ type: 'JobCreated', status: 'False', reason: 'Rejected', message: t.rejected }),
      at({ type: 'Complete', status: 'False', reason: 'JobRejected', message: rejectedMessage(t.rejected) }),
    ];
  const conditions = [
    t.jobCreated
      ? at({ type: 'JobCreated', status: 'True', reason: 'Created', message: `agent Job ${t.jobName}` })
      : at({ type: 'JobCreated', status: 'False', reason: 'Waiting', message: waitingFor ?? 'creating the agent Job' }),
  ];
  if (phase !== 'Pending')
    conditions.push(at({ type: 'Started', status: 'True', reason: 'JobStarted', message: 'the agent Job started' }));
  if (isTerminal(phase)) {
    const ok = phase === 'Succeeded';
    const lost = !t.job && Boolean(t.jobLost);
    conditions.push(
      at({
        type: 'Complete',
        status: ok ? 'True' : 'False',
        reason: ok ? 'JobSucceeded' : lost ? 'JobLost' : 'JobFailed',
        message: ok
          ? 'the agent Job completed'
          : (t.job?.message ?? t.jobLost ?? t.lastError ?? 'the agent Job failed'),
      }),
    );
  }
  return conditions;
}

/** The API server rejected the TaskRun's ConfigMap or Job for good: Failed with its reason, no Job. */
export const rejectedMessage = (reason: string) =>
  `the API server rejected the agent Job (or its task ConfigMap), so it will never run: ${reason}; fix the TaskRun's spec (or the controller config) and create a new TaskRun`;

function sameStatus(a: TaskRunStatus | undefined, b: StatusFields): boolean {
  return (
    Boolean(a) &&
    a!.phase === b.phase &&
    (a!.jobName ?? '') === b.jobName &&
    a!.startTime === b.startTime &&
    a!.completionTime === b.completionTime &&
    a!.message === b.message &&
    a!.observedGeneration === b.observedGeneration
  );
}

/**
 * Pending or Running with a Job that has not finished: what counts against maxConcurrentTasks
 * (taskrun_active_tasks). A Job seen finished frees its slot at once, before the final status is
 * written (a round trip later), as an informer's controller frees it.
 */
export function activeCount(state: TaskRunState): number {
  let n = 0;
  for (const t of state.values())
    if (t.jobCreated && !isTerminal(t.phase) && !t.restorePending && !t.rejected && !t.job?.outcome) n++;
  return n;
}

/** Has no Job yet and will get one from this workflow (planRound) when a slot is free. */
const waitingForJob = (t: TrackedTaskRun) =>
  !t.jobCreated && !isTerminal(t.phase) && t.pendingSpec !== undefined && !t.restorePending && !t.rejected;

/**
 * The watch's hot-path budget (WatchInput.createBudget): the free slots minus every TaskRun this
 * workflow will create a Job for itself (in flight, backing off, or waiting), so that the Jobs the
 * watch creates and the ones planRound creates never pass maxConcurrentTasks together, and the
 * TaskRuns known here keep their turn before newer ones.
 */
export function hotPathBudget(state: TaskRunState, config: Pick<ControllerConfig, 'maxConcurrentTasks'>): number {
  let reserved = 0;
  for (const t of state.values()) if (waitingForJob(t)) reserved++;
  return Math.max(0, config.maxConcurrentTasks - activeCount(state) - reserved);
}

/**
 * The actions of one round: Job creations (oldest first, within the cap) and status writes that
 * differ. `busy`: TaskRuns with writes in flight get no action; their creations count against the cap.
 * `backoff`: TaskRuns waiting to retry a failed write get no action and hold no slot.
 */
export function planRound(
  state: TaskRunState,
  config: Pick<ControllerConfig, 'maxConcurrentTasks'>,
  now: string,
  busy: ReadonlySet<string> = new Set(),
  backoff: ReadonlySet<string> = new Set(),
): TaskRunAction[] {
  const waiting = [...state.values()]
    .filter((t) => waitingForJob(t) && !busy.has(t.name) && !backoff.has(t.name))
    .sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.name.localeCompare(b.name));
  let beingCreated = 0;
  for (const name of busy) if (state.get(name) && waitingForJob(state.get(name)!)) beingCreated++;
  const slots = Math.max(0, config.maxConcurrentTasks - activeCount(state) - beingCreated);
  const creating = new Set(waiting.slice(0, slots).map((t) => t.name));
  const actions: TaskRunAction[] = [];
  for (const t of state.values()) {
    // Being restored: no Job, no ConfigMap, no status write until the annotation goes.
    if (busy.has(t.name) || backoff.has(t.name) || t.restorePending) continue;
    if (creating.has(t.name)) {
      const after = { ...t, jobCreated: true };
      actions.push({
        name: t.name,
        uid: t.uid,
        jobName: t.jobName,
        create: t.pendingSpec!,
        status: desiredStatus(after, undefined, now),
      });
      continue;
    }
    // A finished TaskRun's status is final: never rewritten (also not after a restart's snapshot).
    if (isFinished(t)) continue;
    const waitingFor = !t.jobCreated
      ? `waiting for a free slot (maxConcurrentTasks ${config.maxConcurrentTasks})`
      : undefined;
    // Conditions are built only for a status that changed (most followed TaskRuns' did not).
    if (!sameStatus(t.written, desiredFields(t, waitingFor, now)))
      actions.push({ name: t.name, uid: t.uid, jobName: t.jobName, status: desiredStatus(t, waitingFor, now) });
  }
  return actions;
}

/** Records what the activities did: created Jobs, written statuses (a final one ends the following), vanished TaskRuns, errors. */
export function applyResults(
  state: ReconcilerState,
  actions: TaskRunAction[],
  results: ActionResult[],
  now: string,
): void {
  const byName = new Map(actions.map((a) => [a.name, a]));
  for (const r of results) {
    const action = byName.get(r.name);
    const t = state.tracked.get(r.name);
    if (!action || !t || t.uid !== action.uid) continue;
    if (r.job === 'gone' || r.status === 'gone') {
      state.tracked.delete(r.name);
      continue;
    }
    if (r.job === 'created' || r.job === 'existing') {
      t.jobCreated = true;
      if (!t.job) t.jobCreatedAt = now;
      delete t.pendingSpec;
    }
    if (r.status === 'written' && action.status) {
      t.written = action.status;
      if (t.phase !== action.status.phase) {
        // A Job that finished before the watch saw it run still ran: record Running at its start.
        if (
          isTerminal(action.status.phase) &&
          !t.transitions.some((x) => x.phase === 'Running') &&
          action.status.startTime
        ) {
          t.transitions.push({ phase: 'Running', at: action.status.startTime });
        }
        t.transitions.push({ phase: action.status.phase, at: now });
        t.phase = action.status.phase;
      }
    }
    if (r.rejected) {
      // Refused for good: it fails. A Job the watch saw meanwhile was made before its ConfigMap was
      // refused, and the activity deleted it.
      t.rejected = r.rejected;
      t.jobCreated = false;
      delete t.jobCreatedAt;
      delete t.job;
      delete t.pendingSpec;
    }
    if (r.error) t.lastError = r.error;
    else delete t.lastError;
    if (isFinished(t)) finish(state, t, now);
  }
}

export function countByPhase(state: TaskRunState): Record<string, number> {
  const byPhase: Record<string, number> = {};
  for (const t of state.values()) {
    const key = t.restorePending ? 'Restoring' : t.phase;
    byPhase[key] = (byPhase[key] ?? 0) + 1;
  }
  return byPhase;
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
