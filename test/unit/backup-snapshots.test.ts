// VolumeSnapshots of a backup: deterministic names and labels, the choice of the VolumeSnapshotClass,
// and the PVC a restore recreates from a snapshot record.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import {
  backupLabelValue,
  BACKUP_ID_LABEL,
  DEFAULT_CLASS_ANNOTATION,
  pvcFromSnapshot,
  selectSnapshotClass,
  snapshotBody,
  snapshotName,
} from '../../activities/backup/snapshots.ts';
import { INVALID_INPUT } from '../../contract/failures.ts';

const dns1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

test('snapshot names: deterministic, valid, at most 63 characters, unique per backup and PVC', () => {
  const a = snapshotName('backupPlatform-abc', 'workspace');
  assert.equal(a, snapshotName('backupPlatform-abc', 'workspace'));
  assert.match(a, /^backupplatform-abc-workspace-[0-9a-f]{8}$/);
  assert.notEqual(a, snapshotName('backupPlatform-abc', 'workspace-2'));
  // Ids that differ only in case or in characters a name cannot hold still get different names.
  assert.notEqual(snapshotName('Nightly-1', 'w'), snapshotName('nightly-1', 'w'));
  assert.notEqual(snapshotName('nightly.1', 'w'), snapshotName('nightly-1', 'w'));
  // The split between id and PVC counts: ("a-b", "c") and ("a", "b-c") read the same.
  assert.notEqual(snapshotName('a-b', 'c'), snapshotName('a', 'b-c'));
  for (const [id, pvc] of [
    ['x'.repeat(200), 'y'.repeat(63)],
    ['nightly-backup-2026-11-26T02.00.00Z', 'ws'],
    ['..', 'p'],
    ['-_-', 'p'],
  ] as const) {
    const name = snapshotName(id, pvc);
    assert.ok(name.length <= 63, name);
    assert.match(name, dns1123);
  }
});

test('backup label values: the id when it is a valid label value, else shortened with a hash', () => {
  assert.equal(backupLabelValue('nightly-backup-2026-11-26T02.00.00Z'), 'nightly-backup-2026-11-26T02.00.00Z');
  const long = 'b'.repeat(120);
  const v = backupLabelValue(long);
  assert.ok(v.length <= 63);
  assert.match(v, /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/);
  assert.notEqual(v, backupLabelValue(`${long}x`));
  assert.match(backupLabelValue('-x-'), /^x-[0-9a-f]{8}$/);
});

test('the VolumeSnapshot body names the PVC and class and carries the backup label and annotation', () => {
  const body = snapshotBody(
    { backupId: 'b1', namespace: 'orchestrator', volumeSnapshotClass: 'csi-snap' },
    'workspace',
  );
  assert.equal(body.apiVersion, 'snapshot.storage.k8s.io/v1');
  assert.equal(body.kind, 'VolumeSnapshot');
  assert.equal(body.metadata?.name, snapshotName('b1', 'workspace'));
  assert.equal(body.metadata?.labels?.[BACKUP_ID_LABEL], 'b1');
  assert.deepEqual(body.spec, {
    volumeSnapshotClassName: 'csi-snap',
    source: { persistentVolumeClaimName: 'workspace' },
  });
});

test('class selection: the named one; else the default; else the only one; else a reason', () => {
  const def = { [DEFAULT_CLASS_ANNOTATION]: 'true' };
  assert.deepEqual(selectSnapshotClass([{ name: 'a' }, { name: 'b', annotations: def }], 'a'), { name: 'a' });
  assert.deepEqual(selectSnapshotClass([{ name: 'a' }, { name: 'b', annotations: def }]), { name: 'b' });
  assert.deepEqual(selectSnapshotClass([{ name: 'only' }]), { name: 'only' });
  assert.deepEqual(
    selectSnapshotClass([
      { name: 'a', annotations: { [DEFAULT_CLASS_ANNOTATION]: 'false' } },
      { name: 'b' },
      { name: 'c', annotations: def },
    ]),
    { name: 'c' },
  );
  assert.deepEqual(selectSnapshotClass([]), { skippedReason: 'no VolumeSnapshotClass exists' });
  assert.match(
    (selectSnapshotClass([{ name: 'a' }, { name: 'b' }]) as { skippedReason: string }).skippedReason,
    /2 VolumeSnapshotClasses and none is the default \(a, b\): name one in volumeSnapshotClass/,
  );
  assert.match(
    (
      selectSnapshotClass([
        { name: 'a', annotations: def },
        { name: 'b', annotations: def },
      ]) as { skippedReason: string }
    ).skippedReason,
    /2 VolumeSnapshotClasses are marked as the default/,
  );
  assert.throws(
    () => selectSnapshotClass([{ name: 'a' }], 'missing'),
    (err: unknown) =>
      err instanceof ApplicationFailure &&
      err.type === INVALID_INPUT &&
      err.nonRetryable &&
      /volumeSnapshotClass: VolumeSnapshotClass missing does not exist \(classes: a\)/.test(err.message),
  );
});

test('a PVC recreated from its snapshot record keeps size, class, access and volume mode, with the snapshot as dataSource', () => {
  const record = {
    name: 'b1-ws-12345678',
    namespace: 'orchestrator',
    pvc: 'ws',
    size: '2Gi',
    storageClass: 'fast',
    accessModes: ['ReadWriteOnce'],
    volumeMode: 'Filesystem',
    volumeSnapshotClass: 'c',
    readyToUse: true,
  };
  assert.deepEqual(pvcFromSnapshot(record, 'orchestrator'), {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'ws', namespace: 'orchestrator' },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '2Gi' } },
      storageClassName: 'fast',
      volumeMode: 'Filesystem',
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'b1-ws-12345678' },
    },
  });
  // No storage class recorded: the PVC gets the cluster default (the field is left out, not set to "").
  assert.equal('storageClassName' in pvcFromSnapshot({ ...record, storageClass: null }, 'x').spec, false);
});
