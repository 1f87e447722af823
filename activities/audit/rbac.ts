// The service account's RBAC against the chart's: every binding that names it (directly or through
// its groups), the rules of the roles they bind, what the API server says it may do
// (SubjectAccessReview as system:serviceaccount:NS:SA, as `kubectl auth can-i --as` asks), and
// findings where it can do more than the chart grants. Read-only.
import { RbacAuthorizationV1Api, type V1ObjectMeta } from '@kubernetes/client-node';
import type { ChartRef } from '../../contract/types/deploy.ts';
import {
  capWhere,
  severityRank,
  worse,
  type AccessCheck,
  type AuditBinding,
  type AuditFinding,
  type RbacAuditResult,
  type Severity,
} from '../../contract/types/security-audit.ts';
import type { KubeClients } from '../kube/client.ts';
import type { HelmDeps } from '../helm/deps.ts';
import { kubeCall } from '../errors.ts';
import { readIfExists } from '../kube/exists.ts';
import { chartRbac, type RbacObject } from './chart-rbac.ts';
import { describeRule, ruleCovered, rulesAllow, worstRisk, type PolicyRule } from './rules.ts';
import { serviceAccountMay } from '../kube/access-review.ts';

export interface RbacAuditRequest {
  namespace: string;
  serviceAccount: string;
  release: string;
  chart: ChartRef;
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

/** How a binding's subjects name the service account, or undefined. */
export function subjectNaming(subjects: Subject[] | undefined, ns: string, sa: string): string | undefined {
  for (const s of subjects ?? []) {
    if (s.kind === 'ServiceAccount' && s.name === sa && s.namespace === ns) return `ServiceAccount ${ns}/${sa}`;
    if (s.kind === 'User' && s.name === `system:serviceaccount:${ns}:${sa}`) return `User ${s.name}`;
    if (
      s.kind === 'Group' &&
      ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'].includes(s.name)
    )
      return `Group ${s.name}`;
  }
  return undefined;
}

const builtIn = (meta: V1ObjectMeta | undefined) => meta?.labels?.['kubernetes.io/bootstrapping'] === 'rbac-defaults';
const bindingKey = (b: { kind: string; namespace?: string; name: string; roleRef: { kind: string; name: string } }) =>
  `${b.kind} ${b.namespace ? `${b.namespace}/` : ''}${b.name} -> ${b.roleRef.kind} ${b.roleRef.name}`;
const bindingName = (b: { kind: string; namespace?: string; name: string }) =>
  `${b.kind} ${b.namespace ? `${b.namespace}/` : ''}${b.name}`;

/** What `kubectl auth can-i --list` would show that matters, each with the severity of holding it beyond the chart. */
export const ACCESS_CHECKS: {
  verb: string;
  group: string;
  resource: string;
  clusterWide?: boolean;
  severity: Severity;
}[] = [
  { verb: 'get', group: '', resource: 'secrets', severity: 'high' },
  { verb: 'list', group: '', resource: 'secrets', severity: 'high' },
  { verb: 'create', group: '', resource: 'pods', severity: 'medium' },
  { verb: 'create', group: '', resource: 'pods/exec', severity: 'high' },
  { verb: 'create', group: '', resource: 'serviceaccounts/token', severity: 'high' },
  { verb: 'create', group: 'batch', resource: 'jobs', severity: 'medium' },
  { verb: 'update', group: 'orchestrator.io', resource: 'taskruns', severity: 'low' },
  { verb: 'list', group: '', resource: 'configmaps', severity: 'low' },
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'rolebindings', severity: 'critical' },
  { verb: 'list', group: '', resource: 'secrets', clusterWide: true, severity: 'critical' },
  { verb: 'get', group: '', resource: 'secrets', clusterWide: true, severity: 'critical' },
  { verb: 'create', group: '', resource: 'pods', clusterWide: true, severity: 'high' },
  { verb: 'create', group: '', resource: 'pods/exec', clusterWide: true, severity: 'critical' },
  { verb: 'get', group: '', resource: 'nodes/proxy', clusterWide: true, severity: 'critical' },
  {
    verb: 'create',
    group: 'rbac.authorization.k8s.io',
    resource: 'clusterrolebindings',
    clusterWide: true,
    severity: 'critical',
  },
  {
    verb: 'escalate',
    group: 'rbac.authorization.k8s.io',
    resource: 'clusterroles',
    clusterWide: true,
    severity: 'critical',
  },
  {
    verb: 'bind',
    group: 'rbac.authorization.k8s.io',
    resource: 'clusterroles',
    clusterWide: true,
    severity: 'critical',
  },
  { verb: 'impersonate', group: '', resource: 'users', clusterWide: true, severity: 'critical' },
  { verb: 'delete', group: '', resource: 'namespaces', clusterWide: true, severity: 'high' },
  { verb: 'patch', group: '', resource: 'nodes', clusterWide: true, severity: 'high' },
  { verb: '*', group: '*', resource: '*', clusterWide: true, severity: 'critical' },
];

