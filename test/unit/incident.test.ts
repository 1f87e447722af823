// incidentResponse's pure parts: the NetworkPolicy's selector, image matching by digest, the Secrets
// a pod references, metadata cleaning (no last-applied annotation: it may hold a Secret's data),
// the policy name and label value, and the workflow id as an incident id.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { equalitySelector } from '../../activities/incident/contain.ts';
import { imageMatches } from '../../activities/incident/integrity.ts';
import { secretsOf } from '../../activities/incident/assess.ts';
import { cleanMeta } from '../../activities/incident/collect.ts';
import { incidentLabelValue, incidentPolicyName } from '../../contract/types/incident.ts';
import { incidentIdOf } from '../../workflows/incident-response/index.ts';

test('equalitySelector: matchLabels for equality selectors only (else the whole namespace is isolated)', () => {
  assert.deepEqual(equalitySelector('app=orchestrator, tier==web'), { app: 'orchestrator', tier: 'web' });
  assert.equal(equalitySelector('app in (a,b)'), undefined);
  assert.equal(equalitySelector('app!=x'), undefined);
  assert.equal(equalitySelector(undefined), undefined);
});

test('imageMatches: by digest when the release pins one, else by reference (docker.io prefix ignored)', () => {
  const digest = 'sha256:' + 'a'.repeat(64);
  assert.ok(imageMatches(`ghcr.io/x/o@${digest}`, { image: 'ghcr.io/x/o:1', imageID: `ghcr.io/x/o@${digest}` }));
  assert.ok(
    !imageMatches(`ghcr.io/x/o@${digest}`, { image: 'ghcr.io/x/o:1', imageID: `ghcr.io/x/o@sha256:${'b'.repeat(64)}` }),
  );
  assert.ok(imageMatches('nginx:1', { image: 'docker.io/library/nginx:1', imageID: '' }));
  assert.ok(!imageMatches('ghcr.io/x/o:1.0.0', { image: 'ghcr.io/x/o:1.0.1', imageID: '' }));
});

test('secretsOf: volumes, projected volumes, env, envFrom and image pull Secrets', () => {
  assert.deepEqual(
    secretsOf({
      spec: {
        volumes: [
          { name: 'a', secret: { secretName: 'vol' } },
          { name: 'b', projected: { sources: [{ secret: { name: 'proj' } }] } },
        ],
        containers: [
          {
            name: 'c',
            env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 'env', key: 'k' } } }],
            envFrom: [{ secretRef: { name: 'from' } }],
          },
        ],
        imagePullSecrets: [{ name: 'pull' }],
      },
    }),
    ['env', 'from', 'proj', 'pull', 'vol'],
  );
});

test('cleanMeta drops managedFields and the last-applied annotation, keeps the rest', () => {
  const meta = cleanMeta({
    name: 's',
    managedFields: [{ manager: 'x' }],
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"k":"c2VjcmV0"}}', keep: 'yes' },
  });
  assert.deepEqual(meta, { name: 's', annotations: { keep: 'yes' } });
});

test('policy name, label value and incident id stay valid Kubernetes names', () => {
  const long = `Inc_${'x'.repeat(120)}`;
  assert.match(incidentPolicyName(long), /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  assert.ok(incidentPolicyName(long).length <= 63);
  assert.ok(incidentLabelValue(`a${'-'.repeat(70)}`).length <= 63);
  assert.match(incidentLabelValue(`a${'-'.repeat(70)}`), /^[A-Za-z0-9]*$/);
  assert.equal(incidentIdOf('incident/2026 11 28'), 'incident-2026-11-28');
  assert.equal(incidentIdOf('///'), 'incident');
});
