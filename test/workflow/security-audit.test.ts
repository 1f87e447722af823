// securityAudit with mocked activities, on the real dev server: findings of the three sections
// ranked by severity, an empty audit, a failed section (partial report) and every section failed
// (the audit fails), the report capped at MAX_FINDINGS, and invalid input before any activity.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { INVALID_INPUT, KUBE_FORBIDDEN, SECURITY_AUDIT_FAILED } from '../../contract/failures.ts';
import { failureCause } from '../../contract/failure-cause.ts';
import { progressQuery } from '../../contract/progress.ts';
import {
  MAX_FINDINGS,
  type AuditFinding,
  type RbacAuditResult,
  type SecretEventsAuditResult,
  type SecurityAuditInput,
  type SecurityAuditReport,
  type Severity,
  type WorkloadAuditResult,
} from '../../contract/types/security-audit.ts';
import { runTestWorker, useTestTemporal, uniqueTaskQueue, type MockActivities } from '../helpers/temporal.ts';
import { recordHistory } from '../helpers/record-history.ts';
import { workflowFailure } from '../helpers/workflow-failure.ts';

const testTemporal = useTestTemporal();

const f = (severity: Severity, check: string, where = 'x'): AuditFinding => ({
  severity,
  check,
  what: `${check} at ${where}`,
  where: [where],
  why: 'because',
  fix: 'fix it',
});

interface Sections {
  rbac?: AuditFinding[];
  workloads?: AuditFinding[];
  events?: AuditFinding[];
}

/** Mocks returning these findings; a section given as an Error fails (non-retryable, like a 403). */
function mock(sections: Sections, fail: (keyof Sections)[] = []) {
  const calls: { name: string; req: unknown }[] = [];
  const forbidden = (what: string) =>
    ApplicationFailure.create({
      type: KUBE_FORBIDDEN,
      nonRetryable: true,
      message: `${what}: HTTP 403 forbidden (test)`,
    });
  const activities: MockActivities = {
    auditServiceAccountRbac: async (req): Promise<RbacAuditResult> => {
      calls.push({ name: 'rbac', req });
      if (fail.includes('rbac')) throw forbidden('list ClusterRoleBindings');
      return {
        serviceAccount: 'system:serviceaccount:orchestrator:orchestrator',
        chartSource: 'release',
        chartSourceDetail: 'release orchestrator/orchestrator revision 1',
        bindings: [],
        access: [],
        findings: sections.rbac ?? [],
      };
    },
    auditWorkloads: async (req): Promise<WorkloadAuditResult> => {
      calls.push({ name: 'workloads', req });
      if (fail.includes('workloads')) throw forbidden('list pods in orchestrator');
      return {
        namespaces: req.namespaces,
        missingNamespaces: [],
        pods: 3,
        containers: 3,
        images: 2,
        findings: sections.workloads ?? [],
      };
    },
    auditSecretEvents: async (req): Promise<SecretEventsAuditResult> => {
      calls.push({ name: 'events', req });
      if (fail.includes('events')) throw forbidden('list events in orchestrator');
      return { namespaces: req.namespaces, events: 0, findings: sections.events ?? [] };
    },
  };
  return { calls, activities };
}

async function audit(sections: Sections, fail: (keyof Sections)[] = [], input: SecurityAuditInput = {}) {
  const env = await testTemporal();
  const { calls, activities } = mock(sections, fail);
  const taskQueue = await runTestWorker(env, activities, 'audit');
  const h = await env.client.workflow.start('securityAudit', {
    taskQueue,
    workflowId: uniqueTaskQueue('security-audit'),
    args: [input],
  });
  return { h, calls };
}

