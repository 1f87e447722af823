// kubectl drain's pod filters (activities/drain/filters.ts), table-tested like kubectl's filters_test.go.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DAEMONSET_FATAL,
  DAEMONSET_WARNING,
  LOCAL_STORAGE_FATAL,
  LOCAL_STORAGE_WARNING,
  UNMANAGED_FATAL,
  UNMANAGED_WARNING,
  filterPod,
  planPods,
  type DrainPod,
  type FilterOptions,
} from '../../activities/drain/filters.ts';

const NOW = Date.parse('2026-11-28T12:00:00Z');
const defaults: FilterOptions = {
  ignoreDaemonSets: false,
  deleteEmptyDirData: false,
  force: false,
  skipWaitForDeleteTimeoutSeconds: 0,
};

function pod(
  name: string,
  o: { owner?: string; mirror?: boolean; emptyDir?: boolean; phase?: string; deletedSecondsAgo?: number } = {},
): DrainPod {
  return {
    metadata: {
      namespace: 'ns',
      name,
      uid: `uid-${name}`,
      ...(o.mirror ? { annotations: { 'kubernetes.io/config.mirror': 'x' } } : {}),
      ...(o.owner ? { ownerReferences: [{ kind: o.owner, name: `${name}-owner`, controller: true }] } : {}),
      ...(o.deletedSecondsAgo !== undefined
        ? { deletionTimestamp: new Date(NOW - o.deletedSecondsAgo * 1000).toISOString() }
        : {}),
    },
    spec: { volumes: o.emptyDir ? [{ emptyDir: {} }] : [{}] },
    status: { phase: o.phase ?? 'Running' },
  };
}

const ctx = (options: Partial<FilterOptions> = {}, missingDaemonSet = false) => ({
  options: { ...defaults, ...options },
  now: NOW,
  daemonSetError: (_ns: string, name: string) =>
    missingDaemonSet ? { message: `daemonsets.apps "${name}" not found`, notFound: true } : undefined,
});

const cases: {
  what: string;
  pod: DrainPod;
  options?: Partial<FilterOptions>;
  missingDaemonSet?: boolean;
  expect: { delete: boolean; reason: string; message?: string };
}[] = [
  { what: 'ReplicaSet pod', pod: pod('a', { owner: 'ReplicaSet' }), expect: { delete: true, reason: 'okay' } },
  { what: 'mirror pod', pod: pod('m', { mirror: true, owner: 'Node' }), expect: { delete: false, reason: 'skip' } },
  {
    what: 'DaemonSet pod without ignoreDaemonSets',
    pod: pod('d', { owner: 'DaemonSet' }),
    expect: { delete: false, reason: 'error', message: DAEMONSET_FATAL },
  },
  {
    what: 'DaemonSet pod with ignoreDaemonSets',
    pod: pod('d', { owner: 'DaemonSet' }),
    options: { ignoreDaemonSets: true },
    expect: { delete: false, reason: 'warning', message: DAEMONSET_WARNING },
  },
  {
    what: 'finished DaemonSet pod',
    pod: pod('d', { owner: 'DaemonSet', phase: 'Succeeded' }),
    expect: { delete: true, reason: 'okay' },
  },
  {
    what: 'orphaned DaemonSet pod without force',
    pod: pod('d', { owner: 'DaemonSet' }),
    missingDaemonSet: true,
    expect: { delete: false, reason: 'error', message: 'daemonsets.apps "d-owner" not found' },
  },
  // Deleted; its warning is replaced by the later filters' verdict, as in kubectl.
  {
    what: 'orphaned DaemonSet pod with force',
    pod: pod('d', { owner: 'DaemonSet' }),
    options: { force: true },
    missingDaemonSet: true,
    expect: { delete: true, reason: 'okay' },
  },
  {
    what: 'emptyDir without deleteEmptyDirData',
    pod: pod('e', { owner: 'ReplicaSet', emptyDir: true }),
    expect: { delete: false, reason: 'error', message: LOCAL_STORAGE_FATAL },
  },
  // kubectl's quirk: the controller filter that follows replaces the emptyDir warning.
  {
    what: 'emptyDir with deleteEmptyDirData (managed: warning dropped, as kubectl)',
    pod: pod('e', { owner: 'ReplicaSet', emptyDir: true }),
    options: { deleteEmptyDirData: true },
    expect: { delete: true, reason: 'okay' },
  },
  {
    what: 'unmanaged emptyDir with deleteEmptyDirData and force',
    pod: pod('e', { emptyDir: true }),
    options: { deleteEmptyDirData: true, force: true },
    expect: { delete: true, reason: 'warning', message: UNMANAGED_WARNING },
  },
  {
    what: 'finished emptyDir pod',
    pod: pod('e', { owner: 'ReplicaSet', emptyDir: true, phase: 'Failed' }),
    expect: { delete: true, reason: 'okay' },
  },
  {
    what: 'unmanaged pod without force',
    pod: pod('u'),
    expect: { delete: false, reason: 'error', message: UNMANAGED_FATAL },
  },
  {
    what: 'unmanaged pod with force',
    pod: pod('u'),
    options: { force: true },
    expect: { delete: true, reason: 'warning', message: UNMANAGED_WARNING },
  },
  {
    what: 'finished unmanaged pod (kubectl deletes it)',
    pod: pod('u', { phase: 'Succeeded' }),
    expect: { delete: true, reason: 'okay' },
  },
  {
    what: 'pod deleted long ago, skipWaitForDeleteTimeoutSeconds 10',
    pod: pod('x', { owner: 'ReplicaSet', deletedSecondsAgo: 60 }),
    options: { skipWaitForDeleteTimeoutSeconds: 10 },
    expect: { delete: false, reason: 'skip' },
  },
  {
    what: 'pod deleted recently, skipWaitForDeleteTimeoutSeconds 120',
    pod: pod('x', { owner: 'ReplicaSet', deletedSecondsAgo: 60 }),
    options: { skipWaitForDeleteTimeoutSeconds: 120 },
    expect: { delete: true, reason: 'okay' },
  },
  {
    what: 'pod deleted long ago, skipWaitForDeleteTimeoutSeconds 0',
    pod: pod('x', { owner: 'ReplicaSet', deletedSecondsAgo: 60 }),
    expect: { delete: true, reason: 'okay' },
  },
];

