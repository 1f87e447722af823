// taskRunController and cleanupTaskRuns with mocked activities on the real dev server: the
// reconcile rounds, the concurrency cap, deletions, per-TaskRun errors, continue-as-new, the
// bounded carried state with thousands of finished TaskRuns, search attributes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { ApplicationFailure, defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { INVALID_INPUT } from '../../contract/failures.ts';
import { taskRunControllerQuery, taskRunQuery, type CleanupReport } from '../../contract/messages.ts';
import { jobNameFor } from '../../workflows/taskrun-controller/reconcile.ts';
import {
  controllerWorkflowId,
  type ActionResult,
  type ApplyActionsInput,
  type CleanupCriteria,
  type CleanupDeletion,
  type CleanupPlan,
  type ControllerCarried,
  type ControllerConfig,
  type ObservedJob,
  type ObservedTaskRun,
  type WatchChange,
  type WatchInput,
  type WatchResult,
} from '../../contract/types/taskrun.ts';
import { DEFAULT_CONTROLLER_CONFIG } from '../../activities/taskrun/config.ts';
import { RESULT_BUDGET_BYTES } from '../../activities/taskrun/view.ts';
import { recordHistory } from '../helpers/record-history.ts';
import { uniqueTaskQueue, useTestTemporal, withTestWorker } from '../helpers/temporal.ts';
import { untilQuery } from '../helpers/eventually.ts';
import { pageWatchResult } from '../helpers/paged-watch-result.ts';
import { workflowFailure } from '../helpers/workflow-failure.ts';

const testTemporal = useTestTemporal();

const tr = (name: string, extra: Partial<ObservedTaskRun> = {}): ObservedTaskRun => ({
  name,
  uid: `uid-${name}`,
  generation: 1,
  creationTimestamp: `2026-01-01T00:00:0${name.length % 10}Z`,
  spec: { service: 'svc', taskId: `task-${name}`, prompt: 'p' },
  ...extra,
});
const job = (name: string, extra: Partial<ObservedJob> = {}): ObservedJob => ({
  name: jobNameFor(name, `uid-${name}`),
  ownerName: name,
  ownerUid: `uid-${name}`,
  active: 0,
  ...extra,
});

class Fake {
  readonly queue: Partial<WatchResult>[] = [];
  readonly applied: ApplyActionsInput[] = [];
  readonly watches: WatchInput[] = [];
  config: ControllerConfig = { ...DEFAULT_CONTROLLER_CONFIG, maxConcurrentTasks: 100, resourceVersion: '1' };
  failCreate = new Set<string>();
  rejectCreate = new Set<string>();
  rv = 0;
  /** The JSON size of the largest watch result returned. */
  largestResultBytes = 0;

  push(result: Partial<WatchResult>): void {
    this.queue.push(result);
  }
  changes(...changes: WatchChange[]): void {
    this.push({ changes });
  }
  returned(result: WatchResult): WatchResult {
    this.largestResultBytes = Math.max(this.largestResultBytes, JSON.stringify(result).length);
    return result;
  }
  creates(): string[] {
    return this.applied.flatMap((a) => a.actions.filter((x) => x.create).map((x) => x.name));
  }
  statuses(name: string): string[] {
    return this.applied.flatMap((a) =>
      a.actions.filter((x) => x.name === name && x.status).map((x) => x.status!.phase),
    );
  }

