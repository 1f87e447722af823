// What a restore sends to the API server for a backed-up object: no server-owned metadata, no
// ownerReferences (the garbage collector would delete the object when its owner is not in the target) and
// no finalizers (their operator may not be there), also from backups written before capture stripped them;
// TaskRuns without status, marked with the backup they come from (restored-from) when they had a phase.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { restoreBody } from '../../activities/backup/restore.ts';

type Obj = Parameters<typeof restoreBody>[0];
import { RESTORE_PENDING_ANNOTATION, RESTORED_FROM_ANNOTATION } from '../../contract/types/taskrun.ts';

const old = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name: 'task-t-1',
    namespace: 'orchestrator',
    labels: { a: 'b' },
    annotations: { x: 'y' },
    uid: 'u-1',
    resourceVersion: '42',
    creationTimestamp: '2026-01-01T00:00:00Z',
    generation: 3,
    selfLink: '/api/v1/x',
    managedFields: [{ manager: 'kubectl' }],
    deletionTimestamp: '2026-01-02T00:00:00Z',
    deletionGracePeriodSeconds: 0,
    ownerReferences: [{ apiVersion: 'orchestrator.io/v1', kind: 'TaskRun', name: 't-1', uid: 'u-0', controller: true }],
    finalizers: ['example.com/cleanup'],
  },
  data: { prompt: 'p' },
};

test('server-owned metadata, ownerReferences and finalizers are dropped; labels, annotations and content kept', () => {
  assert.deepEqual(restoreBody(old as unknown as Obj, 'configMaps'), {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'task-t-1', namespace: 'orchestrator', labels: { a: 'b' }, annotations: { x: 'y' } },
    data: { prompt: 'p' },
  });
});

test('a TaskRun with a backed-up phase is sent without status, marked restored-from its backup', () => {
  const taskRun = {
    apiVersion: 'orchestrator.io/v1',
    kind: 'TaskRun',
    metadata: { name: 't-1', namespace: 'ns', uid: 'u', ownerReferences: [{}], annotations: { a: 'b' } },
    spec: { service: 's' },
    status: { phase: 'Succeeded' },
  };
  assert.deepEqual(restoreBody(taskRun as unknown as Obj, 'taskRuns', { backupId: 'b-1' }), {
    apiVersion: 'orchestrator.io/v1',
    kind: 'TaskRun',
    metadata: { name: 't-1', namespace: 'ns', annotations: { a: 'b', [RESTORED_FROM_ANNOTATION]: 'b-1' } },
    spec: { service: 's' },
  });
});

test('a TaskRun applied over an existing one also carries restore-pending (its status is there already)', () => {
  const taskRun = { kind: 'TaskRun', metadata: { name: 't-1' }, spec: {}, status: { phase: 'Running' } };
  assert.deepEqual(restoreBody(taskRun as unknown as Obj, 'taskRuns', { backupId: 'b-1', updating: true }).metadata, {
    name: 't-1',
    annotations: { [RESTORED_FROM_ANNOTATION]: 'b-1', [RESTORE_PENDING_ANNOTATION]: 'true' },
  });
});

test('a TaskRun backed up without a phase is sent unmarked: it is a new TaskRun for the controller', () => {
  for (const status of [undefined, {}, { message: 'x' }]) {
    const taskRun = { kind: 'TaskRun', metadata: { name: 't-1' }, spec: {}, ...(status ? { status } : {}) };
    assert.deepEqual(restoreBody(taskRun as unknown as Obj, 'taskRuns', { backupId: 'b-1' }).metadata, {
      name: 't-1',
    });
  }
});