for (const c of cases) {
  test(`filter: ${c.what}`, () => {
    const status = filterPod(c.pod, ctx(c.options, c.missingDaemonSet));
    assert.equal(status.delete, c.expect.delete);
    assert.equal(status.reason, c.expect.reason);
    if (c.expect.message) assert.equal((status as { message?: string }).message, c.expect.message);
  });
}

test('plan: kubectl\'s grouped warnings and "cannot delete" errors; kept pods with reasons; unselected pods', () => {
  const pods = [
    pod('web', { owner: 'ReplicaSet' }),
    pod('ds1', { owner: 'DaemonSet' }),
    pod('ds2', { owner: 'DaemonSet' }),
    pod('mirror', { mirror: true }),
    pod('local', { owner: 'ReplicaSet', emptyDir: true }),
    pod('bare'),
    pod('bare2'),
  ];
  const refused = planPods('n1', false, pods, ctx({ ignoreDaemonSets: true }), [pod('other', { owner: 'ReplicaSet' })]);
  assert.deepEqual(
    refused.evict.map((p) => p.name),
    ['web'],
  );
  assert.deepEqual(refused.warnings, [`${DAEMONSET_WARNING}: ns/ds1, ns/ds2`]);
  assert.deepEqual(refused.errors, [
    `cannot delete ${LOCAL_STORAGE_FATAL}: ns/local`,
    `cannot delete ${UNMANAGED_FATAL}: ns/bare, ns/bare2`,
  ]);
  assert.deepEqual(
    refused.kept.map((k) => [k.name, k.reason]),
    [
      ['ds1', 'DaemonSet pod'],
      ['ds2', 'DaemonSet pod'],
      ['mirror', 'mirror pod'],
      ['local', 'cannot delete (see errors)'],
      ['bare', 'cannot delete (see errors)'],
      ['bare2', 'cannot delete (see errors)'],
      ['other', 'not matching podSelector'],
    ],
  );
  const forced = planPods('n1', true, pods, ctx({ ignoreDaemonSets: true, deleteEmptyDirData: true, force: true }));
  assert.deepEqual(forced.errors, []);
  assert.deepEqual(
    forced.evict.map((p) => p.name),
    ['web', 'local', 'bare', 'bare2'],
  );
  assert.deepEqual(forced.warnings, [
    `${DAEMONSET_WARNING}: ns/ds1, ns/ds2`,
    `${UNMANAGED_WARNING}: ns/bare, ns/bare2`,
  ]);
  assert.equal(forced.unschedulable, true);
  const noIgnore = planPods('n1', false, [pod('ds1', { owner: 'DaemonSet' })], ctx());
  assert.deepEqual(noIgnore.errors, [`cannot delete ${DAEMONSET_FATAL}: ns/ds1`]);
  void LOCAL_STORAGE_WARNING;
});

test('a PDB selects a pod by matchLabels and matchExpressions (the PDB named for a blocked eviction)', async () => {
  const { selects } = await import('../../activities/drain/index.ts');
  const pdb = (selector: object) => ({ spec: { selector } });
  assert.equal(selects(pdb({ matchLabels: { app: 'web' } }), { app: 'web', x: '1' }), true);
  assert.equal(selects(pdb({ matchLabels: { app: 'web' } }), { app: 'db' }), false);
  assert.equal(
    selects(pdb({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] }), { tier: 'b' }),
    true,
  );
  assert.equal(
    selects(pdb({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['a'] }] }), { tier: 'a' }),
    false,
  );
  assert.equal(selects(pdb({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }), {}), false);
  assert.equal(selects(pdb({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }), {}), true);
  assert.equal(selects(pdb({}), { app: 'web' }), true, 'an empty selector selects every pod of the namespace');
  assert.equal(selects({ spec: {} }, { app: 'web' }), false);
});