  activities = {
    watchTaskRunChanges: async (input: WatchInput): Promise<WatchResult> => {
      this.watches.push(input);
      const cursor = { taskRuns: String(++this.rv), jobs: String(this.rv), config: '1' };
      if (!input.cursor && !this.queue[0]?.snapshot)
        return this.returned({
          snapshot: { taskRuns: [], jobs: [] },
          changes: [],
          cursor,
          config: this.config,
          relisted: 'initial',
        });
      const next = this.queue.shift();
      if (!next) await sleep(50);
      // Paged like the real watch's results (under RESULT_BUDGET_BYTES with the cursor and config, a
      // margin for the cursors of the pages to come); the rest is returned next, before anything queued.
      const envelopeBytes = JSON.stringify({ cursor, config: this.config }).length + 64;
      const [page, ...rest] = pageWatchResult({ changes: [], ...next }, RESULT_BUDGET_BYTES - envelopeBytes);
      this.queue.unshift(...rest);
      return this.returned({ ...page!, cursor, config: this.config });
    },
    applyTaskRunActions: async (input: ApplyActionsInput): Promise<ActionResult[]> => {
      this.applied.push(input);
      return input.actions.map((a) => {
        if (a.create && this.failCreate.has(a.name)) return { name: a.name, error: 'create Job: HTTP 500' };
        if (a.create && this.rejectCreate.has(a.name))
          return {
            name: a.name,
            rejected: 'create the agent Job: HTTP 422 Job.batch is invalid: cpu must be greater than or equal to 0',
          };
        return {
          name: a.name,
          ...(a.create ? { job: 'created' as const } : {}),
          ...(a.status ? { status: 'written' as const } : {}),
        };
      });
    },
    planTaskRunCleanup: async (c: CleanupCriteria): Promise<CleanupPlan> => ({
      asOf: c.asOf,
      scanned: 3,
      toDelete: { Succeeded: 1, Failed: 0 },
      kept: 1,
      samples: {
        delete: [{ name: 'old', uid: 'u1', phase: 'Succeeded', ageSeconds: 900000 }],
        kept: [{ name: 'keep', reason: 'labelled taskrun.orchestrator.io/keep' }],
      },
    }),
    deleteOldTaskRuns: async (): Promise<CleanupDeletion> => ({
      scanned: 3,
      deleted: { Succeeded: 1, Failed: 0 },
      alreadyGone: 0,
      kept: 1,
      samples: { deleted: ['old'], alreadyGone: [] },
    }),
  };
}

async function withController<T>(
  fake: Fake,
  input: Record<string, unknown>,
  drive: (h: WorkflowHandleWithFirstExecutionRunId) => Promise<T>,
  workflowId?: string,
): Promise<T> {
  const env = await testTemporal();
  const namespace = typeof input.namespace === 'string' ? input.namespace : 'ns';
  return withTestWorker(env, fake.activities, 'taskrun-wf', async (taskQueue) => {
    const handle = await env.client.workflow.start('taskRunController', {
      taskQueue,
      workflowId: workflowId ?? controllerWorkflowId(namespace),
      args: [{ namespace, ...input }],
    });
    try {
      return await drive(handle);
    } finally {
      await handle.terminate('test done').catch(() => undefined);
    }
  });
}

test('a snapshot: new TaskRuns get one Job each, finished ones are left alone, an existing Job is adopted, not recreated', async () => {
  const fake = new Fake();
  fake.push({
    snapshot: {
      taskRuns: [
        tr('new'),
        tr('done', { status: { phase: 'Succeeded', jobName: jobNameFor('done', 'uid-done') } }),
        tr('crashed'),
      ],
      // 'crashed' got its Job before a crash, but no status yet.
      jobs: [job('crashed', { active: 1, startTime: '2026-01-01T00:01:00.000Z' })],
    },
    changes: [],
  });
  await withController(fake, {}, async (h) => {
    await untilQuery('statuses for new and crashed', () =>
      fake.statuses('new').length && fake.statuses('crashed').length ? true : undefined,
    );
    assert.deepEqual(fake.creates(), ['new']);
    assert.deepEqual(fake.statuses('new'), ['Pending']);
    assert.deepEqual(fake.statuses('crashed'), ['Running']);
    assert.deepEqual(fake.statuses('done'), []);
    const created = fake.applied.flatMap((a) => a.actions).find((a) => a.name === 'new')!;
    assert.equal(created.jobName, jobNameFor('new', 'uid-new'));
    assert.equal(created.status?.jobName, created.jobName);
    // The fake saw the writes when the activity was called; the workflow records them when it completes.
    await untilQuery('the query to say crashed is Running', async () =>
      (await h.query(taskRunQuery, 'crashed'))?.phase === 'Running' ? true : undefined,
    );
    assert.equal(await h.query(taskRunQuery, 'nope'), null);

    // The new Job runs, then completes: Running, then Succeeded with its times.
    fake.changes({
      kind: 'job',
      type: 'upsert',
      job: job('new', { active: 1, startTime: '2026-01-01T00:02:00.000Z' }),
    });
    await untilQuery('new Running', () => (fake.statuses('new').includes('Running') ? true : undefined));
    fake.changes({
      kind: 'job',
      type: 'upsert',
      job: job('new', {
        startTime: '2026-01-01T00:02:00.000Z',
        completionTime: '2026-01-01T00:03:00.000Z',
        outcome: 'Succeeded',
      }),
    });
    await untilQuery('new Succeeded', () => (fake.statuses('new').includes('Succeeded') ? true : undefined));
    const last = fake.applied
      .flatMap((a) => a.actions)
      .filter((a) => a.name === 'new')
      .at(-1)!.status!;
    assert.equal(last.startTime, '2026-01-01T00:02:00.000Z');
    assert.equal(last.completionTime, '2026-01-01T00:03:00.000Z');
    assert.deepEqual(
      last.conditions.map((c) => [c.type, c.status]),
      [
        ['JobCreated', 'True'],
        ['Started', 'True'],
        ['Complete', 'True'],
      ],
    );
    // The write's result reaches the workflow a moment after the fake saw the write.
    const tracked = await untilQuery('new finished', async () => {
      const t = await h.query(taskRunQuery, 'new');
      return t?.phase === 'Succeeded' ? t : undefined;
    });
    assert.deepEqual(
      tracked.transitions.map((t) => t.phase),
      ['Pending', 'Running', 'Succeeded'],
    );
    assert.equal(tracked.pendingSpec, undefined, 'the spec is dropped once the Job exists');
    assert.deepEqual(fake.creates(), ['new'], 'no second Job');
    await recordHistory(h, 'taskRunController-pipeline');
  });
});

