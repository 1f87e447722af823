// The one health rule (workflows/health-summary.ts judgeHealthProbe) that deployPlatform's and
// rotateSecret's health steps, upgradePlatform's smoke test and platformHealth all apply.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeHealthProbe } from '../../workflows/health-summary.ts';
import type { ServiceProbeReport } from '../../contract/types/platform-health.ts';

const answered = (over: Partial<ServiceProbeReport> = {}): ServiceProbeReport => ({
  checked: true,
  via: 'service-proxy',
  target: 'service proxy orchestrator/orchestrator/health',
  ok: true,
  statusCode: 200,
  body: { status: 'healthy', version: '1.1.0', timestamp: '2026-11-28T12:00:00Z' },
  detail: 'answered 200',
  ...over,
});

test('a probe that ran and answered 2xx with status "healthy" passes, and the report says which probe and which version', () => {
  assert.deepEqual(judgeHealthProbe(answered()), {
    ok: true,
    checked: true,
    probe: 'service-proxy',
    target: 'service proxy orchestrator/orchestrator/health',
    statusCode: 200,
    version: '1.1.0',
    detail: 'answered 200 (version 1.1.0)',
  });
  assert.equal(judgeHealthProbe(answered({ via: 'local-standin' })).probe, 'local-standin');
});

test('a 2xx answer without a JSON status (or not JSON at all) passes: nothing said it is unhealthy', () => {
  assert.equal(judgeHealthProbe(answered({ body: 'OK' })).ok, true);
  assert.equal(judgeHealthProbe(answered({ body: undefined, via: 'url' })).ok, true);
  assert.equal(judgeHealthProbe(answered({ body: { version: '2' } })).version, '2');
});

test("a probe that ran and failed fails the check, with the probe's own reason", () => {
  const check = judgeHealthProbe(
    answered({
      ok: false,
      statusCode: 503,
      body: { status: 'unhealthy', version: 'unhealthy' },
      detail: 'answered 503: unhealthy',
    }),
  );
  assert.equal(check.ok, false);
  assert.equal(check.detail, 'answered 503: unhealthy');
  assert.equal(check.statusCode, 503);
  assert.equal(
    judgeHealthProbe({ checked: true, via: 'url', ok: false, detail: 'did not answer: ECONNREFUSED' }).ok,
    false,
  );
});

test('a 2xx answer whose status is not "healthy" fails the check', () => {
  const check = judgeHealthProbe(answered({ body: { status: 'degraded', version: '1.1.0' } }));
  assert.equal(check.ok, false);
  assert.match(check.detail, /status is "degraded", not "healthy"/);
});

test('a probe that could not run at all fails the check too (deployPlatform and rotateSecret used to pass it)', () => {
  const check = judgeHealthProbe({
    checked: false,
    ok: false,
    detail: 'no Service orchestrator/orchestrator: nothing to probe',
  });
  assert.equal(check.ok, false);
  assert.equal(check.checked, false);
  assert.equal(check.detail, 'the health probe could not run: no Service orchestrator/orchestrator: nothing to probe');
  assert.equal(check.probe, undefined);
});
