// Pure pieces of the TaskRun controller: Job names, the controller config, the Job manifest,
// the compact Job view and the round planner.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jobNameFor, planRound, applyWatchResult, type TaskRunState } from '../../workflows/taskrun-reconcile.ts';
import { DEFAULT_CONTROLLER_CONFIG, parseControllerConfig } from '../../activities/taskrun/config.ts';
import { agentJob, observeJob } from '../../activities/kube/jobs.ts';

test('jobNameFor: deterministic, at most 62 characters, a valid name, different for a recreated TaskRun', () => {
  const uid = '0f8e4c2a-1111-2222-3333-444455556666';
  assert.equal(jobNameFor('fix-login', uid), 'fix-login-0f8e4c2a');
  assert.equal(jobNameFor('fix-login', uid), jobNameFor('fix-login', uid));
  assert.notEqual(jobNameFor('fix-login', uid), jobNameFor('fix-login', 'aaaaaaaa-1111'));
  const long = jobNameFor(`${'a'.repeat(52)}-.b.c${'d'.repeat(200)}`, uid);
  assert.ok(long.length <= 62, long);
  assert.match(long, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  assert.match(jobNameFor('v1.2.task', uid), /^v1-2-task-0f8e4c2a$/);
});

test('parseControllerConfig: config.yaml over the chart defaults; absent or mistyped fields fall back', () => {
  const c = parseControllerConfig('agent:\n  image: x/agent:2\njob:\n  backoffLimit: 1\nmaxConcurrentTasks: "many"\nsecrets:\n  name: s\n  env:\n  - {name: A, key: K}\n', '7');
  assert.equal(c.agent.image, 'x/agent:2');
  assert.equal(c.agent.workspaceMountPath, '/workspace');
  assert.equal(c.job.backoffLimit, 1);
  assert.equal(c.job.ttlSecondsAfterFinished, 3600);
  assert.equal(c.maxConcurrentTasks, DEFAULT_CONTROLLER_CONFIG.maxConcurrentTasks);
  assert.deepEqual(c.secrets, { name: 's', env: [{ name: 'A', key: 'K' }] });
  assert.equal(c.resourceVersion, '7');
  assert.deepEqual(parseControllerConfig(undefined, ''), DEFAULT_CONTROLLER_CONFIG);
});

test('agentJob: owned by the TaskRun, labelled, keys by secretKeyRef only, prompt reference, workspace claim', () => {
  const ref = { name: 'tr', uid: 'u-1', namespace: 'ns' };
  const job = agentJob(ref, 'tr-u1', { service: 'svc', taskId: 'T-1', promptRef: { name: 'prompts', key: 'p1' }, workspaceClaim: 'ws' }, DEFAULT_CONTROLLER_CONFIG);
  assert.deepEqual(job.metadata?.ownerReferences, [{ apiVersion: 'orchestrator.io/v1', kind: 'TaskRun', name: 'tr', uid: 'u-1', controller: true, blockOwnerDeletion: true }]);
  assert.equal(job.metadata?.labels?.app, 'claude-agent');
  assert.equal(job.metadata?.labels?.['task-id'], 'T-1');
  const c = job.spec!.template.spec!.containers[0]!;
  for (const e of c.env!.filter((x) => ['ANTHROPIC_API_KEY', 'GITHUB_TOKEN'].includes(x.name))) {
    assert.equal(e.value, undefined);
    assert.equal(e.valueFrom?.secretKeyRef?.name, 'orchestrator-secrets');
  }
  assert.deepEqual(c.env!.find((e) => e.name === 'TASK_PROMPT')?.valueFrom?.configMapKeyRef, { name: 'prompts', key: 'p1' });
  assert.deepEqual(c.volumeMounts!.find((m) => m.name === 'workspace'), { name: 'workspace', mountPath: '/workspace' });
  assert.deepEqual(c.resources, DEFAULT_CONTROLLER_CONFIG.agent.resources);
  assert.equal(job.spec!.backoffLimit, 0);
  assert.equal(job.spec!.template.spec!.restartPolicy, 'Never');
});

test('observeJob: outcome, times and failure reason; Jobs not owned by a TaskRun are ignored', () => {
  const owner = [{ apiVersion: 'orchestrator.io/v1', kind: 'TaskRun', name: 'tr', uid: 'u' }];
  const failed = observeJob({ metadata: { name: 'j', ownerReferences: owner }, status: { startTime: '2026-01-01T00:00:00Z' as never, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastTransitionTime: '2026-01-01T00:00:05Z' as never }] } });
  assert.deepEqual(failed, { name: 'j', ownerName: 'tr', ownerUid: 'u', active: 0, startTime: '2026-01-01T00:00:00.000Z', outcome: 'Failed', message: 'BackoffLimitExceeded: Job has reached the specified backoff limit', finishedAt: '2026-01-01T00:00:05.000Z' });
  assert.equal(observeJob({ metadata: { name: 'other', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'c', uid: 'x' }] } }), undefined);
});

test('planRound: a TaskRun whose Job vanished before finishing fails; it never gets a second Job', () => {
  const state: TaskRunState = new Map();
  const now = '2026-01-01T00:00:00.000Z';
  applyWatchResult(state, { snapshot: { taskRuns: [{ name: 'a', uid: 'u', generation: 1, spec: { service: 's', taskId: 't' }, status: { phase: 'Running', jobName: 'a-u' } }], jobs: [{ name: 'a-u', ownerName: 'a', ownerUid: 'u', active: 1, startTime: now }] }, changes: [], cursor: { taskRuns: '1', jobs: '1' }, config: DEFAULT_CONTROLLER_CONFIG }, now);
  applyWatchResult(state, { changes: [{ kind: 'job', type: 'delete', name: 'a-u', ownerName: 'a', ownerUid: 'u' }], cursor: { taskRuns: '1', jobs: '2' }, config: DEFAULT_CONTROLLER_CONFIG }, now);
  const actions = planRound(state, DEFAULT_CONTROLLER_CONFIG, now);
  assert.equal(actions.length, 1);
  assert.equal(actions[0]!.create, undefined);
  assert.equal(actions[0]!.status?.phase, 'Failed');
  assert.match(actions[0]!.status!.message, /deleted before it finished/);
});
