// securityAudit on the real local cluster, in namespaces of its own: the platform chart installed
// with helm (release `orchestrator`: its ServiceAccount, Role and RoleBinding) audits clean of RBAC
// findings; the same RBAC applied without a release is judged against the rendered chart. Then a
// ClusterRoleBinding to cluster-admin, one to a Secrets-reading ClusterRole, an edited chart Role,
// a privileged pod, `:latest` and untagged images and a Warning event about a Secret are all found
// and ranked; the bindings removed, the RBAC findings go. The access review agrees with
// `kubectl auth can-i --as`. The monthly Schedule: created, updated, its spec monthly, and a
// triggered run produces a report.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import pino from 'pino';
import { createActivities } from '../../activities/index.ts';
import { clusterArgs, helmEnv } from '../../activities/helm/run.ts';
import type { HelmDeps } from '../../activities/helm/deps.ts';
import { ensureSecurityAuditSchedule } from '../../client/schedules.ts';
import type { SecurityAuditInput, SecurityAuditReport } from '../../contract/types/security-audit.ts';
import { testActivityDeps, useTestCluster, uniqueNamespace, type TestCluster } from '../helpers/cluster.ts';
import { eventually } from '../helpers/eventually.ts';
import { toolPath } from '../../scripts/stack/tools.ts';
import { runTestWorker, useTestTemporal, uniqueTaskQueue } from '../helpers/temporal.ts';
import { applyObjects } from '../helpers/apply-objects.ts';

const testTemporal = useTestTemporal();
const testCluster = useTestCluster();
const namespace = uniqueNamespace('audit');
const bare = `${namespace}-bare`;
const sa = 'orchestrator';
const crbAdmin = `${namespace}-admin`;
const crbSecrets = `${namespace}-secrets`;
const helmHome = mkdtempSync(join(tmpdir(), 'runbooks-audit-helm-'));
after(() => rmSync(helmHome, { recursive: true, force: true }));
let cluster: TestCluster;
let taskQueue: string;
let helmDeps: HelmDeps;

const helm = async (args: string[]) => {
  const r = await execa(toolPath('helm'), [...args, ...clusterArgs(helmDeps)], {
    env: helmEnv(helmDeps),
    extendEnv: false,
    reject: false,
  });
  assert.equal(r.exitCode, 0, `helm ${args.join(' ')}:\n${r.stderr}`);
  return r.stdout;
};

async function audit(input: SecurityAuditInput): Promise<SecurityAuditReport> {
  const { client } = await testTemporal();
  return (await client.workflow.execute('securityAudit', {
    taskQueue,
    workflowId: uniqueTaskQueue('security-audit'),
    args: [{ extraNamespaces: [], ...input }],
  })) as SecurityAuditReport;
}
const checks = (r: SecurityAuditReport, prefix: string) => r.findings.filter((f) => f.check.startsWith(prefix));

before(async () => {
  cluster = await testCluster();
  helmDeps = {
    helmBin: toolPath('helm'),
    kubeconfigPath: cluster.kubeconfigPath,
    logger: pino({ level: 'warn' }),
    helmHome,
  };
  taskQueue = await runTestWorker(await testTemporal(), createActivities(testActivityDeps(cluster)), 'audit-it');
  for (const ns of [namespace, bare]) {
    await cluster.kubectl(['create', 'namespace', ns]);
    cluster.defer(() => cluster.kubectl(['delete', 'namespace', ns, '--wait=false']));
  }
  cluster.defer(() => cluster.kubectl(['delete', 'clusterrolebinding', crbAdmin, crbSecrets, '--ignore-not-found']));
  cluster.defer(() => cluster.kubectl(['delete', 'clusterrole', crbSecrets, '--ignore-not-found']));
  // The chart as a release (no CRDs: the cluster's are shared), and its RBAC alone in the other namespace.
  await helm(['upgrade', '--install', 'orchestrator', 'charts/orchestrator', '-n', namespace, '--skip-crds']);
  const rendered = await helm([
    'template',
    'orchestrator',
    'charts/orchestrator',
    '-n',
    bare,
    '--skip-crds',
    '--show-only',
    'templates/serviceaccount.yaml',
    '--show-only',
    'templates/rbac.yaml',
  ]);
  await cluster.kubectl(['apply', '-n', bare, '-f', '-'], rendered);
});

