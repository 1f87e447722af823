// A restored Helm release's objects: decoding the release records, picking the deployed revision,
// reading its manifest, and preparing each object as Helm would write it into the target namespace.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ApplicationFailure } from '@temporalio/common';
import {
  adoptedManagedFields,
  decodeReleaseRecord,
  deployedRevisions,
  manifestObjects,
  prepareObject,
} from '../../activities/backup/helm-objects.ts';
import { BACKUP_INVALID } from '../../contract/failures.ts';

const MANIFEST = `---
# Source: orchestrator/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: orchestrator
  namespace: prod
spec:
  ports: [{ port: 80 }]
---
# Source: orchestrator/templates/empty.yaml
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: things.example.io
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: { name: a }
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata: { name: reader }
`;

/** A release record as Helm stores it: Secret data.release = base64(base64(gzip(JSON))). */
function record(name: string, version: number, status: string, manifest = MANIFEST) {
  const helmEncoded = gzipSync(
    Buffer.from(JSON.stringify({ name, version, namespace: 'prod', info: { status }, manifest })),
  ).toString('base64');
  return {
    metadata: { name: `sh.helm.release.v1.${name}.v${version}`, labels: { name, status, owner: 'helm' } },
    data: { release: Buffer.from(helmEncoded).toString('base64') },
  };
}

test('a release record decodes to its name, revision, status and manifest', () => {
  assert.deepEqual(decodeReleaseRecord(record('orchestrator', 3, 'deployed')), {
    name: 'orchestrator',
    revision: 3,
    status: 'deployed',
    namespace: 'prod',
    manifest: MANIFEST,
  });
  const bad = (r: RegExp) => (err: unknown) =>
    err instanceof ApplicationFailure && err.type === BACKUP_INVALID && r.test(err.message);
  assert.throws(
    () => decodeReleaseRecord({ metadata: { name: 'x' }, data: {} }),
    bad(/x: the release record has no data.release/),
  );
  assert.throws(
    () =>
      decodeReleaseRecord({
        metadata: { name: 'x' },
        data: { release: Buffer.from('not base64 of gzip').toString('base64') },
      }),
    bad(/x: the release record does not decode/),
  );
});

test('the deployed revision of each release is picked; superseded and failed ones are not', () => {
  const revs = deployedRevisions([
    record('orchestrator', 1, 'superseded'),
    record('orchestrator', 2, 'deployed'),
    record('orchestrator', 3, 'failed'),
    record('telemetry', 1, 'deployed'),
  ]);
  assert.deepEqual(
    revs.map((r) => [r.name, r.revision]),
    [
      ['orchestrator', 2],
      ['telemetry', 1],
    ],
  );
  assert.deepEqual(deployedRevisions([record('orchestrator', 1, 'uninstalling')]), []);
});

test('manifest objects: every document, Lists flattened, empty documents and CRDs left out', () => {
  assert.deepEqual(
    manifestObjects(MANIFEST).map((o) => `${o.kind}/${o.metadata?.name}`),
    ['Service/orchestrator', 'ConfigMap/a', 'ClusterRole/reader'],
  );
  assert.throws(
    () => manifestObjects('a: [1,\n'),
    (err: unknown) => err instanceof ApplicationFailure && err.type === BACKUP_INVALID,
  );
});

test('objects are prepared as Helm writes them: target namespace, ownership metadata, RoleBinding subjects remapped', () => {
  const svc = manifestObjects(MANIFEST)[0]!;
  const prepared = prepareObject(svc, {
    release: 'orchestrator',
    sourceNamespace: 'prod',
    targetNamespace: 'scratch',
    namespaced: true,
  });
  assert.deepEqual(prepared.metadata, {
    name: 'orchestrator',
    namespace: 'scratch',
    labels: { 'app.kubernetes.io/managed-by': 'Helm' },
    annotations: { 'meta.helm.sh/release-name': 'orchestrator', 'meta.helm.sh/release-namespace': 'scratch' },
  });
  assert.deepEqual(prepared.spec, svc.spec);
  assert.equal(svc.metadata?.namespace, 'prod', 'the input object is not changed');
  const role = prepareObject(
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r', namespace: 'prod' } },
    { release: 'o', sourceNamespace: 'prod', targetNamespace: 'scratch', namespaced: false },
  );
  assert.equal('namespace' in role.metadata!, false);
  const binding = prepareObject(
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'b' },
      subjects: [
        { kind: 'ServiceAccount', name: 'orchestrator', namespace: 'prod' },
        { kind: 'ServiceAccount', name: 'x', namespace: 'other' },
      ],
    },
    { release: 'o', sourceNamespace: 'prod', targetNamespace: 'scratch', namespaced: true },
  );
  assert.deepEqual(
    (binding.subjects as { namespace: string }[]).map((s) => s.namespace),
    ['scratch', 'other'],
  );
});

test('a release object restored by its kind step (platform-runbooks) is handed to Helm; anything Helm already owns is left alone', () => {
  const ours = {
    manager: 'platform-runbooks',
    operation: 'Update',
    apiVersion: 'v1',
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:data': {} },
  };
  const status = { manager: 'platform-runbooks', operation: 'Update', apiVersion: 'v1', subresource: 'status' };
  const other = { manager: 'kubectl-edit', operation: 'Update', apiVersion: 'v1' };
  assert.deepEqual(adoptedManagedFields([ours, status, other]), [
    { ...ours, manager: 'helm', operation: 'Apply' },
    status,
    other,
  ]);
  assert.equal(adoptedManagedFields([{ manager: 'helm', operation: 'Apply', apiVersion: 'v1' }, ours]), undefined);
  assert.equal(adoptedManagedFields([other]), undefined);
  assert.equal(adoptedManagedFields(undefined), undefined);
});