test("a failed Job fails its TaskRun with the Job's reason", async () => {
  const fake = new Fake();
  fake.changes({ kind: 'taskRun', type: 'upsert', taskRun: tr('bad') });
  await withController(fake, {}, async () => {
    await untilQuery('created', () => (fake.creates().includes('bad') ? true : undefined));
    fake.changes({
      kind: 'job',
      type: 'upsert',
      job: job('bad', {
        startTime: '2026-01-01T00:02:00.000Z',
        outcome: 'Failed',
        message: 'BackoffLimitExceeded: Job has reached the specified backoff limit',
        finishedAt: '2026-01-01T00:02:05.000Z',
      }),
    });
    await untilQuery('Failed', () => (fake.statuses('bad').includes('Failed') ? true : undefined));
    const status = fake.applied
      .flatMap((a) => a.actions)
      .filter((a) => a.name === 'bad')
      .at(-1)!.status!;
    assert.match(status.message, /BackoffLimitExceeded/);
    assert.equal(status.completionTime, '2026-01-01T00:02:05.000Z');
    assert.equal(status.conditions.find((c) => c.type === 'Complete')?.reason, 'JobFailed');
  });
});

test('restored TaskRuns (restore-pending annotation) get no Job, ConfigMap or status until it goes; then their restored status decides', async () => {
  const fake = new Fake();
  const restoring = (name: string, status?: ObservedTaskRun['status']): ObservedTaskRun => ({
    ...tr(name, status ? { status } : {}),
    restorePending: true,
  });
  const upsert = (t: ObservedTaskRun): WatchChange => ({ kind: 'taskRun', type: 'upsert', taskRun: t });
  const lostJob = jobNameFor('rs-run', 'uid-of-the-backed-up-one');
  const restoredStatus = {
    'rs-new': { phase: 'Pending' as const, jobName: '' },
    'rs-run': { phase: 'Running' as const, jobName: lostJob, startTime: '2026-01-01T00:01:00.000Z' },
    'rs-done': { phase: 'Succeeded' as const, jobName: 'x', completionTime: '2026-01-01T00:02:00.000Z' },
  };
  fake.push({
    snapshot: { taskRuns: [restoring('rs-new'), restoring('rs-run'), restoring('rs-done')], jobs: [] },
    changes: [],
  });
  fake.changes(upsert(tr('plain')));
  await withController(fake, {}, async (h) => {
    await untilQuery('plain created', () => (fake.creates().includes('plain') ? true : undefined));
    // The restore writes their statuses (still annotated), then removes the annotation of all but rs-done... later.
    fake.changes(...Object.entries(restoredStatus).map(([n, st]) => upsert(restoring(n, st))));
    await untilQuery('the status round', () => (fake.queue.length === 0 ? true : undefined));
    await sleep(300);
    const touched = () => fake.applied.flatMap((a) => a.actions).filter((a) => a.name.startsWith('rs-'));
    assert.deepEqual(touched(), [], 'nothing for a TaskRun being restored');
    assert.equal((await h.query(taskRunQuery, 'rs-new'))?.restorePending, true);
    assert.equal(await h.query(taskRunQuery, 'rs-done'), null, 'a final restored status is not followed');
    assert.equal((await h.query(taskRunControllerQuery)).active, 1, 'only plain holds a slot');

    fake.changes(...Object.entries(restoredStatus).map(([n, st]) => upsert(tr(n, { status: st }))));
    await untilQuery('rs-new created and rs-run failed', () =>
      fake.creates().includes('rs-new') && fake.statuses('rs-run').includes('Failed') ? true : undefined,
    );
    await sleep(300);
    assert.deepEqual(
      fake.creates().filter((n) => n.startsWith('rs-')),
      ['rs-new'],
    );
    const failed = touched().find((a) => a.name === 'rs-run')!.status!;
    assert.equal(failed.conditions.find((c) => c.type === 'Complete')?.reason, 'JobLost');
    assert.match(failed.message, new RegExp(`${lostJob} no longer exists`));
    assert.deepEqual(
      touched().filter((a) => a.name === 'rs-done'),
      [],
    );
  });
});