test("the chart as installed: the RBAC is the chart's (release, and rendered chart without a release); the access review agrees with kubectl auth can-i", async () => {
  const r = await audit({ namespace });
  assert.equal(r.complete, true, JSON.stringify(r.errors));
  assert.equal(r.rbac?.chartSource, 'release');
  assert.deepEqual(
    r.rbac?.bindings.filter((b) => !b.builtIn).map((b) => [b.kind, b.namespace, b.name, b.fromChart]),
    [['RoleBinding', namespace, 'orchestrator', true]],
  );
  assert.deepEqual(checks(r, 'rbac.'), [], JSON.stringify(checks(r, 'rbac.'), null, 1));
  // The chart's pods run as 65532, non-root: no pod findings; its image is tagged, not pinned.
  assert.deepEqual(checks(r, 'pod.'), []);
  assert.ok(
    checks(r, 'image.unpinned').some((f) => f.what.includes('ghcr.io/example/orchestrator:1.0.0')),
    JSON.stringify(r.findings, null, 1),
  );
  // What it may do: exactly what the chart grants, and what kubectl says.
  const access = r.rbac!.access;
  assert.ok(access.length > 10);
  for (const a of access) assert.equal(a.allowed, a.chartGrants, `${a.verb} ${a.resource} in ${a.namespace}`);
  assert.ok(
    access.some((a) => a.verb === 'get' && a.resource === 'secrets' && a.namespace === namespace && !a.allowed),
    "the chart's orchestrator never reads Secrets",
  );
  // kubectl resolves resources by discovery: not the TaskRun CRD, which this cluster may lack.
  for (const a of access.filter((x) => !x.resource.includes('*') && !x.resource.includes('orchestrator.io'))) {
    const out = await execa(
      toolPath('kubectl'),
      [
        '--kubeconfig',
        cluster.kubeconfigPath,
        'auth',
        'can-i',
        a.verb,
        a.resource,
        `--as=system:serviceaccount:${namespace}:${sa}`,
        ...(a.namespace === '*' ? ['--all-namespaces'] : ['-n', a.namespace]),
      ],
      { reject: false },
    );
    assert.equal(
      out.stdout.trim() === 'yes',
      a.allowed,
      `kubectl auth can-i ${a.verb} ${a.resource} (${a.namespace}): ${out.stdout}${out.stderr}`,
    );
  }

  const rendered = await audit({ namespace: bare });
  assert.equal(rendered.rbac?.chartSource, 'chart');
  assert.match(rendered.rbac?.chartSourceDetail ?? '', /no release .*charts\/orchestrator rendered/);
  assert.equal(rendered.rbac?.bindings.find((b) => b.name === 'orchestrator')?.fromChart, true);
  assert.deepEqual(checks(rendered, 'rbac.'), []);
});

