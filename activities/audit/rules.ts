// RBAC rules as data: does a set of rules allow a request, and how dangerous is a rule to hold.
// Pure functions (no cluster calls), shared by the binding, drift and access checks.
import { worse, type Severity } from '../../contract/types/security-audit.ts';

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

const has = (list: string[] | undefined, value: string) => (list ?? []).includes('*') || (list ?? []).includes(value);

/** Does this rule allow verb on group/resource (any name)? A rule limited to resourceNames does not. */
export function ruleAllows(rule: PolicyRule, verb: string, group: string, resource: string): boolean {
  if (rule.resourceNames?.length) return false;
  if (!has(rule.verbs, verb) || !has(rule.apiGroups, group)) return false;
  const [base] = resource.split('/');
  return has(rule.resources, resource) || (resource.includes('/') && (rule.resources ?? []).includes(`${base}/*`));
}

export const rulesAllow = (rules: PolicyRule[], verb: string, group: string, resource: string) =>
  rules.some((r) => ruleAllows(r, verb, group, resource));

/** Is every (group, resource, verb) of `rule` allowed by `granted`? Wildcards are covered only by wildcards. */
export function ruleCovered(rule: PolicyRule, granted: PolicyRule[]): boolean {
  if (rule.nonResourceURLs?.length)
    return granted.some(
      (g) => rule.nonResourceURLs!.every((u) => has(g.nonResourceURLs, u)) && rule.verbs.every((v) => has(g.verbs, v)),
    );
  return (rule.apiGroups ?? ['']).every((group) =>
    (rule.resources ?? []).every((resource) =>
      rule.verbs.every((verb) =>
        granted.some(
          (g) =>
            has(g.verbs, verb) &&
            has(g.apiGroups, group) &&
            has(g.resources, resource) &&
            (!g.resourceNames?.length || (rule.resourceNames ?? []).every((n) => g.resourceNames!.includes(n))),
        ),
      ),
    ),
  );
}

const READ = ['get', 'list', 'watch', '*'];
const WRITE = ['create', 'update', 'patch', 'delete', 'deletecollection', '*'];
const ESCALATING = ['escalate', 'bind', 'impersonate'];
const RBAC_KINDS = ['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings', '*'];
const SHELL_LIKE = [
  'pods/exec',
  'pods/attach',
  'pods/portforward',
  'nodes/proxy',
  'serviceaccounts/token',
  'pods/*',
  'nodes/*',
  '*',
];
const WORKLOADS = ['pods', 'deployments', 'daemonsets', 'statefulsets', 'replicasets', 'jobs', 'cronjobs', '*'];
const any = (list: string[] | undefined, of: string[]) => (list ?? []).some((x) => of.includes(x));

export interface RuleRisk {
  severity: Severity;
  why: string;
}

/** How dangerous holding this rule is, cluster-wide (ClusterRoleBinding) or in one namespace. */
export function ruleRisk(rule: PolicyRule, clusterWide: boolean): RuleRisk {
  const scope = clusterWide ? 'in every namespace' : 'in its namespace';
  const text = describeRule(rule);
  if (rule.nonResourceURLs?.length && !rule.resources?.length)
    return { severity: 'low', why: `${text}: non-resource URLs only` };
  if (rule.verbs.includes('*') && (rule.resources ?? []).includes('*'))
    return { severity: 'critical', why: `${text}: every verb on every resource ${scope} (cluster-admin-like)` };
  if (any(rule.verbs, ESCALATING))
    return { severity: 'critical', why: `${text}: escalate/bind/impersonate let it grant itself or act as anyone` };
  if (any(rule.resources, RBAC_KINDS) && any(rule.verbs, WRITE))
    return { severity: 'critical', why: `${text}: writing RBAC lets it grant itself any right` };
  if (any(rule.resources, ['secrets', '*']) && any(rule.verbs, READ) && !rule.resourceNames?.length) {
    return {
      severity: clusterWide ? 'critical' : 'high',
      why: `${text}: reads Secrets ${scope} (the chart's orchestrator never reads Secrets)`,
    };
  }
  if (any(rule.resources, SHELL_LIKE) && any(rule.verbs, ['create', 'get', '*']))
    return { severity: 'high', why: `${text}: a shell or token in other workloads ${scope}` };
  if (any(rule.resources, WORKLOADS) && any(rule.verbs, WRITE))
    return { severity: clusterWide ? 'high' : 'medium', why: `${text}: runs or changes workloads ${scope}` };
  if (any(rule.verbs, WRITE)) return { severity: 'medium', why: `${text}: writes ${scope}` };
  return { severity: clusterWide ? 'medium' : 'low', why: `${text}: reads ${scope}` };
}

/** The worst risk of a rule list (low when empty). */
export function worstRisk(rules: PolicyRule[], clusterWide: boolean): RuleRisk {
  let out: RuleRisk = { severity: 'low', why: 'no rules' };
  let first = true;
  for (const r of rules) {
    const risk = ruleRisk(r, clusterWide);
    if (first || worse(risk.severity, out.severity) !== out.severity) out = risk;
    first = false;
  }
  return out;
}

/** `verbs [get list] on secrets (core)`, as people read RBAC. */
export function describeRule(rule: PolicyRule): string {
  if (rule.nonResourceURLs?.length && !rule.resources?.length)
    return `${rule.verbs.join(',')} on ${rule.nonResourceURLs.join(',')}`;
  const groups = (rule.apiGroups ?? ['']).map((g) => (g === '' ? 'core' : g)).join(',');
  const names = rule.resourceNames?.length ? ` (names ${rule.resourceNames.join(',')})` : '';
  return `${rule.verbs.join(',')} on ${(rule.resources ?? []).join(',')} [${groups}]${names}`;
}