test('maxConcurrentTasks: TaskRuns beyond it wait in Pending, oldest first, until a Job finishes', async () => {
  const fake = new Fake();
  fake.config = { ...fake.config, maxConcurrentTasks: 1 };
  fake.changes(
    ...['a', 'bb', 'ccc'].map((n) => ({ kind: 'taskRun' as const, type: 'upsert' as const, taskRun: tr(n) })),
  );
  await withController(fake, {}, async (h) => {
    await untilQuery('first round', () => (fake.creates().length ? true : undefined));
    assert.deepEqual(fake.creates(), ['a']);
    const waiting = fake.applied.flatMap((a) => a.actions).find((a) => a.name === 'bb')!.status!;
    assert.equal(waiting.phase, 'Pending');
    assert.match(waiting.message, /waiting for a free slot \(maxConcurrentTasks 1\)/);
    // The mock saw the create before the workflow took in its result: the query may answer before that.
    await untilQuery('a active', async () => ((await h.query(taskRunControllerQuery)).active === 1 ? true : undefined));
    fake.changes({
      kind: 'job',
      type: 'upsert',
      job: job('a', {
        startTime: '2026-01-01T00:02:00.000Z',
        outcome: 'Succeeded',
        completionTime: '2026-01-01T00:03:00.000Z',
      }),
    });
    await untilQuery('bb created', () => (fake.creates().includes('bb') ? true : undefined));
    assert.deepEqual(fake.creates(), ['a', 'bb']);
  });
});

test('maxConcurrentTasks 1: a TaskRun whose Job is rejected for good fails with the reason; one in back-off holds no slot', async () => {
  const fake = new Fake();
  fake.config = { ...fake.config, maxConcurrentTasks: 1 };
  fake.rejectCreate.add('a');
  fake.failCreate.add('bb');
  fake.changes(
    ...['a', 'bb', 'ccc'].map((n) => ({ kind: 'taskRun' as const, type: 'upsert' as const, taskRun: tr(n) })),
  );
  await withController(fake, {}, async (h) => {
    // a is rejected, then bb fails transiently: ccc gets the slot while bb waits for its retry.
    await untilQuery('ccc created', () => (fake.creates().includes('ccc') ? true : undefined));
    assert.deepEqual(fake.creates(), ['a', 'bb', 'ccc']);
    await untilQuery('a Failed', () => (fake.statuses('a').includes('Failed') ? true : undefined));
    const failed = fake.applied
      .flatMap((x) => x.actions)
      .filter((x) => x.name === 'a')
      .at(-1)!.status!;
    assert.match(failed.message, /HTTP 422 Job.batch is invalid: cpu must be greater than or equal to 0/);
    assert.equal(failed.conditions.find((c) => c.type === 'Complete')?.reason, 'JobRejected');
    await untilQuery('the query to say a was rejected', async () =>
      (await h.query(taskRunQuery, 'a'))?.rejected?.includes('HTTP 422') ? true : undefined,
    );
    await sleep(300);
    assert.equal(fake.creates().filter((n) => n === 'a').length, 1, 'a rejected Job is never sent again');
  });
});

