// The TaskRun reconciler's decisions, as pure functions over its state (unit-tested without
// Temporal): fold watch results into the tracked TaskRuns, then compute the actions of a round
// (Jobs to create within maxConcurrentTasks, status subresource writes).
import {
  TERMINAL_PHASES,
  type ActionResult,
  type ControllerConfig,
  type ObservedJob,
  type ObservedTaskRun,
  type StatusCondition,
  type TaskRunAction,
  type TaskRunPhase,
  type TaskRunStatus,
  type TrackedTaskRun,
  type WatchResult,
} from './types/taskrun.ts';

export type TaskRunState = Map<string, TrackedTaskRun>;

export const isTerminal = (phase: TaskRunPhase) => TERMINAL_PHASES.includes(phase);

/**
 * The agent Job's (and task ConfigMap's) name: derived from the TaskRun's name and uid, so every
 * retry or restarted controller computes the same one, and a recreated TaskRun gets a new one.
 * At most 62 characters (a Job's name is also its pods' job-name label value).
 */
export function jobNameFor(taskRunName: string, uid: string): string {
  const base = taskRunName.replace(/\./g, '-').slice(0, 53).replace(/-+$/, '');
  return `${base}-${uid.replace(/-/g, '').slice(0, 8)}`;
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
    ...(obs.status?.phase ? { written: { conditions: [], message: '', observedGeneration: 0, jobName: '', ...obs.status, phase } } : {}),
    ...(jobCreated || isTerminal(phase) ? {} : { pendingSpec: obs.spec }),
    ...(obs.creationTimestamp ? { createdAt: obs.creationTimestamp } : {}),
  };
}

function upsertTaskRun(state: TaskRunState, obs: ObservedTaskRun, now: string): void {
  const current = state.get(obs.name);
  if (!current || current.uid !== obs.uid) {
    state.set(obs.name, track(obs, now));
    return;
  }
  current.generation = obs.generation;
  if (!current.jobCreated && !isTerminal(current.phase)) current.pendingSpec = obs.spec;
}

function upsertJob(state: TaskRunState, job: ObservedJob): void {
  const t = state.get(job.ownerName);
  if (!t || t.uid !== job.ownerUid) return;
  t.job = job;
  t.jobName = job.name;
  t.jobCreated = true;
  delete t.pendingSpec;
}

/**
 * Folds one watch result into the state (a snapshot first replaces what is known). `createdMeanwhile`:
 * TaskRuns whose Job was created while the watch ran; a snapshot may have been listed before them.
 */
export function applyWatchResult(state: TaskRunState, result: WatchResult, now: string, createdMeanwhile: ReadonlySet<string> = new Set()): void {
  if (result.snapshot) {
    const names = new Set(result.snapshot.taskRuns.map((t) => t.name));
    for (const name of [...state.keys()]) if (!names.has(name)) state.delete(name);
    for (const obs of result.snapshot.taskRuns) upsertTaskRun(state, obs, now);
    const jobsByOwner = new Map(result.snapshot.jobs.map((j) => [`${j.ownerName}/${j.ownerUid}`, j]));
    for (const t of state.values()) {
      const job = jobsByOwner.get(`${t.name}/${t.uid}`);
      if (job) upsertJob(state, job);
      else if (t.job && !createdMeanwhile.has(t.name)) jobGone(t);
    }
  }
  for (const change of result.changes) {
    if (change.kind === 'taskRun') {
      if (change.type === 'upsert') upsertTaskRun(state, change.taskRun, now);
      else if (state.get(change.name)?.uid === change.uid) state.delete(change.name);
    } else if (change.type === 'upsert') {
      upsertJob(state, change.job);
    } else {
      const t = state.get(change.ownerName);
      if (t && t.uid === change.ownerUid && t.jobName === change.name) jobGone(t);
    }
  }
}

/** The Job went away (TTL after it finished, or deleted by hand): never recreated, so at most one Job. */
function jobGone(t: TrackedTaskRun): void {
  if (t.job?.outcome) return; // finished: keep what it reported
  delete t.job;
  t.lastError = 'the agent Job was deleted before it finished';
}

function desiredPhase(t: TrackedTaskRun): TaskRunPhase {
  if (isTerminal(t.phase)) return t.phase;
  if (t.jobCreated && !t.job && t.lastError === 'the agent Job was deleted before it finished') return 'Failed';
  if (t.job?.outcome) return t.job.outcome;
  if (t.job && (t.job.startTime || t.job.active > 0)) return 'Running';
  return 'Pending';
}

function condition(previous: StatusCondition[] | undefined, c: Omit<StatusCondition, 'lastTransitionTime'>, now: string): StatusCondition {
  const before = previous?.find((p) => p.type === c.type);
  return { ...c, lastTransitionTime: before && before.status === c.status ? before.lastTransitionTime : now };
}

