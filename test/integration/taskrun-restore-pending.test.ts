// The TaskRun controller and the restore's marker on the local cluster: TaskRuns created with
// platform-runbooks.io/restore-pending get no Job, ConfigMap or status while they carry it (also
// after the restore wrote their status); once it is removed, the status the restore wrote decides:
// a final one stays, a Running one whose Job does not exist fails as JobLost, one without a status
// gets its Job. The same for TaskRuns created marked restored-from a backup, until their status has a phase.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RESTORE_PENDING_ANNOTATION, RESTORED_FROM_ANNOTATION } from '../../contract/types/taskrun.ts';
import { useTestCluster, uniqueNamespace, type TestCluster } from '../helpers/cluster.ts';
import { useTestTemporal } from '../helpers/temporal.ts';
import { startTaskRunController } from '../helpers/taskrun.ts';
import { eventually } from '../helpers/eventually.ts';
import { applyObjects } from '../helpers/apply-objects.ts';
import { setTaskRunStatus, taskRunObject } from '../helpers/taskrun-objects.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const namespace = uniqueNamespace('trrestore');

interface TaskRunJson {
  metadata: { annotations?: Record<string, string> };
  status?: { phase?: string; jobName?: string; message?: string; conditions?: { type: string; reason: string }[] };
}

const get = async (cluster: TestCluster, name: string) =>
  JSON.parse(await cluster.kubectl(['get', 'taskrun', name, '-n', namespace, '-o', 'json'])) as TaskRunJson;
const jobsOf = async (cluster: TestCluster, name: string) =>
  (
    await cluster.kubectl(['get', 'jobs,configmaps', '-n', namespace, '-l', `task-id=task-${name}`, '-o', 'name'])
  ).trim();

/** A TaskRun of this file's namespace with the restore's `annotations` (none: a plain one). */
const markedTaskRun = (name: string, annotations: Record<string, string>) =>
  taskRunObject({ name, namespace, annotations }, { service: 'svc', taskId: `task-${name}`, prompt: 'p' });

before(async () => {
  await startTaskRunController(await testCluster(), await testTemporal(), {
    namespace,
    prefix: 'trrestore',
    maxConcurrentTasks: 10,
    resyncSeconds: 20,
  });
});

test('restore-pending TaskRuns get nothing until the annotation goes; then their restored status decides', async () => {
  const cluster = await testCluster();
  const restored = (name: string) => markedTaskRun(name, { [RESTORE_PENDING_ANNOTATION]: 'true' });
  const names = ['r-new', 'r-running', 'r-done'];
  await applyObjects(cluster, ...names.map(restored));
  // A TaskRun without the annotation shows the controller is at work meanwhile.
  await applyObjects(cluster, markedTaskRun('plain', {}));
  await eventually('plain gets its Job', async () =>
    (await get(cluster, 'plain')).status?.jobName ? true : undefined,
  );

  // The restore writes the backed-up statuses through the status subresource (annotation still on).
  const statuses: Record<string, object> = {
    'r-running': {
      phase: 'Running',
      jobName: 'r-running-0ldj0b00',
      startTime: '2026-01-01T00:00:00Z',
      message: 'agent Job r-running-0ldj0b00 running',
    },
    'r-done': {
      phase: 'Succeeded',
      jobName: 'r-done-0ldj0b00',
      startTime: '2026-01-01T00:00:00Z',
      completionTime: '2026-01-01T00:05:00Z',
      message: 'agent Job r-done-0ldj0b00 completed',
    },
  };
  for (const [name, status] of Object.entries(statuses)) {
    await setTaskRunStatus(cluster, namespace, name, status);
  }
  await sleep(5000); // several watch rounds
  for (const name of names) {
    assert.equal(await jobsOf(cluster, name), '', `no Job or ConfigMap for ${name} while restore-pending`);
  }
  assert.equal((await get(cluster, 'r-new')).status, undefined, 'no status written while restore-pending');
  assert.equal(
    (await get(cluster, 'r-running')).status?.phase,
    'Running',
    'the restored status is left as the restore wrote it',
  );

  // The restore is done: the annotation goes.
  for (const name of names)
    await cluster.kubectl(['annotate', 'taskrun', name, '-n', namespace, `${RESTORE_PENDING_ANNOTATION}-`]);
  await eventually('r-new gets its Job', async () =>
    (await jobsOf(cluster, 'r-new')).includes('job.batch/') ? true : undefined,
  );
  const lost = await eventually('r-running Failed (JobLost)', async () => {
    const tr = await get(cluster, 'r-running');
    return tr.status?.phase === 'Failed' ? tr : undefined;
  });
  assert.equal(lost.status?.conditions?.find((c) => c.type === 'Complete')?.reason, 'JobLost');
  assert.match(lost.status?.message ?? '', /r-running-0ldj0b00 no longer exists/);
  await sleep(2000);
  assert.equal(await jobsOf(cluster, 'r-running'), '', 'never a Job for a restored Running TaskRun');
  assert.equal(await jobsOf(cluster, 'r-done'), '');
  assert.equal(
    (await get(cluster, 'r-done')).status?.message,
    'agent Job r-done-0ldj0b00 completed',
    'a final status is never rewritten',
  );
});

test('TaskRuns restored-from a backup get nothing until their status has a phase; then it decides', async () => {
  const cluster = await testCluster();
  const restored = (name: string) => markedTaskRun(name, { [RESTORED_FROM_ANNOTATION]: 'backup-1' });
  const names = ['f-running', 'f-done', 'f-pending'];
  await applyObjects(cluster, ...names.map(restored));
  await sleep(5000); // several watch rounds
  for (const name of names) {
    assert.equal(await jobsOf(cluster, name), '', `no Job or ConfigMap for ${name} before its status`);
    assert.equal((await get(cluster, name)).status, undefined, `no status written for ${name}`);
  }

  // The restore writes the backed-up statuses: from then on the controller follows them.
  await setTaskRunStatus(cluster, namespace, 'f-running', {
    phase: 'Running',
    jobName: 'f-running-0ldj0b00',
    startTime: '2026-01-01T00:00:00Z',
  });
  await setTaskRunStatus(cluster, namespace, 'f-done', {
    phase: 'Succeeded',
    jobName: 'f-done-0ldj0b00',
    completionTime: '2026-01-01T00:05:00Z',
    message: 'agent Job f-done-0ldj0b00 completed',
  });
  await setTaskRunStatus(cluster, namespace, 'f-pending', { phase: 'Pending' });
  await eventually('f-pending (restored Pending) gets its Job', async () =>
    (await jobsOf(cluster, 'f-pending')).includes('job.batch/') ? true : undefined,
  );
  const lost = await eventually('f-running Failed (JobLost)', async () => {
    const tr = await get(cluster, 'f-running');
    return tr.status?.phase === 'Failed' ? tr : undefined;
  });
  assert.equal(lost.status?.conditions?.find((c) => c.type === 'Complete')?.reason, 'JobLost');
  await sleep(2000);
  assert.equal(await jobsOf(cluster, 'f-running'), '', 'never a Job for a restored Running TaskRun');
  assert.equal(await jobsOf(cluster, 'f-done'), '');
  assert.equal((await get(cluster, 'f-done')).status?.message, 'agent Job f-done-0ldj0b00 completed');
});
