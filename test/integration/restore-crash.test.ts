// restorePlatform survives a SIGKILLed worker at its step boundaries (after verifyBackup, after
// ensureNamespaces, in the middle of the TaskRuns' restore, after it), into a namespace that a
// TaskRun controller watches (on the same, killed, worker). The end state: every backed-up object
// restored once, TaskRuns with the backup's status and no restore-pending annotation, no
// ownerReferences, no extra TaskRun, and a Job only for the one TaskRun that had never started.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BackupReport, RestoreReport } from '../../contract/types/backup.ts';
import { controllerWorkflowId, RESTORE_PENDING_ANNOTATION } from '../../contract/types/taskrun.ts';
import { useTestCluster, uniqueNamespace } from '../helpers/cluster.ts';
import { eventually } from '../helpers/eventually.ts';
import { isStatus } from '../../activities/errors.ts';
import { setTestSecret } from '../helpers/secrets.ts';
import { installTaskRunCrd, startControllerWorkflow } from '../helpers/taskrun.ts';
import { uniqueTaskQueue, useTestTemporal } from '../helpers/temporal.ts';
import { recordReliability } from '../reliability/report.ts';
import { applyObjects } from '../helpers/apply-objects.ts';
import { crashWorkers, killAtBoundaries } from '../helpers/crash-workers.ts';
import { createTaskRun, taskSpec } from '../helpers/taskrun-objects.ts';
import { configMapOwnedBySecret } from '../helpers/owned-config-map.ts';
import { controllerConfigMap, failFastControllerConfig } from '../helpers/controller-config-map.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const TR = { group: 'orchestrator.io', version: 'v1', plural: 'taskruns' };
const FINISHED = 60;

type Obj = {
  metadata: { name: string; annotations?: Record<string, string>; ownerReferences?: unknown[] };
  spec?: unknown;
  data?: Record<string, string>;
  status?: Record<string, unknown>;
};