test('a deleted TaskRun ends its tracking; a per-TaskRun error is retried next round without a second Job', async () => {
  const fake = new Fake();
  fake.failCreate.add('flaky');
  fake.changes(
    { kind: 'taskRun', type: 'upsert', taskRun: tr('flaky') },
    { kind: 'taskRun', type: 'upsert', taskRun: tr('doomed') },
  );
  await withController(fake, {}, async (h) => {
    await untilQuery('doomed created', () => (fake.creates().includes('doomed') ? true : undefined));
    await untilQuery("the query to say flaky's create failed", async () =>
      /HTTP 500/.test((await h.query(taskRunQuery, 'flaky'))?.lastError ?? '') ? true : undefined,
    );
    fake.failCreate.clear();
    await untilQuery('flaky created', () =>
      fake.creates().filter((n) => n === 'flaky').length === 2 ? true : undefined,
    );
    await untilQuery('flaky tracked as created', async () =>
      (await h.query(taskRunQuery, 'flaky'))?.jobCreated ? true : undefined,
    );
    assert.equal((await h.query(taskRunQuery, 'flaky'))?.lastError, undefined);
    fake.changes({ kind: 'taskRun', type: 'delete', name: 'doomed', uid: 'uid-doomed' });
    await untilQuery('doomed forgotten', async () =>
      (await h.query(taskRunQuery, 'doomed')) === null ? true : undefined,
    );
    await sleep(300);
    assert.equal(fake.creates().filter((n) => n === 'flaky').length, 2);
    assert.equal(fake.creates().filter((n) => n === 'doomed').length, 1);
  });
});

test('continue-as-new carries the tracked TaskRuns and the watch cursor; nothing is created twice', async () => {
  const fake = new Fake();
  fake.changes({ kind: 'taskRun', type: 'upsert', taskRun: tr('carried') });
  await withController(fake, { maxRounds: 3 }, async (h) => {
    await untilQuery('a second run', async () =>
      (await h.query(taskRunControllerQuery)).runs >= 2 ? true : undefined,
    );
    const tracked = await h.query(taskRunQuery, 'carried');
    assert.equal(tracked?.jobCreated, true);
    assert.deepEqual(fake.creates(), ['carried']);
    // The first watch of the new run resumes from the cursor (no snapshot). On a busy machine it may
    // start a moment after the query sees the new run.
    const firstOfRun2 = await untilQuery("the new run's first watch", async () => fake.watches[3]);
    assert.ok(firstOfRun2.cursor, 'resumed from the carried cursor');
    assert.equal(firstOfRun2.activeTasks, 1);
  });
});

/** The controller's search attribute upserts in a run's history (name -> JSON value), without patched()'s TemporalChangeVersion. */
async function upserts(id: string, runId: string): Promise<Record<string, string>[]> {
  const history = await (await testTemporal()).client.workflow.getHandle(id, runId).fetchHistory();
  return history.events!.flatMap((e) => {
    const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {};
    const ours = Object.entries(fields)
      .filter(([k]) => k.startsWith('TaskRun'))
      .map(([k, v]) => [k, Buffer.from(v.data!).toString('utf8')]);
    return ours.length ? [Object.fromEntries(ours) as Record<string, string>] : [];
  });
}

