// The kube clients keep their connections alive (see reuseConnections): API calls against a loopback
// HTTP server that counts the TCP connections it accepts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { makeKubeClients } from '../../activities/kube/client.ts';

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

test('clients made twice from one KubeConfig still share the pool', async (t) => {
  const api = await countingApiServer();
  t.after(() => api.server.close());
  const config = kubeConfigFor(api.url);
  const a = makeKubeClients(config);
  const b = makeKubeClients(config);
  for (let i = 0; i < 5; i++) {
    await a.core.readNamespace({ name: `a-${i}` });
    await b.core.readNamespace({ name: `b-${i}` });
  }
  assert.ok(api.connections() <= 2, `${api.connections()} connections for 10 calls`);
});
