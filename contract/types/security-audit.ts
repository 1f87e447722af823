// securityAudit: input schema and report (the operations guide's monthly "Security audit" and
// "Access Auditing"). Read-only: the audit changes nothing in the cluster.
import { z } from 'zod';
import { k8sName } from './common.ts';
import { chartSchema, DEFAULT_CHART } from './deploy.ts';

export const securityAuditInputSchema = z
  .object({
    /** The platform's namespace: its Helm release and the orchestrator's service account live here. */
    namespace: k8sName.default('orchestrator'),
    serviceAccount: k8sName.default('orchestrator'),
    /** The Helm release whose manifest says what RBAC the chart grants; without a release, `chart` is rendered. */
    release: k8sName.default('orchestrator'),
    /** Rendered (helm template) when the release is not installed: the RBAC the chart would grant. */
    chart: chartSchema.default(DEFAULT_CHART),
    /** Namespaces whose pods, images and events are audited besides `namespace` (missing ones are noted, not errors). */
    extraNamespaces: z.array(k8sName).max(20).default(['telemetry']),
    /** Events younger than this are read for Secret access (events expire after about an hour anyway). */
    eventsWindowMinutes: z.number().int().min(1).max(1440).default(60),
  })
  .strict();

export type SecurityAuditInput = z.input<typeof securityAuditInputSchema>;
export type SecurityAuditOptions = z.output<typeof securityAuditInputSchema>;

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** One finding: what is wrong, where, why it matters, how to fix it. */
export interface AuditFinding {
  severity: Severity;
  /** A stable code of the check, e.g. `rbac.extra-binding`, `pod.privileged`, `image.latest`. */
  check: string;
  what: string;
  /** The objects concerned (at most MAX_WHERE; `whereMore` counts the rest). */
  where: string[];
  whereMore?: number;
  why: string;
  fix: string;
}

/** At most this many objects are named per finding, and this many findings per report: the report stays small. */
export const MAX_WHERE = 10;
export const MAX_FINDINGS = 100;

export interface AuditBinding {
  kind: 'RoleBinding' | 'ClusterRoleBinding';
  namespace?: string;
  name: string;
  roleRef: { kind: string; name: string };
  /** How it names the service account: directly, or through a group it belongs to. */
  subject: string;
  /** Declared by the chart (release manifest or rendered chart). */
  fromChart: boolean;
  /** One of Kubernetes' default bindings (kubernetes.io/bootstrapping: rbac-defaults). */
  builtIn: boolean;
}

/** One SubjectAccessReview of the service account, and whether the chart's rules grant it. */
export interface AccessCheck {
  verb: string;
  resource: string;
  /** The namespace asked about, or `*` for cluster-wide. */
  namespace: string;
  allowed: boolean;
  chartGrants: boolean;
}

export interface RbacAuditResult {
  serviceAccount: string;
  /** Where the chart's RBAC came from: the installed release, the rendered chart, or nowhere (neither worked). */
  chartSource: 'release' | 'chart' | 'none';
  chartSourceDetail: string;
  bindings: AuditBinding[];
  access: AccessCheck[];
  findings: AuditFinding[];
}

export interface WorkloadAuditResult {
  namespaces: string[];
  missingNamespaces: string[];
  pods: number;
  containers: number;
  images: number;
  findings: AuditFinding[];
}

export interface SecretEventsAuditResult {
  namespaces: string[];
  /** Events in the window that name a Secret. */
  events: number;
  findings: AuditFinding[];
}

export type AuditSection = 'rbac' | 'workloads' | 'secret events';

export interface SecurityAuditReport {
  runbook: 'securityAudit';
  auditedAt: string;
  serviceAccount: string;
  namespaces: string[];
  /** The worst severity found, or `none`. */
  highest: Severity | 'none';
  counts: Record<Severity, number>;
  /** Ranked: critical first; within a severity, by check and first object. */
  findings: AuditFinding[];
  /** Findings left out beyond MAX_FINDINGS (the lowest ranked). */
  findingsLeftOut: number;
  /** False when a section could not run (its error is in `errors`): the report is partial. */
  complete: boolean;
  errors: { section: AuditSection; error: string }[];
  rbac?: Omit<RbacAuditResult, 'findings'>;
  workloads?: Omit<WorkloadAuditResult, 'findings'>;
  secretEvents?: Omit<SecretEventsAuditResult, 'findings'>;
}

/** Severity order (0 = worst), for ranking. */
export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);

/** The worse of two severities. */
export const worse = (a: Severity, b: Severity): Severity => (severityRank(a) <= severityRank(b) ? a : b);

/** Names at most MAX_WHERE objects (sorted, unless `ranked`: the worst come first); the rest are counted. */
export function capWhere(where: string[], ranked = false): Pick<AuditFinding, 'where' | 'whereMore'> {
  const sorted = ranked ? [...new Set(where)] : [...new Set(where)].sort();
  return sorted.length > MAX_WHERE
    ? { where: sorted.slice(0, MAX_WHERE), whereMore: sorted.length - MAX_WHERE }
    : { where: sorted };
}
