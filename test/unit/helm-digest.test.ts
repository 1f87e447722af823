// The chart+values digest that makes helmUpgradeInstall idempotent, and the dry run's object list.
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { canonicalJson, chartArgs, DIGEST_LENGTH, releaseDigest, resolveChart } from '../../activities/helm/digest.ts';
import { manifestObjects } from '../../activities/helm/upgrade.ts';
import { HELM_INVALID } from '../../contract/failures.ts';

const chartDir = fileURLToPath(new URL('../../charts/orchestrator', import.meta.url));
const tmp = await mkdtemp(join(tmpdir(), 'helm-digest-test-'));
after(() => rm(tmp, { recursive: true, force: true }));

const isInvalid = (pattern: RegExp) => (err: unknown) =>
  err instanceof ApplicationFailure && err.type === HELM_INVALID && err.nonRetryable && pattern.test(err.message);

test('canonical JSON sorts keys at every level and keeps array order', () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } }),
    '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
  );
  assert.equal(canonicalJson({ x: 1, y: 2 }), canonicalJson({ y: 2, x: 1 }));
});

test('the digest depends on values (not their key order), values files (and their order) and every chart file', async () => {
  const chart = await resolveChart({ chart: chartDir }, '/');
  const base = await releaseDigest({ chart, values: { image: { tag: '1.0.0', repository: 'r' } }, valuesFiles: [] });
  assert.match(base, new RegExp(`^[0-9a-f]{${DIGEST_LENGTH}}$`));
  assert.ok(base.length <= 63, 'fits a label value');
  assert.equal(
    await releaseDigest({ chart, values: { image: { repository: 'r', tag: '1.0.0' } }, valuesFiles: [] }),
    base,
  );
  assert.notEqual(
    await releaseDigest({ chart, values: { image: { tag: '1.0.1', repository: 'r' } }, valuesFiles: [] }),
    base,
  );

  const f1 = join(tmp, 'a.yaml');
  const f2 = join(tmp, 'b.yaml');
  await writeFile(f1, 'replicaCount: 2\n');
  await writeFile(f2, 'replicaCount: 3\n');
  const withFiles = await releaseDigest({ chart, values: {}, valuesFiles: [f1, f2] });
  assert.notEqual(
    await releaseDigest({ chart, values: {}, valuesFiles: [f2, f1] }),
    withFiles,
    'later files win: order matters',
  );
  await writeFile(f2, 'replicaCount: 4\n');
  assert.notEqual(await releaseDigest({ chart, values: {}, valuesFiles: [f1, f2] }), withFiles, 'content matters');

  const copy = join(tmp, 'chart');
  await cp(chartDir, copy, { recursive: true });
  const copied = await resolveChart({ chart: 'chart' }, tmp);
  assert.deepEqual(copied, { kind: 'directory', path: copy });
  assert.equal(
    await releaseDigest({ chart: copied, values: {}, valuesFiles: [] }),
    await releaseDigest({ chart, values: {}, valuesFiles: [] }),
    'same files, same digest, wherever the chart lives',
  );
  await writeFile(join(copy, 'templates', 'NOTES.txt'), 'changed\n');
  assert.notEqual(
    await releaseDigest({ chart: copied, values: {}, valuesFiles: [] }),
    await releaseDigest({ chart, values: {}, valuesFiles: [] }),
  );
});

test('repository and OCI charts need an exact version; they are identified by name and version', async () => {
  const repo = await resolveChart(
    { chart: 'orchestrator', repo: 'https://charts.example.com/', chartVersion: '0.1.0' },
    '/',
  );
  assert.deepEqual(repo, { kind: 'repo', repo: 'https://charts.example.com', name: 'orchestrator', version: '0.1.0' });
  assert.deepEqual(chartArgs(repo), ['orchestrator', '--repo', 'https://charts.example.com', '--version', '0.1.0']);
  const oci = await resolveChart({ chart: 'oci://ghcr.io/example/charts/orchestrator', chartVersion: '0.2.0' }, '/');
  assert.deepEqual(chartArgs(oci), ['oci://ghcr.io/example/charts/orchestrator', '--version', '0.2.0']);
  const d1 = await releaseDigest({ chart: repo, values: {}, valuesFiles: [] });
  const d2 = await releaseDigest({ chart: { ...repo, version: '0.1.1' }, values: {}, valuesFiles: [] });
  assert.notEqual(d1, d2);

  await assert.rejects(
    resolveChart({ chart: 'orchestrator', repo: 'https://charts.example.com' }, '/'),
    isInvalid(/exact version/),
  );
  await assert.rejects(
    resolveChart({ chart: 'oci://ghcr.io/x/y', chartVersion: '^1.0.0' }, '/'),
    isInvalid(/exact version/),
  );
});

test('a local chart that does not exist, or a repository alias, is HelmInvalid before helm runs', async () => {
  await assert.rejects(
    resolveChart({ chart: 'no/such-chart-dir' }, tmp),
    isInvalid(/not found.*repository aliases are not supported/),
  );
  await assert.rejects(
    resolveChart({ chart: '/nonexistent/chart' }, tmp),
    isInvalid(/path "\/nonexistent\/chart" not found/),
  );
  await assert.rejects(
    releaseDigest({
      chart: { kind: 'repo', repo: 'r', name: 'n', version: '1.0.0' },
      values: {},
      valuesFiles: [join(tmp, 'missing.yaml')],
    }),
    isInvalid(/cannot be read/),
  );
});

test('manifestObjects lists Kind/name of every rendered object', () => {
  const manifest = [
    '---',
    '# Source: orchestrator/templates/serviceaccount.yaml',
    'apiVersion: v1',
    'kind: ServiceAccount',
    'metadata:',
    '  name: orch',
    '',
    '---',
    '# Source: orchestrator/templates/empty.yaml',
    '',
    '---',
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: orch',
    '  namespace: ns',
  ].join('\n');
  assert.deepEqual(manifestObjects(manifest), ['ServiceAccount/orch', 'Deployment/orch']);
  assert.deepEqual(manifestObjects(''), []);
});
