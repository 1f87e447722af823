// The controller's watch activity keeps its namespace's watches open between calls (live-watch.ts):
// consecutive calls on the local cluster get every change, including one made while no call ran,
// and open the three watches (TaskRuns, agent Jobs, config) once, not three per call.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { watchTaskRunView, clearViewCache } from '../../activities/taskrun/view-watch.ts';
import type { WatchInput, WatchResult } from '../../contract/types/taskrun.ts';
import { useTestCluster, uniqueNamespace } from '../helpers/cluster.ts';
import { installTaskRunCrd } from '../helpers/taskrun.ts';
import { applyObjects } from '../helpers/apply-objects.ts';
import { taskRunObject } from '../helpers/taskrun-objects.ts';

const testCluster = useTestCluster();
const namespace = uniqueNamespace('trlive');
after(() => clearViewCache());

before(async () => {
  const cluster = await testCluster();
  await installTaskRunCrd(cluster);
  await cluster.kubectl(['create', 'namespace', namespace]);
  cluster.defer(() => cluster.kubectl(['delete', 'namespace', namespace, '--wait=false']));
});

const createTaskRun = async (name: string) =>
  applyObjects(await testCluster(), taskRunObject({ name, namespace }, { service: 'svc', taskId: name, prompt: 'p' }));

const upserted = (result: WatchResult) =>
  result.changes.flatMap((c) => (c.kind === 'taskRun' && c.type === 'upsert' ? [c.taskRun.name] : []));

test('consecutive watch calls get each new TaskRun, one made between calls too, on watches opened once', async () => {
  const { kube } = await testCluster();
  const requests: string[] = [];
  const call = (input: Partial<WatchInput>) =>
    watchTaskRunView(
      kube,
      { namespace, configMapName: 'taskrun-controller-config', maxWaitSeconds: 20, activeTasks: 0, ...input },
      { onWatchRequest: (which) => requests.push(which) },
    );
  const next = (prev: WatchResult) => call({ cursor: prev.cursor, config: prev.config, ack: prev.seq });

  let result = await call({});
  assert.equal(result.relisted, 'initial');
  for (const name of ['live-1', 'live-2', 'live-3']) {
    const pending = next(result);
    await createTaskRun(name);
    result = await pending;
    assert.deepEqual(upserted(result), [name]);
  }
  // Made while no call runs: the open watches have it, and the next call returns it.
  await createTaskRun('between');
  result = await next(result);
  assert.deepEqual(upserted(result), ['between']);
  assert.deepEqual(requests.sort(), ['ConfigMap', 'jobs', 'taskRuns'], 'each watch opened once over five calls');
});