interface LiveBinding extends AuditBinding {
  rules?: PolicyRule[];
  roleError?: string;
}

async function readBindings(kube: KubeClients, ns: string, sa: string): Promise<LiveBinding[]> {
  const rbac = kube.config.makeApiClient(RbacAuthorizationV1Api);
  const [crbs, rbs] = await Promise.all([
    kubeCall('list ClusterRoleBindings', () => rbac.listClusterRoleBinding()),
    kubeCall('list RoleBindings', () => rbac.listRoleBindingForAllNamespaces()),
  ]);
  const out: LiveBinding[] = [];
  for (const [kind, items] of [
    ['ClusterRoleBinding', crbs.items],
    ['RoleBinding', rbs.items],
  ] as const) {
    for (const b of items) {
      const subject = subjectNaming(b.subjects, ns, sa);
      if (!subject) continue;
      out.push({
        kind,
        name: b.metadata?.name ?? '',
        ...(kind === 'RoleBinding' ? { namespace: b.metadata?.namespace ?? '' } : {}),
        roleRef: { kind: b.roleRef.kind, name: b.roleRef.name },
        subject,
        fromChart: false,
        builtIn: builtIn(b.metadata),
      });
    }
  }
  for (const b of out.filter((x) => !x.builtIn)) {
    try {
      const role =
        b.roleRef.kind === 'ClusterRole'
          ? await readIfExists(`ClusterRole ${b.roleRef.name}`, () => rbac.readClusterRole({ name: b.roleRef.name }))
          : await readIfExists(`Role ${b.namespace}/${b.roleRef.name}`, () =>
              rbac.readNamespacedRole({ namespace: b.namespace ?? ns, name: b.roleRef.name }),
            );
      if (role) b.rules = (role.rules ?? []) as PolicyRule[];
      else b.roleError = 'role not found (the binding grants nothing until it exists)';
    } catch (err) {
      b.roleError = (err as Error).message.slice(0, 200);
    }
  }
  return out.sort((a, b) => bindingKey(a).localeCompare(bindingKey(b)));
}

async function reviewAccess(
  kube: KubeClients,
  ns: string,
  sa: string,
  chartRules: { namespaced: PolicyRule[]; clusterWide: PolicyRule[] },
): Promise<(AccessCheck & { severity: Severity })[]> {
  const allowed = await serviceAccountMay(kube, ns, sa, ACCESS_CHECKS);
  return ACCESS_CHECKS.map((c, i) => {
    const [resource, sub] = c.resource.split('/');
    const chartGrants =
      rulesAllow(chartRules.clusterWide, c.verb, c.group, c.resource) ||
      (!c.clusterWide && rulesAllow(chartRules.namespaced, c.verb, c.group, c.resource));
    return {
      verb: c.verb,
      resource: `${resource}${c.group && c.group !== '*' ? `.${c.group}` : ''}${sub ? `/${sub}` : ''}`,
      namespace: c.clusterWide ? '*' : ns,
      allowed: allowed[i]!,
      chartGrants,
      severity: c.severity,
    };
  });
}

