// securityAudit's pure checks, table-tested: RBAC rule matching and risk, how a binding names the
// service account, pod security hits, image references, the `where` cap.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { ruleAllows, ruleCovered, ruleRisk, worstRisk, type PolicyRule } from '../../activities/audit/rules.ts';
import { subjectNaming } from '../../activities/audit/rbac.ts';
import { imageHit, parseImage, podHits, workloadOf } from '../../activities/audit/workloads.ts';
import { mentionsSecret } from '../../activities/audit/events.ts';
import { capWhere, MAX_WHERE } from '../../contract/types/security-audit.ts';

const rule = (verbs: string[], resources: string[], apiGroups = [''], extra: Partial<PolicyRule> = {}): PolicyRule => ({
  verbs,
  resources,
  apiGroups,
  ...extra,
});

test('ruleAllows: wildcards, subresources, resourceNames', () => {
  const cases: [PolicyRule, string, string, string, boolean][] = [
    [rule(['get'], ['secrets']), 'get', '', 'secrets', true],
    [rule(['get'], ['secrets']), 'list', '', 'secrets', false],
    [rule(['*'], ['*'], ['*']), 'create', 'rbac.authorization.k8s.io', 'clusterrolebindings', true],
    [rule(['get'], ['secrets'], ['apps']), 'get', '', 'secrets', false],
    [rule(['create'], ['pods']), 'create', '', 'pods/exec', false],
    [rule(['create'], ['pods/*']), 'create', '', 'pods/exec', true],
    [rule(['get'], ['secrets'], [''], { resourceNames: ['one'] }), 'get', '', 'secrets', false],
  ];
  for (const [r, verb, group, resource, want] of cases)
    assert.equal(ruleAllows(r, verb, group, resource), want, `${JSON.stringify(r)} ${verb} ${group}/${resource}`);
});

test('ruleCovered: a live rule within the declared ones, or not', () => {
  const declared = [
    rule(['get', 'list', 'watch'], ['pods', 'configmaps']),
    rule(['create', 'patch'], ['events'], ['', 'events.k8s.io']),
  ];
  assert.equal(ruleCovered(rule(['get'], ['pods']), declared), true);
  assert.equal(ruleCovered(rule(['create'], ['events'], ['events.k8s.io']), declared), true);
  assert.equal(ruleCovered(rule(['get'], ['secrets']), declared), false);
  assert.equal(ruleCovered(rule(['*'], ['pods']), declared), false, 'a wildcard is covered only by a wildcard');
});

test('ruleRisk: what makes a rule critical, high, medium or low', () => {
  const cases: [PolicyRule, boolean, string][] = [
    [rule(['*'], ['*'], ['*']), false, 'critical'],
    [rule(['bind'], ['clusterroles'], ['rbac.authorization.k8s.io']), false, 'critical'],
    [rule(['create'], ['rolebindings'], ['rbac.authorization.k8s.io']), false, 'critical'],
    [rule(['list'], ['secrets']), true, 'critical'],
    [rule(['list'], ['secrets']), false, 'high'],
    [rule(['get'], ['secrets'], [''], { resourceNames: ['own'] }), false, 'low'],
    [rule(['create'], ['pods/exec']), false, 'high'],
    [rule(['create'], ['deployments'], ['apps']), true, 'high'],
    [rule(['create'], ['jobs'], ['batch']), false, 'medium'],
    [rule(['update'], ['configmaps']), false, 'medium'],
    [rule(['get', 'list'], ['nodes']), true, 'medium'],
    [rule(['get', 'list'], ['pods']), false, 'low'],
    [{ verbs: ['get'], nonResourceURLs: ['/healthz'] }, true, 'low'],
  ];
  for (const [r, clusterWide, want] of cases)
    assert.equal(ruleRisk(r, clusterWide).severity, want, `${JSON.stringify(r)} clusterWide=${clusterWide}`);
  assert.equal(worstRisk([rule(['get'], ['pods']), rule(['list'], ['secrets'])], true).severity, 'critical');
  assert.equal(worstRisk([], false).severity, 'low');
});

test('subjectNaming: the account directly, as a User, or through its groups; not another account', () => {
  assert.equal(
    subjectNaming([{ kind: 'ServiceAccount', name: 'orch', namespace: 'p' }], 'p', 'orch'),
    'ServiceAccount p/orch',
  );
  assert.equal(
    subjectNaming([{ kind: 'User', name: 'system:serviceaccount:p:orch' }], 'p', 'orch'),
    'User system:serviceaccount:p:orch',
  );
  assert.equal(
    subjectNaming([{ kind: 'Group', name: 'system:serviceaccounts:p' }], 'p', 'orch'),
    'Group system:serviceaccounts:p',
  );
  assert.equal(
    subjectNaming(
      [
        { kind: 'ServiceAccount', name: 'orch', namespace: 'other' },
        { kind: 'Group', name: 'system:serviceaccounts:other' },
      ],
      'p',
      'orch',
    ),
    undefined,
  );
  assert.equal(subjectNaming(undefined, 'p', 'orch'), undefined);
});