test('a ClusterRoleBinding to cluster-admin, Secrets read cluster-wide, an edited Role, a privileged pod, latest images and a Secret event are found and ranked; removed, the RBAC findings go', async () => {
  const subject = { kind: 'ServiceAccount', name: sa, namespace };
  await applyObjects(
    cluster,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: crbAdmin },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [subject],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: crbSecrets },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: crbSecrets },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: crbSecrets },
      subjects: [subject],
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'priv', namespace },
      spec: {
        containers: [{ name: 'shell', image: 'busybox:latest', securityContext: { privileged: true, runAsUser: 0 } }],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'untagged', namespace },
      spec: {
        securityContext: { runAsNonRoot: true, runAsUser: 1000 },
        containers: [{ name: 'web', image: 'nginx' }],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'secret-mount', namespace },
      type: 'Warning',
      reason: 'FailedMount',
      count: 3,
      message: 'MountVolume.SetUp failed for volume "creds" : secret "orchestrator-secrets" not found',
      lastTimestamp: new Date().toISOString(),
      firstTimestamp: new Date().toISOString(),
      involvedObject: { kind: 'Pod', name: 'untagged', namespace },
      source: { component: 'kubelet' },
    },
  );
  await cluster.kubectl([
    'patch',
    'role',
    'orchestrator',
    '-n',
    namespace,
    '--type=json',
    '-p',
    JSON.stringify([
      { op: 'add', path: '/rules/-', value: { apiGroups: [''], resources: ['secrets'], verbs: ['get'] } },
    ]),
  ]);

  const r = await audit({ namespace });
  assert.equal(r.complete, true, JSON.stringify(r.errors));
  assert.equal(r.highest, 'critical');
  const find = (check: string, text: string) =>
    r.findings.find((f) => f.check === check && (f.what.includes(text) || f.where.some((w) => w.includes(text))));
  const admin = find('rbac.extra-cluster-role-binding', crbAdmin);
  assert.equal(admin?.severity, 'critical', JSON.stringify(r.findings, null, 1));
  assert.match(admin!.why, /every verb on every resource/);
  assert.match(admin!.fix, new RegExp(`kubectl delete clusterrolebinding ${crbAdmin}`));
  const secrets = find('rbac.extra-cluster-role-binding', crbSecrets);
  assert.equal(secrets?.severity, 'critical', JSON.stringify(r.findings, null, 1));
  assert.match(secrets!.why, /reads Secrets in every namespace/);
  assert.equal(find('rbac.role-drift', 'secrets')?.severity, 'high');
  const beyond = find('rbac.access-beyond-chart', 'list secrets in all namespaces');
  assert.equal(beyond?.severity, 'critical');
  assert.equal(find('pod.privileged', `Pod ${namespace}/priv container shell`)?.severity, 'critical');
  assert.equal(find('pod.root', `Pod ${namespace}/priv`)?.severity, 'high');
  assert.equal(find('image.latest', 'busybox:latest')?.severity, 'medium');
  assert.equal(find('image.latest', 'image nginx is untagged')?.severity, 'medium');
  assert.equal(find('events.secret-warning', 'FailedMount')?.severity, 'medium');
  assert.equal(r.secretEvents?.events, 1);
  // Ranked: no finding after a less severe one.
  const rank = r.findings.map((f) => ['critical', 'high', 'medium', 'low'].indexOf(f.severity));
  assert.deepEqual(
    rank,
    [...rank].sort((a, b) => a - b),
  );
  assert.equal(r.counts.critical, r.findings.filter((f) => f.severity === 'critical').length);

  // The audit changed nothing; the bindings removed (and the Role re-applied), the RBAC findings go.
  await cluster.kubectl(['delete', 'clusterrolebinding', crbAdmin, crbSecrets]);
  await helm([
    'upgrade',
    '--install',
    'orchestrator',
    'charts/orchestrator',
    '-n',
    namespace,
    '--skip-crds',
    '--force-conflicts',
  ]);
  const after = await audit({ namespace });
  assert.deepEqual(checks(after, 'rbac.'), [], JSON.stringify(checks(after, 'rbac.'), null, 1));
  assert.ok(after.rbac!.access.every((a) => a.allowed === a.chartGrants));
  assert.ok(find('pod.privileged', 'priv'), 'the pod findings stay');
});

test('the monthly schedule: created then updated, spec on the 1st at 04:00 UTC; a triggered run reports', async () => {
  const { client } = await testTemporal();
  const scheduleId = uniqueTaskQueue('security-audit');
  const opts = { scheduleId, taskQueue, input: { namespace, extraNamespaces: [] } };
  assert.equal(await ensureSecurityAuditSchedule(client, opts), 'created');
  const handle = client.schedule.getHandle(scheduleId);
  (await testTemporal()).defer(() => handle.delete().catch(() => undefined));
  assert.equal(await ensureSecurityAuditSchedule(client, opts), 'updated');
  const d = await handle.describe();
  const cal = d.spec.calendars?.[0];
  assert.ok(cal, JSON.stringify(d.spec));
  assert.deepEqual(cal.dayOfMonth, [{ start: 1, end: 1, step: 1 }]);
  assert.deepEqual(cal.hour, [{ start: 4, end: 4, step: 1 }]);
  assert.deepEqual(cal.minute, [{ start: 0, end: 0, step: 1 }]);
  assert.deepEqual(cal.month, [{ start: 'JANUARY', end: 'DECEMBER', step: 1 }]);
  assert.equal(d.spec.timezone, 'UTC');
  assert.equal(d.action.type === 'startWorkflow' ? d.action.workflowType : undefined, 'securityAudit');
  await handle.trigger();
  const workflowId = await eventually(
    'a scheduled run',
    async () => (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId,
    30_000,
  );
  const report = (await client.workflow.getHandle(workflowId).result()) as SecurityAuditReport;
  assert.equal(report.runbook, 'securityAudit');
  assert.equal(report.serviceAccount, `system:serviceaccount:${namespace}:${sa}`);
});
