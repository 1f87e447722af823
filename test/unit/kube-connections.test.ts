// The kube clients keep their connections alive (see reuseConnections): API calls against a loopback
// HTTP server that counts the TCP connections it accepts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServer, type Server } from 'node:http';
import { createSecureServer } from 'node:http2';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { AddressInfo } from 'node:net';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { makeKubeClients, reuseConnections } from '../../activities/kube/client.ts';

async function countingApiServer(): Promise<{ server: Server; url: string; connections: () => number }> {
  let connections = 0;
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: req.url?.split('/').pop() } }));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

function kubeConfigFor(url: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'loopback', server: url, skipTLSVerify: true }],
    users: [{ name: 'tester', token: 'not-a-secret' }],
    contexts: [{ name: 'loopback', cluster: 'loopback', user: 'tester' }],
    currentContext: 'loopback',
  });
  return config;
}

test('sequential API calls reuse kept-alive connections', async (t) => {
  const api = await countingApiServer();
  t.after(() => api.server.close());
  const kube = makeKubeClients(kubeConfigFor(api.url));
  for (let i = 0; i < 10; i++) {
    const ns = await kube.core.readNamespace({ name: `ns-${i}` });
    assert.equal(ns.metadata?.name, `ns-${i}`);
  }
  // Unpooled, that is 10 connections; undici may open a second one while the first response drains.
  assert.ok(api.connections() <= 2, `${api.connections()} connections for 10 calls`);
});

test('a watch keeps its own connection and stays open while API calls run', async (t) => {
  let connections = 0;
  let watchClosed = false;
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url?.includes('watch=true')) {
      // A watch: one event, then the stream stays open (until the client aborts).
      res.write(`${JSON.stringify({ type: 'ADDED', object: { kind: 'ConfigMap', metadata: { name: 'a' } } })}\n`);
      req.on('close', () => (watchClosed = true));
      return;
    }
    res.end(JSON.stringify({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'x' } }));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const kube = makeKubeClients(kubeConfigFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));

  const events: string[] = [];
  let ended = false;
  const watch = await new Watch(kube.config).watch(
    '/api/v1/configmaps',
    {},
    (type) => events.push(type),
    () => (ended = true),
  );
  for (let i = 0; i < 10; i++) await kube.core.readNamespace({ name: `ns-${i}` });
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(events, ['ADDED']);
  assert.equal(ended, false, 'the watch ended while API calls ran');
  assert.equal(watchClosed, false);
  assert.ok(connections <= 3, `${connections} connections: the watch's, and at most 2 for 10 calls`);
  watch.abort();
});

test('pooled API calls offer only HTTP/1.1 over TLS unless http2 is asked for (HTTP/2 grew the RSS of many calls in flight)', () => {
  type Built = { type: string; connect?: { allowH2?: boolean; ca?: unknown } };
  const dispatcherOptions = (options?: { http2?: boolean }): Built => {
    const config = kubeConfigFor('https://127.0.0.1:6443');
    reuseConnections(config, options);
    const build = (config as unknown as { createDispatcherOptions(c: unknown, o: unknown): Built })
      .createDispatcherOptions;
    return build.call(config, config.getCurrentCluster(), { ca: Buffer.from('ca') });
  };
  const http1 = dispatcherOptions();
  assert.equal(http1.type, 'agent');
  assert.equal(http1.connect?.allowH2, false);
  assert.deepEqual(http1.connect?.ca, Buffer.from('ca'));
  assert.equal(dispatcherOptions({ http2: true }).connect?.allowH2, undefined);
});

test('watches share one HTTP/2 connection: ten watches started and ended in turn open one TLS connection', async (t) => {
  // A self-signed certificate for a loopback HTTPS server that speaks HTTP/2 (as kube-apiserver does).
  const dir = mkdtempSync(join(tmpdir(), 'watch-h2-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await execa('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-days',
    '1',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
  ]);
  let connections = 0;
  const server = createSecureServer(
    { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')), allowHTTP1: true },
    (req, res) => {
      res.setHeader('content-type', 'application/json');
      // A watch: one event, then the stream stays open until the client ends it.
      res.write(`${JSON.stringify({ type: 'ADDED', object: { kind: 'ConfigMap', metadata: { name: 'a' } } })}\n`);
    },
  );
  server.on('secureConnection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const kube = makeKubeClients(kubeConfigFor(`https://127.0.0.1:${(server.address() as AddressInfo).port}`));

  for (let i = 0; i < 10; i++) {
    let seen: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (seen = resolve));
    const watch = await new Watch(kube.watches).watch(
      '/api/v1/configmaps',
      {},
      () => seen(),
      () => undefined,
    );
    await first;
    watch.abort();
  }
  assert.equal(connections, 1, `${connections} TLS connections for 10 watches`);
});