/** The status this TaskRun should have, from what is known about it and its Job. */
export function desiredStatus(t: TrackedTaskRun, waitingFor: string | undefined, now: string): TaskRunStatus {
  const phase = desiredPhase(t);
  const prev = t.written?.conditions;
  const gen = t.generation;
  const conditions: StatusCondition[] = [
    t.jobCreated
      ? condition(prev, { type: 'JobCreated', status: 'True', reason: 'Created', message: `agent Job ${t.jobName}`, observedGeneration: gen }, now)
      : condition(prev, { type: 'JobCreated', status: 'False', reason: 'Waiting', message: waitingFor ?? 'creating the agent Job', observedGeneration: gen }, now),
  ];
  if (phase !== 'Pending') {
    conditions.push(condition(prev, { type: 'Started', status: 'True', reason: 'JobStarted', message: 'the agent Job started', observedGeneration: gen }, now));
  }
  if (isTerminal(phase)) {
    const ok = phase === 'Succeeded';
    conditions.push(condition(prev, { type: 'Complete', status: ok ? 'True' : 'False', reason: ok ? 'JobSucceeded' : 'JobFailed', message: ok ? 'the agent Job completed' : (t.job?.message ?? t.lastError ?? 'the agent Job failed'), observedGeneration: gen }, now));
  }
  const message = phase === 'Pending'
    ? (t.jobCreated ? `agent Job ${t.jobName} created, waiting for it to start` : (waitingFor ?? 'creating the agent Job'))
    : phase === 'Running' ? `agent Job ${t.jobName} running`
      : phase === 'Succeeded' ? `agent Job ${t.jobName} completed`
        : (t.job?.message ?? t.lastError ?? `agent Job ${t.jobName} failed`);
  const startTime = t.job?.startTime ?? t.written?.startTime;
  const completionTime = isTerminal(phase) ? (t.job?.completionTime ?? t.job?.finishedAt ?? t.written?.completionTime ?? now) : undefined;
  return {
    phase,
    jobName: t.jobCreated ? t.jobName : '',
    ...(startTime && phase !== 'Pending' ? { startTime } : {}),
    ...(completionTime ? { completionTime } : {}),
    message,
    observedGeneration: gen,
    conditions,
  };
}

function sameStatus(a: TaskRunStatus | undefined, b: TaskRunStatus): boolean {
  return Boolean(a) && a!.phase === b.phase && (a!.jobName ?? '') === b.jobName && a!.startTime === b.startTime
    && a!.completionTime === b.completionTime && a!.message === b.message && a!.observedGeneration === b.observedGeneration;
}

/** Pending or Running with a Job: what counts against maxConcurrentTasks (taskrun_active_tasks). */
export function activeCount(state: TaskRunState): number {
  let n = 0;
  for (const t of state.values()) if (t.jobCreated && !isTerminal(t.phase)) n++;
  return n;
}

/**
 * The actions of one round: Job creations (oldest first, within the cap) and status writes that
 * differ. `busy`: TaskRuns with writes in flight get no action; their creations count against the cap.
 */
export function planRound(state: TaskRunState, config: Pick<ControllerConfig, 'maxConcurrentTasks'>, now: string, busy: ReadonlySet<string> = new Set()): TaskRunAction[] {
  const waitingForJob = (t: TrackedTaskRun) => !t.jobCreated && !isTerminal(t.phase) && t.pendingSpec !== undefined;
  const waiting = [...state.values()]
    .filter((t) => waitingForJob(t) && !busy.has(t.name))
    .sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.name.localeCompare(b.name));
  let beingCreated = 0;
  for (const name of busy) if (state.get(name) && waitingForJob(state.get(name)!)) beingCreated++;
  const slots = Math.max(0, config.maxConcurrentTasks - activeCount(state) - beingCreated);
  const creating = new Set(waiting.slice(0, slots).map((t) => t.name));
  const actions: TaskRunAction[] = [];
  for (const t of state.values()) {
    if (busy.has(t.name)) continue;
    if (creating.has(t.name)) {
      const after = { ...t, jobCreated: true };
      actions.push({ name: t.name, uid: t.uid, jobName: t.jobName, create: t.pendingSpec!, status: desiredStatus(after, undefined, now) });
      continue;
    }
    // A finished TaskRun's status is final: never rewritten (also not after a restart's snapshot).
    if (isTerminal(t.phase) && t.written?.phase === t.phase) continue;
    const waitingFor = !t.jobCreated ? `waiting for a free slot (maxConcurrentTasks ${config.maxConcurrentTasks})` : undefined;
    const status = desiredStatus(t, waitingFor, now);
    if (!sameStatus(t.written, status)) actions.push({ name: t.name, uid: t.uid, jobName: t.jobName, status });
  }
  return actions;
}

/** Records what the activities did: created Jobs, written statuses, vanished TaskRuns, errors. */
export function applyResults(state: TaskRunState, actions: TaskRunAction[], results: ActionResult[], now: string): void {
  const byName = new Map(actions.map((a) => [a.name, a]));
  for (const r of results) {
    const action = byName.get(r.name);
    const t = state.get(r.name);
    if (!action || !t || t.uid !== action.uid) continue;
    if (r.job === 'gone' || r.status === 'gone') {
      state.delete(r.name);
      continue;
    }
    if (r.job === 'created' || r.job === 'existing') {
      t.jobCreated = true;
      delete t.pendingSpec;
    }
    if (r.status === 'written' && action.status) {
      t.written = action.status;
      if (t.phase !== action.status.phase) {
        // A Job that finished before the watch saw it run still ran: record Running at its start.
        if (isTerminal(action.status.phase) && !t.transitions.some((x) => x.phase === 'Running') && action.status.startTime) {
          t.transitions.push({ phase: 'Running', at: action.status.startTime });
        }
        t.transitions.push({ phase: action.status.phase, at: now });
        t.phase = action.status.phase;
      }
    }
    if (r.error) t.lastError = r.error;
    else if (t.lastError && t.lastError !== 'the agent Job was deleted before it finished') delete t.lastError;
  }
}

export function countByPhase(state: TaskRunState): Record<string, number> {
  const byPhase: Record<string, number> = {};
  for (const t of state.values()) byPhase[t.phase] = (byPhase[t.phase] ?? 0) + 1;
  return byPhase;
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
