// The audit's report: findings of every section ranked (critical first), counted and capped.
import {
  MAX_FINDINGS,
  SEVERITIES,
  severityRank,
  type AuditFinding,
  type SecurityAuditReport,
  type Severity,
} from '../../contract/types/security-audit.ts';

/** Critical first; within a severity by check, then by the first object named (a stable order). */
export function rankFindings(findings: AuditFinding[]): AuditFinding[] {
  return [...findings].sort(
    (a, b) =>
      severityRank(a.severity) - severityRank(b.severity) ||
      a.check.localeCompare(b.check) ||
      (a.where[0] ?? '').localeCompare(b.where[0] ?? '') ||
      a.what.localeCompare(b.what),
  );
}

export function summarize(
  findings: AuditFinding[],
): Pick<SecurityAuditReport, 'highest' | 'counts' | 'findings' | 'findingsLeftOut'> {
  const ranked = rankFindings(findings);
  const counts = Object.fromEntries(
    SEVERITIES.map((s) => [s, ranked.filter((f) => f.severity === s).length]),
  ) as Record<Severity, number>;
  return {
    highest: ranked[0]?.severity ?? 'none',
    counts,
    findings: ranked.slice(0, MAX_FINDINGS),
    findingsLeftOut: Math.max(0, ranked.length - MAX_FINDINGS),
  };
}

/** One line for the progress step and logs: `2 critical, 1 high, 0 medium, 3 low`. */
export const countsLine = (counts: Record<Severity, number>) => SEVERITIES.map((s) => `${counts[s]} ${s}`).join(', ');
