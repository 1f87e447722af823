// What recoverStuckRelease does for each shape of release history (histories as helm 4.3.1 leaves them).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planRecovery } from '../../activities/helm/rollback.ts';
import type { HelmRevision } from '../../activities/helm/release.ts';

const rev = (revision: number, status: HelmRevision['status'], description: string): HelmRevision => ({
  revision,
  status,
  description,
  chart: 'orchestrator-0.1.0',
  appVersion: '1.0.0',
  updated: '2026-01-01T00:00:00Z',
});

test('nothing to do for a missing release or one whose latest revision is not pending', () => {
  assert.equal(planRecovery([]).action, 'none');
  assert.equal(planRecovery([rev(1, 'deployed', 'Install complete')]).action, 'none');
  assert.equal(
    planRecovery([
      rev(1, 'deployed', 'Install complete'),
      rev(2, 'failed', 'Upgrade "x" failed: context deadline exceeded'),
    ]).action,
    'none',
  );
});

test('pending-upgrade (helm killed during upgrade --wait) rolls back to the deployed revision', () => {
  const plan = planRecovery([
    rev(1, 'superseded', 'Install complete'),
    rev(2, 'deployed', 'Upgrade complete'),
    rev(3, 'pending-upgrade', 'Preparing upgrade'),
  ]);
  assert.equal(plan.action, 'rollback');
  assert.equal(plan.to?.revision, 2);
});

test('pending-rollback after a failed upgrade rolls back to the last good revision, not the failed one', () => {
  const plan = planRecovery([
    rev(1, 'deployed', 'Install complete'),
    rev(
      2,
      'failed',
      'Upgrade "orch" failed: resource Deployment/e5/orch-orchestrator not ready. status: InProgress, message: Pending termination: 1\ncontext deadline exceeded',
    ),
    rev(3, 'pending-rollback', 'Rollback to 2'),
  ]);
  assert.equal(plan.action, 'rollback');
  assert.equal(plan.to?.revision, 1);
});

test('a superseded revision that had failed is not good; old pending records are skipped', () => {
  const plan = planRecovery([
    rev(1, 'superseded', 'Release "orch" failed: context canceled'),
    rev(2, 'superseded', 'Upgrade complete'),
    rev(3, 'pending-upgrade', 'Preparing upgrade'),
    rev(4, 'superseded', 'Rollback to 2'),
    rev(5, 'failed', 'Release "orch" failed: context deadline exceeded'),
    rev(6, 'pending-upgrade', 'Preparing upgrade'),
  ]);
  assert.equal(plan.action, 'rollback');
  assert.equal(plan.to?.revision, 4);
});

test('pending-install with nothing ever deployed is uninstalled', () => {
  assert.equal(planRecovery([rev(1, 'pending-install', 'Initial install underway')]).action, 'uninstall');
});

test('pending-upgrade over a release that never deployed returns to the state before the interrupted upgrade', () => {
  const plan = planRecovery([
    rev(1, 'failed', 'Release "orch" failed: context canceled'),
    rev(2, 'pending-upgrade', 'Preparing upgrade'),
  ]);
  assert.equal(plan.action, 'rollback');
  assert.equal(plan.to?.revision, 1);
  assert.match(plan.reason, /no revision was ever deployed successfully/);
});

test('an interrupted uninstall is finished', () => {
  assert.equal(
    planRecovery([
      rev(1, 'deployed', 'Install complete'),
      rev(2, 'uninstalling', 'Deletion in progress (or silently failed)'),
    ]).action,
    'uninstall',
  );
});
