// What a verification restore compares (objectDigest): labels, annotations and content; a TaskRun's
// restored-from annotation is the restore's own mark, so a restored TaskRun equals its backed-up self,
// and any other difference still counts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { objectDigest } from '../../activities/backup/verification.ts';
import { RESTORED_FROM_ANNOTATION } from '../../contract/types/taskrun.ts';

type Obj = Parameters<typeof objectDigest>[1];
const taskRun = (annotations: Record<string, string>, phase = 'Succeeded') =>
  ({
    apiVersion: 'orchestrator.io/v1',
    kind: 'TaskRun',
    metadata: { name: 't', labels: { a: 'b' }, annotations },
    spec: { service: 's', taskId: 't' },
    status: { phase },
  }) as unknown as Obj;

test("a restored TaskRun's restored-from mark is not a difference; other annotations and the status are", () => {
  const original = objectDigest('taskRuns', taskRun({ x: 'y' }));
  assert.equal(objectDigest('taskRuns', taskRun({ x: 'y', [RESTORED_FROM_ANNOTATION]: 'backup-2' })), original);
  assert.notEqual(objectDigest('taskRuns', taskRun({ x: 'z', [RESTORED_FROM_ANNOTATION]: 'backup-2' })), original);
  assert.notEqual(objectDigest('taskRuns', taskRun({ x: 'y' }, 'Failed')), original);
});

test('on other kinds the annotation is compared like any other', () => {
  const configMap = (annotations: Record<string, string>) =>
    ({ metadata: { name: 'c', annotations }, data: { k: 'v' } }) as unknown as Obj;
  assert.notEqual(
    objectDigest('configMaps', configMap({ [RESTORED_FROM_ANNOTATION]: 'b' })),
    objectDigest('configMaps', configMap({})),
  );
});