test('5,000 finished TaskRuns: the carried state stays bounded, they are counted, the newest stay queryable, a resync re-tracks none', async () => {
  const env = await testTemporal();
  const fake = new Fake();
  // Batches that fit the carried state's budget (CARRY_BUDGET_BYTES): this fake does not send the
  // view afresh to a new run, as the real watch does, so nothing may be left behind.
  const BATCH = 200;
  fake.config = { ...fake.config, maxConcurrentTasks: BATCH };
  const names = Array.from({ length: 5000 }, (_, i) => `n${i}`);
  const done = {
    startTime: '2026-01-01T00:02:00.000Z',
    completionTime: '2026-01-01T00:03:00.000Z',
    outcome: 'Succeeded' as const,
  };
  await withController(fake, { maxRounds: 15, finishedHistory: 300, chunkSize: 100 }, async (h) => {
    for (let i = 0; i < names.length; i += BATCH) {
      const batch = names.slice(i, i + BATCH);
      fake.changes(...batch.map((n) => ({ kind: 'taskRun' as const, type: 'upsert' as const, taskRun: tr(n) })));
      await untilQuery(`batch ${i} created`, () => (fake.creates().length === i + BATCH ? true : undefined));
      fake.changes(...batch.map((n) => ({ kind: 'job' as const, type: 'upsert' as const, job: job(n, done) })));
      await untilQuery(`batch ${i} finished`, async () =>
        (await h.query(taskRunControllerQuery)).finished.Succeeded === i + BATCH ? true : undefined,
      );
    }
    const summary = await h.query(taskRunControllerQuery);
    assert.deepEqual(
      [summary.tracked, summary.active, summary.recentFinished, summary.finished.Failed],
      [0, 0, 300, 0],
    );
    assert.ok(summary.runs >= 2, 'continued as new on the way');
    await untilQuery('another continue-as-new', async () =>
      (await h.query(taskRunControllerQuery)).runs > summary.runs ? true : undefined,
    );

    // What the latest run was started with: the carried state.
    const { runId } = await h.describe();
    const history = await env.client.workflow.getHandle(h.workflowId, runId).fetchHistory();
    const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    const carried = (JSON.parse(Buffer.from(payload.data!).toString('utf8')) as { carried: ControllerCarried }).carried;
    assert.equal(carried.taskRuns.length, 0);
    assert.equal(carried.finished?.length, 300);
    assert.deepEqual(carried.finishedCounts, { Succeeded: 5000, Failed: 0 });
    assert.ok(payload.data!.length < 250_000, `carried input of ${payload.data!.length} bytes`);
    assert.deepEqual(await upserts(h.workflowId, runId), [], 'no search attributes without searchAttributes: true');

    assert.equal(await h.query(taskRunQuery, 'n0'), null, 'finished long ago: no longer tracked');
    const newest = await h.query(taskRunQuery, 'n4999');
    assert.deepEqual(
      newest?.transitions.map((t) => t.phase),
      ['Pending', 'Running', 'Succeeded'],
    );
    const succeededWrites = fake.applied
      .flatMap((a) => a.actions)
      .filter((a) => a.status?.phase === 'Succeeded').length;
    assert.equal(succeededWrites, 5000, 'each final status written once');

    // A resync lists all 5,000 with their final status: nothing to do, nothing tracked again.
    const writes = fake.applied.length;
    fake.push({
      snapshot: {
        taskRuns: names.map((n) => tr(n, { status: { phase: 'Succeeded', jobName: jobNameFor(n, `uid-${n}`) } })),
        jobs: [],
      },
      changes: [],
    });
    await untilQuery('the resync', () => (fake.queue.length === 0 ? true : undefined));
    await sleep(300);
    const after = await h.query(taskRunControllerQuery);
    assert.deepEqual([after.tracked, after.recentFinished, after.finished.Succeeded], [0, 300, 5000]);
    assert.equal(fake.applied.length, writes);
    assert.deepEqual(fake.creates().length, 5000);
  });
  // The resync's list of 5,000 (about 1 MB) came in pages, as the real watch sends it.
  assert.ok(
    fake.largestResultBytes <= RESULT_BUDGET_BYTES,
    `a watch result of ${fake.largestResultBytes} bytes (budget ${RESULT_BUDGET_BYTES})`,
  );
});

