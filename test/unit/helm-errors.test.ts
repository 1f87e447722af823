// The helm error classifier against real helm 4.3.1 stderr (captured from the local cluster).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { classifyHelmError, helmErrorMessage, toHelmFailure } from '../../activities/helm/errors.ts';
import * as failures from '../../contract/failures.ts';

const cases: [string, string, string, boolean][] = [
  // [what happened, helm's stderr, type, retryable]
  [
    'release locked by an interrupted upgrade',
    'Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress',
    failures.HELM_RELEASE_LOCKED,
    true,
  ],

  [
    'API server down',
    'Error: kubernetes cluster unreachable: Get "https://127.0.0.1:1/version": dial tcp 127.0.0.1:1: connect: connection refused',
    failures.KUBE_UNAVAILABLE,
    true,
  ],
  // The API server died during `upgrade --wait`: helm could not even mark the release failed (it stays pending-upgrade).
  [
    'API server gone mid-upgrade',
    'level=WARN msg="failed to update release" name=orch revision=4 error="update: failed to update: Put \\"https://127.0.0.1:34875/api/v1/namespaces/e3/secrets/sh.helm.release.v1.orch.v4\\": dial tcp 127.0.0.1:34875: connect: connection refused"\nlevel=WARN msg="upgrade failed" name=orch error="resource Deployment/e3/orch-orchestrator not ready. status: InProgress, message: Pending termination: 1\\ncontext deadline exceeded"\nError: UPGRADE FAILED: resource Deployment/e3/orch-orchestrator not ready. status: InProgress, message: Pending termination: 1\ncontext deadline exceeded',
    failures.KUBE_UNAVAILABLE,
    true,
  ],
  [
    'unknown context',
    'Error: kubernetes cluster unreachable: context "nope" does not exist',
    failures.HELM_INVALID,
    false,
  ],
  [
    'missing kubeconfig',
    'Error: kubernetes cluster unreachable: stat /nonexistent/kc: no such file or directory',
    failures.HELM_INVALID,
    false,
  ],
  [
    'RBAC',
    'Error: query: failed to query with labels: secrets is forbidden: User "nobody" cannot list resource "secrets" in API group "" in the namespace "e1"',
    failures.KUBE_FORBIDDEN,
    false,
  ],

  [
    'chart path missing',
    'Release "x" does not exist. Installing it now.\nError: path "/nonexistent/chart" not found',
    failures.HELM_INVALID,
    false,
  ],
  [
    'directory without Chart.yaml',
    'Error: unable to detect chart at /tmp/helmexp/nochart/Chart.yaml: open /tmp/helmexp/nochart/Chart.yaml: no such file or directory',
    failures.HELM_INVALID,
    false,
  ],
  [
    'chart not in repository',
    'Release "r1" does not exist. Installing it now.\nError: chart "nochart" not found in http://127.0.0.1:8765 repository',
    failures.HELM_INVALID,
    false,
  ],
  [
    'chart version not in repository',
    'Error: chart "orchestrator" version "9.9.9" not found in http://127.0.0.1:8765 repository',
    failures.HELM_INVALID,
    false,
  ],
  ['repository alias unknown', 'Error: repo repo not found', failures.HELM_INVALID, false],
  [
    'values schema',
    "Release \"x\" does not exist. Installing it now.\nError: values don't meet the specifications of the schema(s) in the following chart(s):\norchestrator:\n- at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'\n",
    failures.HELM_INVALID,
    false,
  ],
  [
    'template fail()',
    'Error: execution error at (orchestrator/templates/deployment.yaml:7:4): extraEnv.GITHUB_TOKEN: this variable comes from Secret orchestrator-secrets (secrets.env); never set it from values',
    failures.HELM_INVALID,
    false,
  ],
  [
    'template parse error',
    'Error: parse error at (orchestrator/templates/bad.yaml:1): function "nope" not defined',
    failures.HELM_INVALID,
    false,
  ],
  [
    'rendered YAML broken',
    "Error: YAML parse error on orchestrator/templates/bad.yaml: error converting YAML to JSON: yaml: line 4: did not find expected ',' or ']'",
    failures.HELM_INVALID,
    false,
  ],
  [
    'kubeVersion',
    'Error: chart requires kubeVersion: >=2.0.0-0 which is incompatible with Kubernetes v1.37.2',
    failures.HELM_INVALID,
    false,
  ],
  [
    'object rejected (422)',
    'Error: server-side apply failed for object e9/Bad_Name /v1, Kind=ConfigMap: ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters',
    failures.HELM_INVALID,
    false,
  ],
  [
    'namespace missing',
    'Release "x" does not exist. Installing it now.\nError: create: failed to create: namespaces "nonexistent-ns" not found',
    failures.HELM_INVALID,
    false,
  ],
  [
    'object of another release',
    'Error: unable to continue with install: ConfigMap "taskrun-controller-config" in namespace "e1" exists and cannot be imported into the current release: invalid ownership metadata; annotation validation error: key "meta.helm.sh/release-name" must equal "r1": current value is "orch"',
    failures.HELM_INVALID,
    false,
  ],
  [
    'field owned by another manager',
    'level=WARN msg="upgrade failed" name=orch error="conflict occurred while applying object e1/orch-orchestrator apps/v1, Kind=Deployment: Apply failed with 1 conflict: conflict with \\"other\\": .spec.replicas"\nError: UPGRADE FAILED: conflict occurred while applying object e1/orch-orchestrator apps/v1, Kind=Deployment: Apply failed with 1 conflict: conflict with "other": .spec.replicas',
    failures.HELM_INVALID,
    false,
  ],
  ['rollback to a revision that does not exist', 'Error: release has no 99 version', failures.HELM_INVALID, false],
  ['release missing', 'Error: release: not found', failures.HELM_INVALID, false],

  [
    'upgrade --wait timed out',
    'level=WARN msg="upgrade failed" name=orch error="resource Deployment/e5/orch-orchestrator not ready. status: InProgress, message: Pending termination: 1\\ncontext deadline exceeded"\nError: UPGRADE FAILED: resource Deployment/e5/orch-orchestrator not ready. status: InProgress, message: Pending termination: 1\ncontext deadline exceeded',
    failures.HELM_TIMEOUT,
    false,
  ],
  [
    'rollback --wait timed out',
    'Error: release orchestrator failed: resource Deployment/s1/orchestrator not ready. status: InProgress, message: Pending termination: 1\ncontext deadline exceeded',
    failures.HELM_TIMEOUT,
    false,
  ],

  [
    'chart repository down',
    'Error: looks like "http://127.0.0.1:1" is not a valid chart repository or cannot be reached: Get "http://127.0.0.1:1/index.yaml": dial tcp 127.0.0.1:1: connect: connection refused',
    failures.HELM_FAILED,
    true,
  ],
  [
    'OCI registry down',
    'Error: failed to perform "FetchReference" on source: Get "https://127.0.0.1:1/v2/charts/foo/manifests/1.0.0": dial tcp 127.0.0.1:1: connect: connection refused',
    failures.HELM_FAILED,
    true,
  ],
  [
    'upgrade cancelled (SIGTERM)',
    'level=WARN msg="upgrade failed" name=orch error="context canceled"\nError: UPGRADE FAILED: context canceled',
    failures.HELM_FAILED,
    true,
  ],
  ['something new', 'Error: something nobody has seen before', failures.HELM_FAILED, true],
];

