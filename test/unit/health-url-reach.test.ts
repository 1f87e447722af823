// healthUrl must not widen the worker's reach: link-local and metadata addresses are refused (after DNS
// resolution) unless the worker allows link-local ones, redirects are never followed, and the report
// keeps the status and the documented /health fields (status, version, timestamp), never the raw body.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { addressRefusal, healthBodyFields, hostRefusal, probeUrl } from '../../activities/health-probe.ts';
import type { ActivityDeps } from '../../activities/deps.ts';
import { platformHealthActivities } from '../../activities/platform-health.ts';
import { parseWorkerConfig } from '../../worker/config.ts';
import { INVALID_INPUT } from '../../contract/failures.ts';

let server: Server;
let base: string;
const SECRET_FIELD = 'db-password-never-in-a-report';

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          status: 'healthy',
          version: '1.2.3',
          timestamp: '2026-11-28T10:00:00Z',
          config: { dbPassword: SECRET_FIELD },
          extra: SECRET_FIELD,
        }),
      );
    } else if (req.url === '/to-metadata') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/' });
      res.end();
    } else if (req.url === '/text') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`plain text ${SECRET_FIELD}`);
    } else {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'unhealthy', version: '1.2.3', detail: SECRET_FIELD }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const refused = (pattern: RegExp) => (err: unknown) =>
  err instanceof ApplicationFailure &&
  err.type === INVALID_INPUT &&
  err.nonRetryable &&
  /^healthUrl: /.test(err.message) &&
  pattern.test(err.message);

test('address classification: link-local and metadata refused, loopback and ordinary addresses allowed', () => {
  for (const a of ['169.254.0.1', '169.254.10.20', 'fe80::1', 'FE80::abcd:1', 'febf::1', '::ffff:169.254.1.1'])
    assert.match(addressRefusal(a) ?? '', /link-local/, a);
  for (const a of [
    '169.254.169.254',
    'fd00:ec2::254',
    '100.100.100.200',
    '169.254.170.2',
    '::ffff:169.254.169.254',
    '[fd00:ec2::254]',
  ])
    assert.match(addressRefusal(a) ?? '', /metadata/, a);
  for (const a of [
    '127.0.0.1',
    '::1',
    '10.0.0.5',
    '192.168.1.1',
    '8.8.8.8',
    'fec0::1',
    '2001:db8::1',
    '169.253.255.255',
    '169.255.0.1',
  ])
    assert.equal(addressRefusal(a), undefined, a);
  // The worker may allow link-local addresses; metadata endpoints stay refused.
  assert.equal(addressRefusal('169.254.10.20', { allowLinkLocal: true }), undefined);
  assert.equal(addressRefusal('fe80::1', { allowLinkLocal: true }), undefined);
  assert.match(addressRefusal('169.254.169.254', { allowLinkLocal: true }) ?? '', /metadata/);
  for (const h of ['metadata.google.internal', 'METADATA.google.internal.', 'metadata', 'instance-data.ec2.internal'])
    assert.match(hostRefusal(h) ?? '', /metadata host/, h);
  assert.equal(hostRefusal('orchestrator.example.com'), undefined);
  assert.equal(hostRefusal('localhost'), undefined);
});

test('a healthUrl of a metadata or link-local address fails at once, naming healthUrl; no request is made', async () => {
  const started = Date.now();
  await assert.rejects(
    probeUrl('http://169.254.169.254/latest/meta-data/'),
    refused(/169\.254\.169\.254 is a cloud metadata address/),
  );
  await assert.rejects(probeUrl('http://[fd00:ec2::254]/latest/'), refused(/metadata/));
  await assert.rejects(probeUrl('http://metadata.google.internal/computeMetadata/v1/'), refused(/metadata host/));
  await assert.rejects(
    probeUrl('http://169.254.7.7:8080/health'),
    refused(/link-local address .*--probe-allow-link-local/),
  );
  await assert.rejects(probeUrl('http://[fe80::1]/health'), refused(/link-local/));
  // Other spellings of the same address (the URL parser normalises them; mapped IPv6 is checked as IPv4).
  for (const spelled of [
    'http://2852039166/',
    'http://0xa9fea9fe/',
    'http://[::ffff:169.254.169.254]/',
    'http://169.254.169.254./',
  ]) {
    await assert.rejects(probeUrl(spelled), refused(/metadata/), spelled);
  }
  assert.ok(Date.now() - started < 1000, 'refused without waiting for a connection');
  // Through the activity: the worker's configuration decides about link-local (a connection is then tried, and fails fast or times out).
  const acts = (probeAllowLinkLocal?: boolean) =>
    platformHealthActivities({ kube: {}, probeAllowLinkLocal } as unknown as ActivityDeps);
  const req = { namespace: 'orchestrator', serviceName: 'orchestrator', healthPath: '/health' };
  await assert.rejects(
    acts().probeOrchestrator({ ...req, healthUrl: 'http://169.254.169.254/latest/meta-data/' }),
    refused(/metadata/),
  );
  await assert.rejects(
    acts(true).probeOrchestrator({ ...req, healthUrl: 'http://169.254.169.254/' }),
    refused(/metadata/),
  );
  await assert.rejects(
    acts().probeOrchestrator({ ...req, healthUrl: 'http://169.254.7.7/health' }),
    refused(/link-local/),
  );
});