test('search attributes: upserted only when the counts change, found by a list query, kept across continue-as-new', async () => {
  const env = await testTemporal();
  const fake = new Fake();
  fake.config = { ...fake.config, maxConcurrentTasks: 1 };
  fake.changes(...['sa-a', 'sa-b'].map((n) => ({ kind: 'taskRun' as const, type: 'upsert' as const, taskRun: tr(n) })));
  const keys = {
    namespace: defineSearchAttributeKey('TaskRunNamespace', SearchAttributeType.KEYWORD),
    active: defineSearchAttributeKey('TaskRunsActive', SearchAttributeType.INT),
    pending: defineSearchAttributeKey('TaskRunsPending', SearchAttributeType.INT),
  };
  await withController(fake, { searchAttributes: true, maxRounds: 30 }, async (h) => {
    const listed = (query: string) =>
      untilQuery(query, async () => {
        for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${h.workflowId}' AND ${query}` }))
          return wf;
        return undefined;
      });
    // a has a Job (active), a and b are Pending (b waits for the slot).
    const first = await listed(`TaskRunNamespace = 'ns' AND TaskRunsActive = 1 AND TaskRunsPending = 2`);
    assert.equal(first.typedSearchAttributes.get(keys.namespace), 'ns');
    const start = (n: string) => ({
      kind: 'job' as const,
      type: 'upsert' as const,
      job: job(n, { active: 1, startTime: '2026-01-01T00:02:00.000Z' }),
    });
    const finish = (n: string) => ({
      kind: 'job' as const,
      type: 'upsert' as const,
      job: job(n, {
        startTime: '2026-01-01T00:02:00.000Z',
        completionTime: '2026-01-01T00:03:00.000Z',
        outcome: 'Succeeded' as const,
      }),
    });
    fake.changes(start('sa-a'));
    await listed('TaskRunsActive = 1 AND TaskRunsPending = 1');
    fake.changes(finish('sa-a'));
    await untilQuery('sa-b created', () => (fake.creates().includes('sa-b') ? true : undefined));
    fake.changes(start('sa-b'));
    await listed('TaskRunsActive = 1 AND TaskRunsPending = 0');
    fake.changes(finish('sa-b'));
    await listed('TaskRunsActive = 0 AND TaskRunsPending = 0');

    // Idle rounds up to continue-as-new: no more upserts; the next run inherits the values.
    await untilQuery('a second run', async () =>
      (await h.query(taskRunControllerQuery)).runs >= 2 ? true : undefined,
    );
    const firstRun = await upserts(h.workflowId, h.firstExecutionRunId);
    // Initial (0, 0), (1, 2), then one per change of the counts: far fewer than the 30 rounds, none redundant.
    assert.ok(firstRun.length >= 5 && firstRun.length <= 8, `${firstRun.length} upserts in 30 rounds`);
    const values: Record<string, string> = {};
    for (const u of firstRun) {
      assert.ok(
        Object.entries(u).some(([k, v]) => values[k] !== v),
        `a redundant upsert: ${JSON.stringify(u)}`,
      );
      Object.assign(values, u);
    }
    assert.deepEqual(values, { TaskRunNamespace: '"ns"', TaskRunsActive: '0', TaskRunsPending: '0' });
    const d = await h.describe();
    assert.notEqual(d.runId, h.firstExecutionRunId);
    assert.equal(d.typedSearchAttributes.get(keys.namespace), 'ns');
    assert.equal(d.typedSearchAttributes.get(keys.active), 0);
    assert.equal(d.typedSearchAttributes.get(keys.pending), 0);
    await sleep(500);
    assert.deepEqual(await upserts(h.workflowId, d.runId), [], 'unchanged values are not upserted again');
  });
});

test('invalid controller input fails at once, naming the fields', async () => {
  const fake = new Fake();
  await withController(fake, { namespace: 'Not A Name', chunkSize: 0 }, async (h) => {
    const err = await workflowFailure(h);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, INVALID_INPUT);
    assert.match(err.cause.message, /namespace: .*; chunkSize/);
  });
  assert.equal(fake.watches.length, 0);
});

test('watch requests: a snapshot first, then watches until the resync is due that list by themselves when idle', async () => {
  const fake = new Fake();
  await withController(fake, { resyncSeconds: 30 }, async () => {
    await untilQuery('a few watches', () => (fake.watches.length >= 3 ? true : undefined));
    const [first, ...rest] = fake.watches;
    assert.equal(first!.cursor, undefined);
    for (const w of rest) {
      assert.ok(w.cursor, 'resumed');
      assert.equal(w.relistOnIdle, true);
      assert.ok(w.maxWaitSeconds >= 1 && w.maxWaitSeconds <= 30, String(w.maxWaitSeconds));
    }
  });
});