test('real helm messages map to failure types and retryability', () => {
  for (const [what, stderr, type, retryable] of cases) {
    assert.deepEqual(classifyHelmError(stderr), { type, retryable }, what);
  }
});

test("the message is helm's Error: line on, without the WARN lines that repeat it", () => {
  const stderr = cases.find(([what]) => what === 'upgrade --wait timed out')![1];
  assert.equal(
    helmErrorMessage(stderr),
    'UPGRADE FAILED: resource Deployment/e5/orch-orchestrator not ready. status: InProgress, message: Pending termination: 1\ncontext deadline exceeded',
  );
  assert.equal(helmErrorMessage('no error line\nlast words'), 'no error line\nlast words');
  assert.equal(helmErrorMessage(''), 'no output');
});

test('toHelmFailure builds a typed ApplicationFailure naming the operation, stderr in details', () => {
  const failure = toHelmFailure(
    'Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress',
    'helm upgrade --install ns/orch',
  );
  assert.ok(failure instanceof ApplicationFailure);
  assert.equal(failure.type, failures.HELM_RELEASE_LOCKED);
  assert.equal(failure.nonRetryable, false);
  assert.equal(
    failure.message,
    'helm upgrade --install ns/orch: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress',
  );
  assert.match(String((failure.details?.[0] as { stderr: string }).stderr), /another operation/);

  const invalid = toHelmFailure('Error: path "/x" not found', 'helm upgrade --install ns/orch');
  assert.equal(invalid.type, failures.HELM_INVALID);
  assert.equal(invalid.nonRetryable, true);
});