test('a name that resolves to a link-local or metadata address is refused after DNS resolution', async () => {
  const port = new URL(base).port;
  const fakeDns =
    (answers: Record<string, string[]>): NonNullable<Parameters<typeof probeUrl>[1]>['resolve'] =>
    (host, _opts, cb) => {
      const list = answers[host];
      if (!list) return cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }), []);
      cb(
        null,
        list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
      );
    };
  const resolve = fakeDns({
    'rebind.test': ['169.254.169.254'],
    'mixed.test': ['127.0.0.1', '169.254.1.1'],
    'ok.test': ['127.0.0.1'],
  });
  await assert.rejects(
    probeUrl(`http://rebind.test:${port}/health`, { resolve }),
    refused(/rebind\.test resolves to 169\.254\.169\.254 is a cloud metadata address/),
  );
  await assert.rejects(
    probeUrl(`http://mixed.test:${port}/health`, { resolve }),
    refused(/mixed\.test resolves to 169\.254\.1\.1 is a link-local address/),
  );
  const ok = await probeUrl(`http://ok.test:${port}/health`, { resolve });
  assert.equal(ok.ok, true, ok.detail);
  // With link-local allowed, the link-local answer is used (here: refused by nothing, the connection goes to the first address).
  const allowed = await probeUrl(`http://mixed.test:${port}/health`, { resolve, allowLinkLocal: true });
  assert.equal(allowed.ok, true, allowed.detail);
  // The real resolver: localhost is loopback, allowed.
  const local = await probeUrl(`${base.replace('127.0.0.1', 'localhost')}/health`);
  assert.equal(local.ok, true, local.detail);
});

test('redirects are not followed: a loopback server that redirects to the metadata address is not reached through it', async () => {
  const report = await probeUrl(`${base}/to-metadata`);
  assert.equal(report.ok, false);
  assert.equal(report.statusCode, 302);
  assert.match(report.detail, /redirects are not followed/);
  assert.equal(report.body, undefined);
});

test('the report keeps the status and the documented body fields only, never the raw body', async () => {
  const healthy = await probeUrl(`${base}/health`);
  assert.equal(healthy.ok, true);
  assert.equal(healthy.statusCode, 200);
  assert.deepEqual(healthy.body, { status: 'healthy', version: '1.2.3', timestamp: '2026-11-28T10:00:00Z' });
  const unhealthy = await probeUrl(`${base}/down`);
  assert.deepEqual(
    [unhealthy.ok, unhealthy.statusCode, unhealthy.body],
    [false, 503, { status: 'unhealthy', version: '1.2.3' }],
  );
  const text = await probeUrl(`${base}/text`);
  assert.deepEqual([text.ok, text.body], [true, undefined]);
  for (const r of [healthy, unhealthy, text]) assert.ok(!JSON.stringify(r).includes(SECRET_FIELD), JSON.stringify(r));
  assert.deepEqual(healthBodyFields(JSON.stringify({ status: 'x'.repeat(1000), other: 1 })), {
    status: 'x'.repeat(200),
  });
  assert.equal(healthBodyFields('[1,2]'), undefined);
  assert.equal(healthBodyFields('null'), undefined);
});

test('worker config: --probe-allow-link-local or RUNBOOK_PROBE_ALLOW_LINK_LOCAL=1; off by default', () => {
  const config = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const c = parseWorkerConfig(['--kubeconfig', 'k', ...argv], env);
    assert.notEqual(c, 'help');
    return (c as Exclude<typeof c, 'help'>).probeAllowLinkLocal;
  };
  assert.equal(config([]), false);
  assert.equal(config(['--probe-allow-link-local']), true);
  assert.equal(config([], { RUNBOOK_PROBE_ALLOW_LINK_LOCAL: '1' }), true);
});