test('an invalid controller ConfigMap: the taskRunController query and the current details show the error naming the field; the last good config stays in use', async () => {
  const fake = new Fake();
  fake.config = { ...fake.config, maxConcurrentTasks: 1 };
  await withController(fake, {}, async (h) => {
    await untilQuery('the good config', async () =>
      (await h.query(taskRunControllerQuery)).config?.maxConcurrentTasks === 1 ? true : undefined,
    );
    fake.config = {
      ...fake.config,
      resourceVersion: '2',
      error:
        'config.yaml is invalid (maxConcurrentTasks: Invalid input: expected number, received string); the controller keeps its last good config (ConfigMap resourceVersion 1)',
    };
    fake.changes(
      { kind: 'taskRun', type: 'upsert', taskRun: tr('a') },
      { kind: 'taskRun', type: 'upsert', taskRun: tr('bb') },
    );
    const s = await untilQuery('the error', async () =>
      (await h.query(taskRunControllerQuery)).config?.error ? h.query(taskRunControllerQuery) : undefined,
    );
    assert.match(s.config!.error!, /maxConcurrentTasks/);
    assert.equal(s.config!.maxConcurrentTasks, 1);
    await untilQuery('one Job', () => (fake.creates().length === 1 ? true : undefined));
    const { currentDetails } = await h.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    assert.match(currentDetails, /config error.*maxConcurrentTasks/s);
  });
});

test('one controller per namespace: another workflow id, or carried state at a start, is refused at once, before any watch', async () => {
  const fake = new Fake();
  const failure = async (h: WorkflowHandleWithFirstExecutionRunId) => {
    const err = await workflowFailure(h);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.nonRetryable, true);
    return err.cause;
  };
  await withController(
    fake,
    { namespace: 'team-a' },
    async (h) => {
      const cause = await failure(h);
      assert.equal(cause.type, INVALID_INPUT);
      assert.match(
        cause.message,
        /runs only as workflow id taskrun-controller-team-a, not taskrun-controller-team-a-second/,
      );
    },
    'taskrun-controller-team-a-second',
  );
  const carried: ControllerCarried = { taskRuns: [], runs: 7 };
  await withController(fake, { namespace: 'team-b', carried }, async (h) => {
    assert.match(
      (await failure(h)).message,
      /carried is internal, accepted only from the controller's own continue-as-new/,
    );
  });
  assert.equal(fake.watches.length, 0);
});

test('cleanupTaskRuns: dryRun only plans; a real run deletes what the plan names', async () => {
  const env = await testTemporal();
  const fake = new Fake();
  const deletes: unknown[] = [];
  const activities = {
    ...fake.activities,
    deleteOldTaskRuns: async (input: CleanupCriteria) => (deletes.push(input), fake.activities.deleteOldTaskRuns()),
  };
  await withTestWorker(env, activities, 'cleanup-wf', async (taskQueue) => {
    const run = (input: Record<string, unknown>) =>
      env.client.workflow.execute('cleanupTaskRuns', {
        taskQueue,
        workflowId: uniqueTaskQueue('cleanup'),
        args: [input],
      }) as Promise<CleanupReport>;
    const dry = await run({ dryRun: true });
    assert.deepEqual([dry.deleted, dry.samples.deleted], [1, ['old']]);
    assert.equal(deletes.length, 0);
    const real = await run({ succeededMaxAgeSeconds: 60 });
    assert.deepEqual([real.deleted, real.samples.deleted], [1, ['old']]);
    assert.deepEqual(
      [real.kept, real.samples.kept],
      [1, [{ name: 'keep', reason: 'labelled taskrun.orchestrator.io/keep' }]],
    );
    assert.equal(deletes.length, 1);
    assert.equal((deletes[0] as CleanupCriteria).succeededMaxAgeSeconds, 60);
    assert.equal((deletes[0] as CleanupCriteria).asOf, real.asOf, "the deletion selects at the plan's time");
  });
});