test('SIGKILL at every step boundary of restorePlatform: each object restored once with its status; no Job for a finished TaskRun', async () => {
  const temporal = await testTemporal();
  const cluster = await testCluster();
  const source = uniqueNamespace('restore-crash');
  const target = `${source}-t`;
  const taskQueue = uniqueTaskQueue('restore-crash');
  const store = mkdtempSync(join(tmpdir(), 'restore-crash-store-'));
  const hmacKey = setTestSecret('RESTORE_CRASH_TEST_HMAC_KEY', randomBytes(32).toString('hex'));
  const workers = crashWorkers(temporal, cluster, taskQueue, {
    RUNBOOK_BACKUP_DIR: store,
    RUNBOOK_BACKUP_HMAC_KEY: hmacKey,
  });
  const controller = temporal.client.workflow.getHandle(controllerWorkflowId(target));
  cluster.defer(async () => {
    await controller.terminate('test finished').catch(() => undefined);
    await workers.stopAll();
    for (const ns of [source, target])
      await cluster.kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
    rmSync(store, { recursive: true, force: true });
  });
  await installTaskRunCrd(cluster);
  await cluster.kubectl(['create', 'namespace', source]);
  // A ConfigMap owned by a Secret (as a TaskRun's task ConfigMap is owned), and TaskRuns that finished
  // long ago (their Jobs are gone), and one that never started.
  await applyObjects(cluster, await configMapOwnedBySecret(cluster, source), {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'plain', namespace: source },
    data: { a: 'b' },
  });
  const names = [...Array.from({ length: FINISHED }, (_, i) => `done-${i}`), 'not-started'];
  for (let i = 0; i < names.length; i += 10) {
    await Promise.all(
      names.slice(i, i + 10).map(async (name, j) => {
        const phase = (i + j) % 4 === 0 ? 'Failed' : 'Succeeded';
        const status =
          name === 'not-started' ? undefined : { phase, jobName: `job-${name}`, message: phase.toLowerCase() };
        await createTaskRun(cluster, source, { name }, taskSpec(name), status);
      }),
    );
  }
  const list = async (kind: string, ns: string) =>
    new Map(
      (JSON.parse(await cluster.kubectl(['get', kind, '-n', ns, '-o', 'json'])) as { items: Obj[] }).items.map((o) => [
        o.metadata.name,
        o,
      ]),
    );
  const sourceRuns = await list('taskruns', source);
  const sourceMaps = await list('configmaps', source);

  const first = await workers.start();
  const include = { crds: false, secrets: false, helmReleases: false, configMaps: true, taskRuns: true };
  const backup = (await temporal.client.workflow.execute('backupPlatform', {
    taskQueue,
    workflowId: uniqueTaskQueue('restore-crash-backup'),
    args: [{ namespace: source, include }],
  })) as BackupReport;
  assert.deepEqual(backup.backup.counts, { configMaps: 2, taskRuns: FINISHED + 1 });

  // The target, watched by the TaskRun controller (on the worker that gets killed).
  await cluster.kubectl(['create', 'namespace', target]);
  await applyObjects(cluster, controllerConfigMap(target, failFastControllerConfig(1000)));
  await startControllerWorkflow(temporal, taskQueue, { namespace: target });

  const started = Date.now();
  const handle = await temporal.client.workflow.start('restorePlatform', {
    taskQueue,
    workflowId: uniqueTaskQueue('restore-crash'),
    args: [{ backupId: backup.backupId, targetNamespace: target, include }],
  });
  let midway = 0;
  // A 429 "storage is (re)initializing" (the CRD was just created on a loaded cluster) counts as none yet.
  const targetRuns = async () =>
    (
      (await cluster.kube.custom.listNamespacedCustomObject({ ...TR, namespace: target }).catch((err: unknown) => {
        if (isStatus(err, 429)) return { items: [] };
        throw err;
      })) as { items: unknown[] }
    ).items.length;
  const kills = await killAtBoundaries(handle, first, workers, [
    [1, 'verifyBackup'],
    [3, 'ensureNamespaces'],
    {
      name: 'while the TaskRuns are restored (some exist in the target)',
      reached: async () => (midway = await targetRuns()) > 0,
    },
    [5, 'restoreKind'],
  ]);
  const report = (await handle.result()) as RestoreReport;
  const seconds = Math.round((Date.now() - started) / 1000);

  // The one TaskRun that never started gets its Job (the controller works); give any wrong Job time to appear too.
  const jobsOf = async () =>
    (
      JSON.parse(await cluster.kubectl(['get', 'jobs', '-n', target, '-o', 'json'])) as {
        items: { metadata: { labels?: Record<string, string> } }[];
      }
    ).items.map((j) => j.metadata.labels?.['task-id'] ?? '?');
  await eventually(
    "the never-started TaskRun's Job",
    async () => (await jobsOf()).includes('not-started'),
    120_000,
    500,
  );
  await sleep(3000);
  const jobs = await jobsOf();
  const runs = await list('taskruns', target);
  const maps = await list('configmaps', target);
  const wrongStatus = [...sourceRuns]
    .filter(
      ([name, s]) => name !== 'not-started' && JSON.stringify(runs.get(name)?.status) !== JSON.stringify(s.status),
    )
    .map(([n]) => n);
  await recordReliability('restore-crash', {
    runs: 1,
    crashes: kills.killedAt.length,
    lost:
      [...sourceRuns.keys()].filter((n) => !runs.has(n)).length +
      wrongStatus.length +
      ['owned', 'plain'].filter((n) => !maps.has(n)).length,
    duplicates: Math.max(0, jobs.length - 1) + Math.max(0, runs.size - sourceRuns.size),
  });
  console.error(
    `restore-crash: ${kills.killedAt.length} kills (${kills.killedAt.join('; ')}), ${seconds} s; activities at each kill: ${kills.completedAtKill.map((c) => c.length).join(', ')}; ${midway} of ${FINISHED + 1} TaskRuns in the target at the mid-restore kill`,
  );

  assert.equal(kills.killedAt.length, 4);
  assert.equal(
    report.verify?.every((c) => c.found === c.expected),
    true,
  );
  assert.deepEqual([...runs.keys()].sort(), [...sourceRuns.keys()].sort(), "the backup's TaskRuns, none more");
  assert.deepEqual(wrongStatus, [], "TaskRuns whose status is not the backup's");
  for (const [name, run] of runs) {
    assert.equal(run.metadata.annotations?.[RESTORE_PENDING_ANNOTATION], undefined, name);
    assert.equal(run.metadata.ownerReferences, undefined, name);
    assert.deepEqual(run.spec, sourceRuns.get(name)!.spec, name);
  }
  assert.deepEqual(jobs, ['not-started'], 'a Job only for the TaskRun that had never started');
  for (const name of ['owned', 'plain']) {
    assert.deepEqual(maps.get(name)?.data, sourceMaps.get(name)!.data, name);
    assert.equal(maps.get(name)?.metadata.ownerReferences, undefined, name);
  }
});