const pod = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}): V1Pod => ({
  metadata: { name: 'web-abc12-xyz', namespace: 'p', ...meta },
  spec: spec as unknown as V1Pod['spec'],
});

test('podHits: privileged, root, may-run-as-root, host namespaces, capabilities, hostPath; a restricted pod has none', () => {
  const owned = {
    labels: { 'pod-template-hash': 'abc12' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc12', uid: 'u', controller: true }],
  };
  const bad = pod(
    {
      hostPID: true,
      volumes: [{ name: 'root', hostPath: { path: '/' } }],
      containers: [
        {
          name: 'a',
          image: 'x',
          securityContext: { privileged: true, runAsUser: 0, capabilities: { add: ['CAP_SYS_ADMIN', 'CHOWN'] } },
        },
        { name: 'b', image: 'x' },
      ],
    },
    owned,
  );
  assert.equal(workloadOf(bad), 'Deployment p/web');
  assert.deepEqual(
    podHits(bad)
      .map((h) => `${h.severity} ${h.check} ${h.at}`)
      .sort(),
    [
      'critical pod.privileged Deployment p/web container a',
      'high pod.capabilities Deployment p/web container a (SYS_ADMIN)',
      'high pod.hostPID Deployment p/web',
      'high pod.root Deployment p/web container a',
      'medium pod.hostPath Deployment p/web volume root (/)',
      'medium pod.may-run-as-root Deployment p/web container b',
    ],
  );
  const restricted = pod({
    securityContext: { runAsNonRoot: true, runAsUser: 65532 },
    containers: [
      { name: 'a', image: 'x', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } },
    ],
  });
  assert.deepEqual(podHits(restricted), []);
  // The container's runAsUser 0 overrides the pod's runAsNonRoot.
  assert.deepEqual(
    podHits(
      pod({
        securityContext: { runAsNonRoot: true },
        containers: [{ name: 'a', image: 'x', securityContext: { runAsUser: 0 } }],
      }),
    ).map((h) => h.check),
    ['pod.root'],
  );
});

test('images: latest and untagged (medium), tag without digest (low, the running digest in the fix), digest pinned (none); registry ports are not tags', () => {
  assert.deepEqual(parseImage('registry:5000/team/app:1.2@sha256:ab'), {
    repository: 'registry:5000/team/app',
    tag: '1.2',
    digest: 'sha256:ab',
  });
  assert.deepEqual(parseImage('registry:5000/team/app'), { repository: 'registry:5000/team/app' });
  assert.equal(imageHit('busybox:latest', 'x')?.check, 'image.latest');
  assert.equal(imageHit('registry:5000/app', 'x')?.check, 'image.latest');
  const pinned = `sha256:${'a'.repeat(64)}`;
  const unpinned = imageHit('ghcr.io/o/app:1.0.0', 'x', pinned);
  assert.equal(unpinned?.severity, 'low');
  assert.match(unpinned!.fix, new RegExp(`ghcr.io/o/app@${pinned}`));
  assert.equal(imageHit(`ghcr.io/o/app:1.0.0@${pinned}`, 'x'), undefined);
});

test('events that name a Secret; capWhere keeps MAX_WHERE and counts the rest', () => {
  assert.equal(mentionsSecret({ involvedObject: { kind: 'Secret', name: 's' }, metadata: {} }), true);
  assert.equal(
    mentionsSecret({
      involvedObject: { kind: 'Pod', name: 'p' },
      reason: 'FailedMount',
      message: 'secret "x" not found',
      metadata: {},
    }),
    true,
  );
  assert.equal(
    mentionsSecret({
      involvedObject: { kind: 'Pod', name: 'p' },
      reason: 'Scheduled',
      message: 'assigned',
      metadata: {},
    }),
    false,
  );
  const many = Array.from({ length: MAX_WHERE + 3 }, (_, i) => `o-${String(i).padStart(2, '0')}`);
  assert.deepEqual(capWhere([...many].reverse()), { where: many.slice(0, MAX_WHERE), whereMore: 3 });
  assert.deepEqual(capWhere(['b', 'a', 'b']), { where: ['a', 'b'] });
  assert.deepEqual(capWhere(['b', 'a'], true), { where: ['b', 'a'] });
});
