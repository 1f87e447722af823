// Helm values never stand in plain text in a backup's manifest.json: they are in the encrypted
// helmReleases file only (the release records' config); the manifest keeps their sha256, which a
// verification checks against the decrypted records.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { helmValuesMismatch, releaseSummary } from '../../activities/backup/write.ts';
import { helmValuesDigest } from '../../activities/backup/manifest.ts';

const VALUES = { image: { tag: '1.0.0' }, auth: { password: 'hunter2-in-values' } };
const status = {
  name: 'orchestrator',
  revision: 3,
  status: 'deployed',
  chart: 'orchestrator',
  chartVersion: '0.1.0',
  appVersion: '1.0.0',
};

function record(version: number, config: unknown) {
  const helmEncoded = gzipSync(
    Buffer.from(
      JSON.stringify({
        name: 'orchestrator',
        version,
        namespace: 'prod',
        info: { status: 'deployed' },
        manifest: '',
        config,
      }),
    ),
  ).toString('base64');
  return {
    metadata: { name: `sh.helm.release.v1.orchestrator.v${version}` },
    data: { release: Buffer.from(helmEncoded).toString('base64') },
  };
}

test("the manifest's Helm summary holds a digest of the values, not the values", () => {
  const summary = releaseSummary(status, 'prod', [1, 2, 3], VALUES);
  assert.equal('values' in summary, false);
  assert.ok(!JSON.stringify(summary).includes('hunter2'), JSON.stringify(summary));
  assert.match(summary.valuesSha256, /^[0-9a-f]{64}$/);
  // Independent of key order (canonical JSON).
  assert.equal(
    summary.valuesSha256,
    helmValuesDigest({ auth: { password: 'hunter2-in-values' }, image: { tag: '1.0.0' } }),
  );
  assert.notEqual(summary.valuesSha256, helmValuesDigest({ image: { tag: '1.0.1' } }));
});

test('verification: the digest matches the decrypted record of that revision; a different config is reported', () => {
  const summary = releaseSummary(status, 'prod', [2, 3], VALUES);
  assert.equal(helmValuesMismatch(summary, [record(2, { image: { tag: '0.9.0' } }), record(3, VALUES)]), undefined);
  assert.match(
    helmValuesMismatch(summary, [record(3, { ...VALUES, image: { tag: 'evil' } })]) ?? '',
    /values of orchestrator revision 3 do not match the manifest's sha256/,
  );
  // No user values: helm stores no config; the digest is of {}.
  assert.equal(helmValuesMismatch(releaseSummary(status, 'prod', [3], {}), [record(3, undefined)]), undefined);
  // Old manifests (plaintext values, no digest) have nothing to check.
  assert.equal(helmValuesMismatch({ ...summary, valuesSha256: undefined } as never, [record(3, {})]), undefined);
});