test('findings of every section are ranked critical, high, medium, low and counted; inputs reach the activities', async () => {
  const { h, calls } = await audit(
    {
      rbac: [
        f('low', 'rbac.chart-binding-missing'),
        f('critical', 'rbac.extra-cluster-role-binding', 'ClusterRoleBinding x'),
      ],
      workloads: [
        f('medium', 'image.latest', 'b'),
        f('critical', 'pod.privileged'),
        f('medium', 'image.latest', 'a'),
        f('low', 'image.unpinned'),
      ],
      events: [f('high', 'events.secret-warning')],
    },
    [],
    { namespace: 'platform', serviceAccount: 'orch', extraNamespaces: ['obs'], eventsWindowMinutes: 30 },
  );
  const r = (await h.result()) as SecurityAuditReport;
  assert.deepEqual(
    r.findings.map((x) => `${x.severity} ${x.check} ${x.where[0]}`),
    [
      'critical pod.privileged x',
      'critical rbac.extra-cluster-role-binding ClusterRoleBinding x',
      'high events.secret-warning x',
      'medium image.latest a',
      'medium image.latest b',
      'low image.unpinned x',
      'low rbac.chart-binding-missing x',
    ],
  );
  assert.deepEqual(r.counts, { critical: 2, high: 1, medium: 2, low: 2 });
  assert.equal(r.highest, 'critical');
  assert.equal(r.complete, true);
  assert.deepEqual(r.errors, []);
  assert.equal(r.serviceAccount, 'system:serviceaccount:platform:orch');
  assert.deepEqual(r.namespaces, ['platform', 'obs']);
  assert.equal(r.workloads?.pods, 3);
  assert.equal(r.rbac?.chartSource, 'release');
  assert.ok(!('findings' in (r.rbac ?? {})), 'findings are in the ranked list only');
  assert.deepEqual(
    calls.map((c) => c.name),
    ['rbac', 'workloads', 'events'],
  );
  assert.deepEqual(calls[0]!.req, {
    namespace: 'platform',
    serviceAccount: 'orch',
    release: 'orchestrator',
    chart: { path: 'charts/orchestrator' },
  });
  assert.deepEqual(calls[2]!.req, { namespaces: ['platform', 'obs'], windowMinutes: 30 });
  const progress = await h.query(progressQuery);
  assert.ok(
    progress.steps.every((s) => s.status === 'succeeded'),
    JSON.stringify(progress.steps),
  );
  assert.match(progress.steps.at(-1)!.detail ?? '', /highest critical: 2 critical, 1 high, 2 medium, 2 low/);
});

test('no findings: highest none, empty lists (not null), complete', async () => {
  const { h } = await audit({});
  const r = (await h.result()) as SecurityAuditReport;
  assert.equal(r.highest, 'none');
  assert.deepEqual(r.findings, []);
  assert.deepEqual(r.counts, { critical: 0, high: 0, medium: 0, low: 0 });
  assert.equal(r.findingsLeftOut, 0);
  assert.equal(r.complete, true);
  assert.deepEqual(r.namespaces, ['orchestrator', 'telemetry']);
});

test('a section that fails is named (report incomplete, its step failed) and the others still report', async () => {
  const { h, calls } = await audit(
    { workloads: [f('critical', 'pod.privileged')], events: [f('low', 'events.secret')] },
    ['rbac'],
  );
  const r = (await h.result()) as SecurityAuditReport;
  assert.equal(r.complete, false);
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0]!.section, 'rbac');
  assert.match(r.errors[0]!.error, /list ClusterRoleBindings: HTTP 403 .*\(KubeForbidden\)/);
  assert.equal(r.rbac, undefined);
  assert.deepEqual(
    r.findings.map((x) => x.check),
    ['pod.privileged', 'events.secret'],
  );
  assert.equal(calls.filter((c) => c.name === 'rbac').length, 1, 'a 403 is not retried');
  const steps = (await h.query(progressQuery)).steps;
  assert.equal(steps.find((s) => s.name === 'rbac')?.status, 'failed');
  assert.match(steps.find((s) => s.name === 'report')?.detail ?? '', /incomplete \(rbac failed\)/);
  await recordHistory(h, 'securityAudit-partial');
});

test('every section failed: the audit fails with SecurityAuditFailed naming each cause', async () => {
  const { h } = await audit({}, ['rbac', 'workloads', 'events']);
  const err = await workflowFailure(h);
  const cause = failureCause(err);
  assert.equal(cause.type, SECURITY_AUDIT_FAILED);
  assert.match(cause.message, /rbac: list ClusterRoleBindings.*workloads: list pods.*secret events: list events/);
});

test(`more than ${MAX_FINDINGS} findings: the worst ${MAX_FINDINGS} are kept, the rest counted`, async () => {
  const many = [
    ...Array.from({ length: 120 }, (_, i) => f('low', 'image.unpinned', `img-${String(i).padStart(3, '0')}`)),
    ...Array.from({ length: 30 }, (_, i) => f('medium', 'image.latest', `l-${i}`)),
    f('critical', 'pod.privileged'),
  ];
  const { h } = await audit({ workloads: many });
  const r = (await h.result()) as SecurityAuditReport;
  assert.equal(r.findings.length, MAX_FINDINGS);
  assert.equal(r.findingsLeftOut, 51);
  assert.equal(r.findings[0]!.check, 'pod.privileged');
  assert.deepEqual(r.counts, { critical: 1, high: 0, medium: 30, low: 120 });
  assert.equal(r.findings.filter((x) => x.severity === 'low').length, MAX_FINDINGS - 31);
});

test('invalid input fails at once naming the fields, before any activity', async () => {
  const { h, calls } = await audit({}, [], { namespace: 'Bad_NS', eventsWindowMinutes: 0, extra: true } as never);
  const err = await workflowFailure(h);
  const cause = failureCause(err);
  assert.equal(cause.type, INVALID_INPUT);
  assert.match(cause.message, /namespace/);
  assert.match(cause.message, /eventsWindowMinutes/);
  assert.match(cause.message, /extra/);
  assert.deepEqual(calls, []);
});
