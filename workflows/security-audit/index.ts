// securityAudit: the operations guide's monthly "Security audit" and "Access Auditing", read-only.
// Three sections (the orchestrator service account's RBAC against the chart's, the pods and images
// of the platform's namespaces, Secret events), then one report of findings ranked by severity.
// A section that fails is named in the report (complete: false) and the others still run; only
// when every section fails does the audit fail. A monthly Schedule runs it (client/schedules.ts).
import { ApplicationFailure } from '@temporalio/workflow';
import { quickReadActs } from '../activity-proxies.ts';
import { ProgressTracker } from '../progress.ts';
import { parseInput } from '../validate.ts';
import { failureText } from '../../contract/failure-cause.ts';
import { SECURITY_AUDIT_FAILED } from '../../contract/failures.ts';
import {
  securityAuditInputSchema,
  type AuditFinding,
  type AuditSection,
  type SecurityAuditInput,
  type SecurityAuditReport,
} from '../../contract/types/security-audit.ts';
import { countsLine, summarize } from './report.ts';

const STEPS = ['validate', 'rbac', 'workloads', 'secret events', 'report'] as const;

export async function securityAudit(input: SecurityAuditInput = {}): Promise<SecurityAuditReport> {
  const progress = new ProgressTracker('securityAudit', STEPS);
  const opts = await progress.run('validate', async () => parseInput('securityAudit', securityAuditInputSchema, input));
  const namespaces = [...new Set([opts.namespace, ...opts.extraNamespaces])];
  const findings: AuditFinding[] = [];
  const errors: SecurityAuditReport['errors'] = [];

  /** Runs one section; its failure is recorded (the step shows it) and the audit goes on. */
  const section = async <T extends { findings: AuditFinding[] }>(
    name: AuditSection,
    fn: () => Promise<T>,
    detail: (r: T) => string,
  ): Promise<Omit<T, 'findings'> | undefined> => {
    try {
      const { findings: found, ...rest } = await progress.run(
        name,
        fn,
        (r) => `${r.findings.length} finding(s); ${detail(r)}`,
      );
      findings.push(...found);
      return rest;
    } catch (err) {
      errors.push({ section: name, error: failureText(err) });
      return undefined;
    }
  };

  const rbac = await section(
    'rbac',
    () =>
      quickReadActs.auditServiceAccountRbac({
        namespace: opts.namespace,
        serviceAccount: opts.serviceAccount,
        release: opts.release,
        chart: opts.chart,
      }),
    (r) => `${r.bindings.length} binding(s), chart RBAC from ${r.chartSource}`,
  );
  const workloads = await section(
    'workloads',
    () => quickReadActs.auditWorkloads({ namespaces }),
    (r) =>
      `${r.pods} pod(s), ${r.images} image(s)${r.missingNamespaces.length ? `; no namespace ${r.missingNamespaces.join(', ')}` : ''}`,
  );
  const secretEvents = await section(
    'secret events',
    () => quickReadActs.auditSecretEvents({ namespaces, windowMinutes: opts.eventsWindowMinutes }),
    (r) => `${r.events} event(s) naming Secrets`,
  );

  if (errors.length === STEPS.length - 2) {
    throw ApplicationFailure.create({
      type: SECURITY_AUDIT_FAILED,
      nonRetryable: true,
      message: `security audit: every section failed: ${errors.map((e) => `${e.section}: ${e.error}`).join('; ')}`,
      details: [errors],
    });
  }
  return progress.run(
    'report',
    async () => ({
      runbook: 'securityAudit' as const,
      auditedAt: new Date().toISOString(),
      serviceAccount: `system:serviceaccount:${opts.namespace}:${opts.serviceAccount}`,
      namespaces,
      ...summarize(findings),
      complete: errors.length === 0,
      errors,
      ...(rbac ? { rbac } : {}),
      ...(workloads ? { workloads } : {}),
      ...(secretEvents ? { secretEvents } : {}),
    }),
    (r) =>
      `${r.highest === 'none' ? 'no findings' : `highest ${r.highest}`}: ${countsLine(r.counts)}${r.complete ? '' : `; incomplete (${r.errors.map((e) => e.section).join(', ')} failed)`}`,
  );
}