/** The chart's bindings of the service account and the rules they grant (namespaced, cluster-wide). */
function chartGrants(chart: { objects: RbacObject[] }, ns: string, sa: string) {
  const roles = new Map(
    chart.objects
      .filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')
      .map((o) => [`${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`, o]),
  );
  const bindings = chart.objects.filter(
    (o) => (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') && subjectNaming(o.subjects, ns, sa),
  );
  const rulesOf = (b: RbacObject) =>
    roles.get(`${b.roleRef?.kind} ${b.roleRef?.kind === 'Role' ? (b.metadata.namespace ?? ns) : ''}/${b.roleRef?.name}`)
      ?.rules ?? [];
  return {
    roles,
    keys: new Set(
      bindings.map((b) =>
        bindingKey({
          kind: b.kind,
          ...(b.kind === 'RoleBinding' ? { namespace: b.metadata.namespace ?? ns } : {}),
          name: b.metadata.name,
          roleRef: { kind: b.roleRef?.kind ?? '', name: b.roleRef?.name ?? '' },
        }),
      ),
    ),
    namespaced: bindings
      .filter((b) => b.kind === 'RoleBinding' && (b.metadata.namespace ?? ns) === ns)
      .flatMap(rulesOf),
    clusterWide: bindings.filter((b) => b.kind === 'ClusterRoleBinding').flatMap(rulesOf),
  };
}

export async function auditRbac(kube: KubeClients, helm: HelmDeps, req: RbacAuditRequest): Promise<RbacAuditResult> {
  const { namespace: ns, serviceAccount: sa } = req;
  const who = `ServiceAccount ${ns}/${sa}`;
  const chart = await chartRbac(helm, req).catch((err: Error) => ({
    source: 'none' as const,
    detail: `chart RBAC unknown: ${err.message.slice(0, 300)}`,
    objects: [] as RbacObject[],
  }));
  const granted = chartGrants(chart, ns, sa);
  const live = await readBindings(kube, ns, sa);
  for (const b of live) b.fromChart = granted.keys.has(bindingKey(b));
  // A chart binding to a role the chart does not ship (e.g. the built-in `view`) grants that role's rules as they are.
  const roleKey = (b: LiveBinding) =>
    `${b.roleRef.kind} ${b.roleRef.kind === 'Role' ? (b.namespace ?? ns) : ''}/${b.roleRef.name}`;
  for (const b of live.filter((x) => x.fromChart && !granted.roles.has(roleKey(x)))) {
    (b.kind === 'ClusterRoleBinding' ? granted.clusterWide : granted.namespaced).push(...(b.rules ?? []));
  }
  const findings: AuditFinding[] = [];

  // Bindings the chart does not declare: what they grant decides how bad they are.
  // Without the chart's RBAC, only what is serious whatever the chart says is reported.
  const known = chart.source !== 'none';
  const serious = (s: Severity) => known || s === 'critical' || s === 'high';
  if (!known) {
    findings.push({
      severity: 'medium',
      check: 'rbac.chart-unknown',
      what: `the RBAC the chart grants ${who} could not be read`,
      where: [chart.detail],
      why: 'without it only critical and high grants are reported; lesser grants beyond the chart go unnoticed',
      fix: 'give the audit the installed release (release) or a chart it may render (chart)',
    });
  }
  for (const b of live.filter((x) => !x.builtIn && !x.fromChart)) {
    const clusterWide = b.kind === 'ClusterRoleBinding';
    const risk = worstRisk(b.rules ?? [], clusterWide);
    const severity = clusterWide ? worse(risk.severity, 'medium') : risk.severity;
    if (!serious(severity)) continue;
    findings.push({
      severity,
      check: clusterWide ? 'rbac.extra-cluster-role-binding' : 'rbac.extra-role-binding',
      what: `${bindingName(b)} binds ${who}${b.subject === who ? '' : ` (as ${b.subject})`} to ${b.roleRef.kind} ${b.roleRef.name}, which the chart does not grant`,
      ...capWhere(
        [
          bindingName(b),
          `${b.roleRef.kind} ${b.roleRef.name}: ${b.rules ? b.rules.map(describeRule).join('; ') || 'no rules' : (b.roleError ?? '')}`,
        ],
        true,
      ),
      why: `${clusterWide ? 'cluster-wide, ' : ''}${b.rules ? risk.why : (b.roleError ?? '')}; the chart grants only a Role in ${ns}`,
      fix: `if nobody needs it: kubectl delete ${b.kind.toLowerCase()} ${b.name}${b.namespace ? ` -n ${b.namespace}` : ''}; if the orchestrator does, grant it in the chart (charts/orchestrator/templates/rbac.yaml) so that it is reviewed`,
    });
  }

  // The chart's own Roles edited in place: live rules the chart does not declare.
  for (const b of live.filter((x) => x.fromChart && x.rules && granted.roles.has(roleKey(x)))) {
    const declared = granted.roles.get(roleKey(b))?.rules ?? [];
    const extra = (b.rules ?? []).filter((r) => !ruleCovered(r, declared));
    if (!extra.length) continue;
    const risk = worstRisk(extra, b.kind === 'ClusterRoleBinding');
    findings.push({
      severity: risk.severity,
      check: 'rbac.role-drift',
      what: `${b.roleRef.kind} ${b.roleRef.name} (bound to ${who} by the chart) has rules the chart does not declare`,
      ...capWhere(extra.map((r) => `${b.roleRef.kind} ${b.roleRef.name}: ${describeRule(r)}`)),
      why: risk.why,
      fix: `re-apply the chart (helm upgrade, or deployPlatform) to restore the declared rules, and find who edited the ${b.roleRef.kind}`,
    });
  }

  // The chart's bindings that are gone.
  const liveKeys = new Set(live.map(bindingKey));
  const missing = [...granted.keys].filter((k) => !liveKeys.has(k));
  if (missing.length && chart.source === 'release') {
    findings.push({
      severity: 'low',
      check: 'rbac.chart-binding-missing',
      what: `bindings the chart declares for ${who} are missing`,
      ...capWhere(missing),
      why: 'the orchestrator lacks rights it needs; someone removed them outside the chart',
      fix: 're-apply the chart (helm upgrade, or deployPlatform)',
    });
  }

  // What the API server says it may do, against what the chart's rules allow: catches grants of any origin.
  const access = await reviewAccess(kube, ns, sa, granted);
  const beyond = access.filter((a) => a.allowed && !a.chartGrants && serious(a.severity));
  if (beyond.length) {
    findings.push({
      severity: beyond.map((a) => a.severity).reduce(worse),
      check: 'rbac.access-beyond-chart',
      what: `${who} may do ${beyond.length} thing(s) the chart does not grant (SubjectAccessReview)`,
      // The worst first: they are the ones to name when there are more than fit.
      ...capWhere(
        [...beyond]
          .sort((a, b) => severityRank(a.severity) - severityRank(b.severity))
          .map((a) => `${a.verb} ${a.resource} in ${a.namespace === '*' ? 'all namespaces' : a.namespace}`),
        true,
      ),
      why: 'a stolen orchestrator token can do all of this; the chart grants only what reconciling TaskRuns needs',
      fix: 'remove the bindings named by the rbac.extra-* findings (or the group bindings that include every service account)',
    });
  }

  return {
    serviceAccount: `system:serviceaccount:${ns}:${sa}`,
    chartSource: chart.source,
    chartSourceDetail: chart.detail,
    bindings: live.slice(0, 50).map(({ rules: _r, roleError: _e, ...b }) => b),
    access: access.map(({ severity: _s, ...a }) => a),
    findings,
  };
}
