// kube.json, the lean API call of a restore's TaskRun writes, against a local HTTP server: it sends the
// kubeconfig user's credentials and the JSON body, parses the answer, and fails like a client-node call
// (an ApiException that kubeCall classifies), so a 409 or a 422 means the same to the restore.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { KubeConfig } from '@kubernetes/client-node';
import { kubeJsonCall } from '../../activities/kube/json-call.ts';
import { kubeCall } from '../../activities/errors.ts';

const seen: { method?: string; url?: string; headers: IncomingMessage['headers']; body: string }[] = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk));
  req.on('end', () => {
    seen.push({ method: req.method, url: req.url, headers: req.headers, body });
    if (req.url?.startsWith('/exists')) {
      res.writeHead(409, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', code: 409, reason: 'AlreadyExists', message: 'x already exists' }));
      return;
    }
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ echoed: JSON.parse(body || 'null'), resourceVersion: '7' }));
  });
});
let config: KubeConfig;

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  config = new KubeConfig();
  config.loadFromOptions({
    clusters: [
      { name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, skipTLSVerify: true },
    ],
    users: [{ name: 'u', token: 'the-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
});
after(() => server.close());

test('sends the JSON body with the user credentials and returns the parsed answer', async () => {
  const call = kubeJsonCall(config);
  const answer = await call('POST', '/apis/g/v1/namespaces/n/things?fieldManager=m', { metadata: { name: 'a' } });
  assert.deepEqual(answer, { echoed: { metadata: { name: 'a' } }, resourceVersion: '7' });
  const request = seen.at(-1)!;
  assert.equal(request.method, 'POST');
  assert.equal(request.url, '/apis/g/v1/namespaces/n/things?fieldManager=m');
  assert.equal(request.headers.authorization, 'Bearer the-token');
  assert.equal(request.headers['content-type'], 'application/json');
  // A merge patch names its own content type.
  await call('PATCH', '/p', { a: null }, 'application/merge-patch+json');
  assert.equal(seen.at(-1)!.headers['content-type'], 'application/merge-patch+json');
});

test('an error status fails as a client-node call does: kubeCall reports the code and the server message', async () => {
  const call = kubeJsonCall(config);
  const failure = await kubeCall('create x', () => call('POST', '/exists', {})).catch((err: unknown) => err);
  assert.ok(failure instanceof ApplicationFailure);
  assert.equal((failure.details?.[0] as { httpStatus?: number }).httpStatus, 409);
  assert.match(failure.message, /create x: HTTP 409 .*x already exists/);
});
