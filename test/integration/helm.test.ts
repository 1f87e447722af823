// The Helm activities against a real local cluster and the pinned helm 4 binary: install, idempotent
// re-runs, upgrades, --wait timeouts, rollbacks, stuck releases and their recovery, cancellation.
// Each test has its own namespace. The chart's CRD is the cluster's: applied as deployPlatform applies it
// (the runbook's field manager), and helm installs with --skip-crds, as deployPlatform does.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { execa, type ResultPromise } from 'execa';
import { pino } from 'pino';
import {
  DIGEST_LABEL,
  DIGEST_REVISION_LABEL,
  helmActivities,
  type HelmDeps,
  type HelmReleaseStatus,
} from '../../activities/helm/index.ts';
import { clusterArgs, helmEnv } from '../../activities/helm/run.ts';
import { toolPath } from '../../scripts/stack/tools.ts';
import { HELM_INVALID, HELM_RELEASE_LOCKED, HELM_TIMEOUT, KUBE_UNAVAILABLE } from '../../contract/failures.ts';
import { uniqueNamespace, useTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { ORCHESTRATOR_CHART_OBJECTS } from '../helpers/chart-objects.ts';
import { installTaskRunCrd, taskRunCrdExists } from '../helpers/taskrun.ts';

const chart = fileURLToPath(new URL('../../charts/orchestrator', import.meta.url));
const release = 'orchestrator';
// Never skipped: a missing helm fails here, naming the install command.
const helmBin = toolPath('helm');
const helmHome = mkdtempSync(join(tmpdir(), 'runbooks-helm-test-'));
after(() => rmSync(helmHome, { recursive: true, force: true }));
const testCluster = useTestCluster();

interface Setup {
  cluster: TestCluster;
  deps: HelmDeps;
  helm: ReturnType<typeof helmActivities>;
  namespace: string;
  ref: { release: string; namespace: string };
}

/** A namespace of the test's own (deleted after the file) and activities bound to the test cluster. */
async function setup(prefix: string, extra: Partial<HelmDeps> = {}): Promise<Setup> {
  const cluster = await testCluster();
  if (!(await taskRunCrdExists(cluster))) await installTaskRunCrd(cluster, 'platform-runbooks');
  const namespace = uniqueNamespace(prefix);
  cluster.defer(() => cluster.kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']));
  const deps: HelmDeps = {
    helmBin,
    kubeconfigPath: cluster.kubeconfigPath,
    logger: pino({ level: process.env.LOG_LEVEL ?? 'warn' }),
    helmHome,
    ...extra,
  };
  return { cluster, deps, helm: helmActivities(deps), namespace, ref: { release, namespace } };
}

/** The tests kill helm themselves: no helm can still be running, so no pending age is needed. */
const HELM_KILLED = { minPendingAgeSeconds: 0 };

const upgradeArgs = (s: Setup, tag: string, more: { wait?: boolean; timeoutSeconds?: number } = {}) => ({
  ...s.ref,
  chart,
  values: { image: { tag } },
  wait: more.wait ?? true,
  timeoutSeconds: more.timeoutSeconds ?? 60,
  createNamespace: true,
  // As deployPlatform installs (activities/deploy.ts): the runbook applies the cluster's CRD itself, as its
  // one field manager; helm's own first-install apply of crds/ conflicts with that owner's fields.
  skipCrds: true,
});

async function timed<T>(t: TestContext, what: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await fn();
  t.diagnostic(`${what}: ${Math.round(performance.now() - started)} ms`);
  return result;
}

const failureOf = (type: string, pattern?: RegExp) => (err: unknown) => {
  assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
  assert.equal(err.type, type, err.message);
  if (pattern) assert.match(err.message, pattern);
  return true;
};

/** The deployment rolled out completely (every replica updated and ready) with this image tag. */
async function assertRolledOut(s: Setup, tag: string): Promise<void> {
  await s.cluster.kubectl(['rollout', 'status', `deployment/${release}`, '-n', s.namespace, '--timeout=60s']);
  const image = await s.cluster.kubectl([
    'get',
    `deployment/${release}`,
    '-n',
    s.namespace,
    '-o',
    'jsonpath={.spec.template.spec.containers[0].image}',
  ]);
  assert.equal(image, `ghcr.io/example/orchestrator:${tag}`);
}

/** Starts helm by hand (as the worker would), so that the test can SIGKILL it mid-operation. */
function startHelm(s: Setup, args: string[]): ResultPromise {
  return execa(helmBin, [...args, ...clusterArgs(s.deps)], { env: helmEnv(s.deps), extendEnv: false, reject: false });
}

async function waitForStatus(
  s: Setup,
  wanted: HelmReleaseStatus,
  timeoutMs = 30_000,
  stillRunning = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  while (Date.now() < deadline && stillRunning()) {
    last = (await s.helm.helmStatus(s.ref))?.status;
    if (last === wanted) return;
    await sleep(100);
  }
  throw new Error(`release ${s.namespace}/${release} did not become ${wanted} (last: ${last})`);
}

/** Runs helm by hand and SIGKILLs it once the release shows `pending`: a worker that died mid-operation. */
async function killMidOperation(s: Setup, args: string[], pending: HelmReleaseStatus): Promise<void> {
  const proc = startHelm(s, args);
  let exited = false;
  void proc.finally(() => (exited = true));
  try {
    await waitForStatus(s, pending, 30_000, () => !exited);
  } catch (error) {
    // helm ended before the release was pending: its own words say why.
    const result = exited ? await proc : undefined;
    throw result ? new Error(`helm exited (${result.exitCode}) first: ${String(result.stderr)}`) : error;
  } finally {
    proc.kill('SIGKILL');
    await proc;
  }
}

test('install, idempotent re-run, upgrade, dry run, history and values', async (t) => {
  const s = await setup('helm-basic');
  assert.equal(await s.helm.helmStatus(s.ref), null);
  assert.deepEqual(await s.helm.helmHistory(s.ref), []);

  const installed = await timed(t, 'install (wait)', () => s.helm.helmUpgradeInstall(upgradeArgs(s, '1.0.0')));
  assert.equal(installed.changed, true);
  assert.equal(installed.revision, 1);
  assert.equal(installed.status, 'deployed');
  assert.match(installed.digest, /^[0-9a-f]{56}$/);
  await s.cluster.kubectl(['get', 'crd', 'taskruns.orchestrator.io']);
  await assertRolledOut(s, '1.0.0');

  const status = await s.helm.helmStatus(s.ref);
  assert.deepEqual(
    { ...status, updated: undefined },
    {
      name: release,
      namespace: s.namespace,
      revision: 1,
      status: 'deployed',
      chart: 'orchestrator',
      chartVersion: '0.1.0',
      appVersion: '1.0.0',
      updated: undefined,
      digest: installed.digest,
      digestRevision: 1,
    },
  );
  assert.ok(!Number.isNaN(Date.parse(status!.updated)), status!.updated);
  // The digest lives in the release record's labels: it survives any worker.
  const labels = JSON.parse(
    await s.cluster.kubectl([
      'get',
      'secret',
      `sh.helm.release.v1.${release}.v1`,
      '-n',
      s.namespace,
      '-o',
      'jsonpath={.metadata.labels}',
    ]),
  ) as Record<string, string>;
  assert.equal(labels[DIGEST_LABEL], installed.digest);
  assert.equal(labels[DIGEST_REVISION_LABEL], '1');
  assert.equal(labels.status, 'deployed');

  // Same chart and values (keys in another order): helm is not run, no new revision.
  const again = await timed(t, 'no-op upgrade', () =>
    s.helm.helmUpgradeInstall({ ...upgradeArgs(s, '1.0.0'), values: { image: { tag: '1.0.0' } } }),
  );
  assert.deepEqual(again, { changed: false, revision: 1, status: 'deployed', digest: installed.digest });
  assert.equal((await s.helm.helmHistory(s.ref)).length, 1);

  // A dry run changes nothing and lists what would be applied.
  const plan = await s.helm.helmUpgradeInstall({ ...upgradeArgs(s, '1.0.1'), dryRun: true });
  assert.equal(plan.changed, true);
  assert.equal(plan.revision, 1);
  assert.equal(plan.dryRun, 'server');
  assert.deepEqual([...plan.objects!].sort(), ORCHESTRATOR_CHART_OBJECTS);
  assert.equal((await s.helm.helmUpgradeInstall({ ...upgradeArgs(s, '1.0.0'), dryRun: true })).changed, false);
  assert.equal((await s.helm.helmHistory(s.ref)).length, 1);

  const upgraded = await timed(t, 'upgrade (wait)', () => s.helm.helmUpgradeInstall(upgradeArgs(s, '1.0.1')));
  assert.equal(upgraded.changed, true);
  assert.equal(upgraded.revision, 2);
  assert.equal(upgraded.status, 'deployed');
  assert.notEqual(upgraded.digest, installed.digest);
  await assertRolledOut(s, '1.0.1');

  const history = await s.helm.helmHistory(s.ref);
  assert.deepEqual(
    history.map((h) => ({ ...h, updated: undefined })),
    [
      {
        revision: 1,
        status: 'superseded',
        chart: 'orchestrator-0.1.0',
        appVersion: '1.0.0',
        updated: undefined,
        description: 'Install complete',
      },
      {
        revision: 2,
        status: 'deployed',
        chart: 'orchestrator-0.1.0',
        appVersion: '1.0.0',
        updated: undefined,
        description: 'Upgrade complete',
      },
    ],
  );
  assert.deepEqual(await s.helm.helmGetValues(s.ref), { image: { tag: '1.0.1' } });
  assert.deepEqual(await s.helm.helmGetValues({ ...s.ref, revision: 1 }), { image: { tag: '1.0.0' } });
  await assert.rejects(s.helm.helmGetValues({ ...s.ref, revision: 9 }), failureOf(HELM_INVALID, /not found/));
});

test('a hand-made helm upgrade carries our labels along, and is not mistaken for our digest', async () => {
  const s = await setup('helm-manual');
  const ours = await s.helm.helmUpgradeInstall(upgradeArgs(s, '1.0.0', { wait: false }));
  // helm merges the previous revision's labels into an upgrade's: the digest label is copied to revision 2.
  const manual = await startHelm(s, ['upgrade', release, chart, '-n', s.namespace, '--set', 'image.tag=1.0.9']);
  assert.equal(manual.exitCode, 0, String(manual.stderr));
  const status = await s.helm.helmStatus(s.ref);
  assert.equal(status?.revision, 2);
  assert.equal(status?.digest, ours.digest);
  assert.equal(status?.digestRevision, 1);
  // ...but it was written for revision 1, so the same request upgrades back to tag 1.0.0.
  const back = await s.helm.helmUpgradeInstall(upgradeArgs(s, '1.0.0', { wait: false }));
  assert.equal(back.changed, true);
  assert.equal(back.revision, 3);
  assert.deepEqual(await s.helm.helmGetValues(s.ref), { image: { tag: '1.0.0' } });
  assert.equal((await s.helm.helmUpgradeInstall(upgradeArgs(s, '1.0.0', { wait: false }))).changed, false);
});

test('an upgrade that never gets ready times out (HelmTimeout); rollback restores it, idempotently', async (t) => {
  const s = await setup('helm-rollback');
  await s.helm.helmUpgradeInstall(upgradeArgs(s, '1.0.0'));
  const good = await s.helm.helmUpgradeInstall(upgradeArgs(s, '1.0.1'));
  assert.equal(good.revision, 2);

  await timed(t, 'upgrade to :broken with a 3 s wait', () =>
    assert.rejects(s.helm.helmUpgradeInstall(upgradeArgs(s, 'broken', { timeoutSeconds: 3 })), (err) => {
      failureOf(HELM_TIMEOUT, /not ready[\s\S]*context deadline exceeded/)(err);
      assert.equal((err as ApplicationFailure).nonRetryable, true);
      return true;
    }),
  );
  const failed = await s.helm.helmStatus(s.ref);
  assert.equal(failed?.status, 'failed');
  assert.equal(failed?.revision, 3);

  const rolledBack = await timed(t, 'rollback (wait)', () =>
    s.helm.helmRollback({ ...s.ref, revision: 2, wait: true, timeoutSeconds: 60 }),
  );
  assert.deepEqual(rolledBack, { changed: true, revision: 4, status: 'deployed' });
  await assertRolledOut(s, '1.0.1');
  // Retried (e.g. after a worker crash): nothing more happens.
  assert.deepEqual(await s.helm.helmRollback({ ...s.ref, revision: 2, wait: true, timeoutSeconds: 60 }), {
    changed: false,
    revision: 4,
    status: 'deployed',
  });
  // A rollback copies the labels of the revision it returns to, and its content: revision 2's values are deployed.
  const same = await s.helm.helmUpgradeInstall(upgradeArgs(s, '1.0.1'));
  assert.deepEqual(same, { changed: false, revision: 4, status: 'deployed', digest: good.digest });
  const history = await s.helm.helmHistory(s.ref);
  assert.deepEqual(
    history.map((h) => [h.revision, h.status, h.rollbackRevision]),
    [
      [1, 'superseded', undefined],
      [2, 'superseded', undefined],
      [3, 'failed', undefined],
      [4, 'deployed', 2],
    ],
  );
  await assert.rejects(
    s.helm.helmRollback({ ...s.ref, revision: 9, wait: false, timeoutSeconds: 30 }),
    failureOf(HELM_INVALID, /revision 9 is not in the release's history/),
  );
});

test('pending-upgrade (helm killed mid-upgrade): locked, recovered by rollback, then upgrades again', async (t) => {
  const s = await setup('helm-stuck');
  await s.helm.helmUpgradeInstall(upgradeArgs(s, '1.0.0'));
  await killMidOperation(
    s,
    ['upgrade', release, chart, '-n', s.namespace, '--set', 'image.tag=broken', '--wait=watcher', '--timeout', '5m'],
    'pending-upgrade',
  );
  assert.deepEqual(
    (await s.helm.helmHistory(s.ref)).map((h) => [h.revision, h.status]),
    [
      [1, 'deployed'],
      [2, 'pending-upgrade'],
    ],
  );

  await assert.rejects(
    s.helm.helmUpgradeInstall(upgradeArgs(s, '1.0.1')),
    failureOf(HELM_RELEASE_LOCKED, /pending-upgrade \(revision 2\)/),
  );
  // helm itself says so too (the error a race with another operation would give).
  const direct = await startHelm(s, ['upgrade', release, chart, '-n', s.namespace, '--set', 'image.tag=1.0.1']);
  assert.match(String(direct.stderr), /another operation \(install\/upgrade\/rollback\) is in progress/);
  // Too young to be sure that no helm still runs it: refused (retryable).
  await assert.rejects(
    s.helm.recoverStuckRelease({ ...s.ref, minPendingAgeSeconds: 3600 }),
    failureOf(HELM_RELEASE_LOCKED, /younger than minPendingAgeSeconds/),
  );

  const recovery = await timed(t, 'recover pending-upgrade (rollback)', () =>
    s.helm.recoverStuckRelease({ ...s.ref, ...HELM_KILLED, wait: true, timeoutSeconds: 60 }),
  );
  assert.deepEqual(
    { ...recovery, detail: undefined },
    {
      recovered: true,
      previousStatus: 'pending-upgrade',
      action: 'rollback',
      revision: 3,
      rolledBackTo: 1,
      detail: undefined,
    },
  );
  assert.equal((await s.helm.helmStatus(s.ref))?.status, 'deployed');
  await assertRolledOut(s, '1.0.0');
  // The interrupted record stays pending in history (helm never rewrites it); only the latest revision locks.
  assert.deepEqual(
    (await s.helm.helmHistory(s.ref)).map((h) => [h.revision, h.status]),
    [
      [1, 'superseded'],
      [2, 'pending-upgrade'],
      [3, 'deployed'],
    ],
  );
  assert.deepEqual(await s.helm.recoverStuckRelease({ ...s.ref, ...HELM_KILLED }), {
    recovered: false,
    previousStatus: 'deployed',
    action: 'none',
    detail: 'revision 3 is deployed: not stuck',
  });

  const next = await s.helm.helmUpgradeInstall(upgradeArgs(s, '1.0.1'));
  assert.equal(next.changed, true);
  assert.equal(next.revision, 4);
  await assertRolledOut(s, '1.0.1');
});

test('pending-rollback (helm killed mid-rollback) is rolled back to the last good revision', async () => {
  const s = await setup('helm-stuckrb');
  await s.helm.helmUpgradeInstall(upgradeArgs(s, '1.0.0'));
  await assert.rejects(
    s.helm.helmUpgradeInstall(upgradeArgs(s, 'broken', { timeoutSeconds: 2 })),
    failureOf(HELM_TIMEOUT),
  );
  await killMidOperation(
    s,
    ['rollback', release, '2', '-n', s.namespace, '--wait=watcher', '--timeout', '5m'],
    'pending-rollback',
  );
  await assert.rejects(
    s.helm.helmRollback({ ...s.ref, revision: 1, wait: false, timeoutSeconds: 30 }),
    failureOf(HELM_RELEASE_LOCKED),
  );

  const recovery = await s.helm.recoverStuckRelease({ ...s.ref, ...HELM_KILLED });
  assert.equal(recovery.action, 'rollback');
  assert.equal(recovery.previousStatus, 'pending-rollback');
  assert.equal(recovery.rolledBackTo, 1, 'not to the failed revision 2');
  assert.equal(recovery.revision, 4);
  await assertRolledOut(s, '1.0.0');
});

test('pending-install (helm killed during the first install) is uninstalled; installing again works', async (t) => {
  const s = await setup('helm-stuckin');
  await killMidOperation(
    s,
    [
      'upgrade',
      '--install',
      release,
      chart,
      '-n',
      s.namespace,
      '--create-namespace',
      // As deployPlatform installs: the CRD is the runbooks' (another file may have applied it).
      '--skip-crds',
      '--set',
      'image.tag=broken',
      '--wait=watcher',
      '--timeout',
      '5m',
    ],
    'pending-install',
  );
  await assert.rejects(s.helm.helmUpgradeInstall(upgradeArgs(s, '1.0.0')), failureOf(HELM_RELEASE_LOCKED));

  const recovery = await timed(t, 'recover pending-install (uninstall)', () =>
    s.helm.recoverStuckRelease({ ...s.ref, ...HELM_KILLED }),
  );
  assert.deepEqual(
    { ...recovery, detail: undefined },
    { recovered: true, previousStatus: 'pending-install', action: 'uninstall', detail: undefined },
  );
  assert.equal(await s.helm.helmStatus(s.ref), null);
  assert.equal((await s.cluster.kubectl(['get', 'deployments', '-n', s.namespace, '-o', 'name'])).trim(), '');

  const installed = await s.helm.helmUpgradeInstall(upgradeArgs(s, '1.0.0'));
  assert.equal(installed.revision, 1);
  await assertRolledOut(s, '1.0.0');
});

test('inside an activity: heartbeats while helm waits; cancellation stops helm and the release is failed, not stuck', async () => {
  const s = await setup('helm-cancel', { heartbeatIntervalMs: 200 });
  await s.helm.helmUpgradeInstall(upgradeArgs(s, '1.0.0'));
  const env = new MockActivityEnvironment();
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  const running = env.run(s.helm.helmUpgradeInstall, upgradeArgs(s, 'broken', { timeoutSeconds: 300 }));
  await waitForStatus(s, 'pending-upgrade');
  await sleep(600);
  env.cancel('CANCELLED');
  await assert.rejects(running, (err) => err instanceof CancelledFailure);
  assert.ok(heartbeats.length >= 3, `heartbeats: ${JSON.stringify(heartbeats)}`);
  assert.match(
    JSON.stringify(heartbeats.at(-1)),
    /"helm":"helm upgrade --install .*\/orchestrator","elapsedSeconds":\d+/,
  );
  // helm 4 catches SIGTERM during install/upgrade and marks the release failed: nothing to recover.
  await waitForStatus(s, 'failed', 15_000);
  assert.equal((await s.helm.recoverStuckRelease({ ...s.ref, ...HELM_KILLED })).action, 'none');
});

test('bad requests and an unreachable cluster are classified', async (t) => {
  const s = await setup('helm-errors');
  await assert.rejects(
    s.helm.helmUpgradeInstall({
      ...upgradeArgs(s, '1.0.0'),
      values: { image: { tag: '1.0.0', pullPolicy: 'Sometimes' } },
    }),
    failureOf(HELM_INVALID, /values don't meet the specifications of the schema/),
  );
  await assert.rejects(
    s.helm.helmUpgradeInstall({
      ...upgradeArgs(s, '1.0.0'),
      values: { extraEnv: [{ name: 'GITHUB_TOKEN', value: 'x' }] },
    }),
    failureOf(HELM_INVALID, /never set it from values/),
  );
  await assert.rejects(
    s.helm.helmUpgradeInstall({ ...upgradeArgs(s, '1.0.0'), chart: 'charts/nope' }),
    failureOf(HELM_INVALID, /not found/),
  );
  await assert.rejects(
    s.helm.helmStatus({ release: '--all', namespace: s.namespace }),
    failureOf(HELM_INVALID, /not a valid release name/),
  );
  assert.equal(await s.helm.helmStatus(s.ref), null, 'nothing was installed');
  await assert.rejects(
    s.helm.recoverStuckRelease({ ...s.ref } as never),
    failureOf(HELM_INVALID, /minPendingAgeSeconds: helm's timeout of the interrupted operation/),
  );

  const dir = mkdtempSync(join(tmpdir(), 'helm-dead-kubeconfig-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dead = join(dir, 'kubeconfig.yaml');
  writeFileSync(
    dead,
    readFileSync(s.cluster.kubeconfigPath, 'utf8').replace(
      /server: https:\/\/127\.0\.0\.1:\d+/,
      'server: https://127.0.0.1:1',
    ),
  );
  const unreachable = helmActivities({ ...s.deps, kubeconfigPath: dead });
  await assert.rejects(unreachable.helmStatus(s.ref), failureOf(KUBE_UNAVAILABLE, /connection refused/));
  const noContext = helmActivities({ ...s.deps, kubeContext: 'no-such-context' });
  await assert.rejects(
    noContext.helmStatus(s.ref),
    failureOf(HELM_INVALID, /context "no-such-context" does not exist/),
  );
});

test("baseValuesRevision: the input values are merged over a revision's values inside the activity", async () => {
  const s = await setup('helm-base');
  await s.helm.helmUpgradeInstall({
    ...upgradeArgs(s, '1.0.0', { wait: false }),
    values: { image: { tag: '1.0.0' }, replicaCount: 2 },
  });
  const result = await s.helm.helmUpgradeInstall({
    ...upgradeArgs(s, '1.1.0', { wait: false }),
    baseValuesRevision: 1,
  });
  assert.equal(result.revision, 2);
  assert.deepEqual(await s.helm.helmGetValues(s.ref), { image: { tag: '1.1.0' }, replicaCount: 2 });
  const again = await s.helm.helmUpgradeInstall({ ...upgradeArgs(s, '1.1.0', { wait: false }), baseValuesRevision: 1 });
  assert.equal(again.changed, false, 'the same merge is the same digest: no new revision');
});
