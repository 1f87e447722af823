// watchTaskRunChanges against a fake API server (plain HTTP): the controller ConfigMap's watch
// resumes from a list resourceVersion, a 410 on it re-reads the config without ending the round,
// and a watch ended by client-node's inactivity timeout is resumed, not a failed attempt.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { makeKubeClients, type KubeClients } from '../../activities/kube/client.ts';
import { watchTaskRunChanges } from '../../activities/taskrun/watch.ts';
import { DEFAULT_CONTROLLER_CONFIG } from '../../activities/taskrun/config.ts';
import type { WatchInput } from '../../contract/types/taskrun.ts';

/** ConfigMap events older than this are out of the fake watch cache (410 Gone). */
const OLDEST_WATCHABLE = 400;
const LIST_RV = '500';
const CONFIG_OBJECT_RV = '10';

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
}
const seen: Seen[] = [];
const open = new Set<ServerResponse>();
let kube: KubeClients;
let server: ReturnType<typeof createServer>;

const configMap = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'cfg', namespace: 'ns', resourceVersion: CONFIG_OBJECT_RV },
  data: { 'config.yaml': 'maxConcurrentTasks: 7\n' },
};

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url!, 'http://x');
  seen.push({ method: req.method!, path: url.pathname, query: url.searchParams });
  const json = (body: unknown) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (url.searchParams.get('watch') === 'true') {
    res.writeHead(200, { 'content-type': 'application/json' });
    const rv = Number(url.searchParams.get('resourceVersion') ?? LIST_RV);
    if (url.pathname.endsWith('/configmaps') && rv < OLDEST_WATCHABLE) {
      res.end(
        `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `too old resource version: ${rv} (${OLDEST_WATCHABLE})`, reason: 'Expired', code: 410 } })}\n`,
      );
      return;
    }
    // Held open without a byte (no events, no bookmarks) until the client goes.
    open.add(res);
    res.on('close', () => open.delete(res));
    return;
  }
  if (url.pathname === '/api/v1/namespaces/ns/configmaps/cfg') return json(configMap);
  if (url.pathname === '/api/v1/namespaces/ns/configmaps')
    return json({
      kind: 'ConfigMapList',
      apiVersion: 'v1',
      metadata: { resourceVersion: LIST_RV },
      items: [configMap],
    });
  if (url.pathname === '/apis/orchestrator.io/v1/namespaces/ns/taskruns')
    return json({
      kind: 'TaskRunList',
      apiVersion: 'orchestrator.io/v1',
      metadata: { resourceVersion: '600' },
      items: [],
    });
  if (url.pathname === '/apis/batch/v1/namespaces/ns/jobs')
    return json({ kind: 'JobList', apiVersion: 'batch/v1', metadata: { resourceVersion: '601' }, items: [] });
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', code: 404, message: 'not found' }));
}

before(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
    currentContext: 'c',
  });
  kube = makeKubeClients(config);
});

after(async () => {
  for (const res of open) res.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const reconcilerConfig = { ...DEFAULT_CONTROLLER_CONFIG, maxConcurrentTasks: 7, resourceVersion: CONFIG_OBJECT_RV };
const input = (cursor: WatchInput['cursor']): WatchInput => ({
  namespace: 'ns',
  configMapName: 'cfg',
  ...(cursor ? { cursor } : {}),
  config: reconcilerConfig,
  maxWaitSeconds: 2,
  activeTasks: 0,
});
const configWatches = () => seen.filter((s) => s.path.endsWith('/configmaps') && s.query.get('watch') === 'true');

test("the config watch starts from a list resourceVersion (not the ConfigMap's own, out of the watch cache): the round lasts until maxWaitSeconds", async () => {
  const first = await watchTaskRunChanges(kube, { ...input(undefined), config: undefined });
  assert.equal(first.relisted, 'initial');
  assert.equal(first.cursor.config, LIST_RV);
  seen.length = 0;
  const started = Date.now();
  const result = await watchTaskRunChanges(kube, input({ ...first.cursor, taskRuns: '450', jobs: '450' }));
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 1800, `returned after ${elapsed} ms: an idle round must wait for changes`);
  assert.deepEqual(result.changes, []);
  assert.equal(result.config.maxConcurrentTasks, 7);
  assert.equal(result.config.resourceVersion, CONFIG_OBJECT_RV);
  assert.equal(result.cursor.config, LIST_RV);
  assert.ok(
    configWatches().every((w) => Number(w.query.get('resourceVersion')) >= OLDEST_WATCHABLE),
    configWatches()
      .map((w) => w.query.get('resourceVersion'))
      .join(','),
  );
});

test('a 410 on the config watch re-lists the config and keeps watching: the round does not end early', async () => {
  seen.length = 0;
  const started = Date.now();
  const result = await watchTaskRunChanges(kube, input({ taskRuns: '450', jobs: '450', config: '300' }));
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 1800, `returned after ${elapsed} ms`);
  assert.equal(result.cursor.config, LIST_RV);
  assert.equal(result.config.resourceVersion, CONFIG_OBJECT_RV);
  assert.deepEqual(
    configWatches().map((w) => w.query.get('resourceVersion')),
    ['300', LIST_RV],
  );
});

test("watches ended by client-node's inactivity timeout are resumed from their cursor: the round ends normally", async () => {
  seen.length = 0;
  const result = await watchTaskRunChanges(kube, input({ taskRuns: '450', jobs: '450', config: LIST_RV }), {
    idleTimeoutMs: 400,
  });
  assert.deepEqual(result.changes, []);
  assert.deepEqual(result.cursor, { taskRuns: '450', jobs: '450', config: LIST_RV });
  const taskRunWatches = seen.filter((s) => s.path.endsWith('/taskruns') && s.query.get('watch') === 'true');
  assert.ok(taskRunWatches.length >= 2, `${taskRunWatches.length} TaskRun watches: resumed after the timeout`);
  assert.ok(taskRunWatches.every((w) => w.query.get('resourceVersion') === '450'));
});

test('relistOnIdle: a round that ends at maxWaitSeconds without a change lists everything itself (one activity per resync when idle)', async () => {
  seen.length = 0;
  const result = await watchTaskRunChanges(kube, {
    ...input({ taskRuns: '450', jobs: '450', config: LIST_RV }),
    maxWaitSeconds: 1,
    relistOnIdle: true,
  });
  assert.equal(result.relisted, 'resync');
  assert.deepEqual(result.snapshot, { taskRuns: [], jobs: [] });
  assert.deepEqual(result.cursor, { taskRuns: '600', jobs: '601', config: LIST_RV });
  assert.equal(result.config.maxConcurrentTasks, 7);
});
