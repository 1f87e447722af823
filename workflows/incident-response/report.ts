// The incident's Markdown timeline (deterministic: built from the workflow's own records). Names,
// times, fingerprints and hashes only: never a secret value.
import type {
  BlastRadius,
  ContainmentRecord,
  EvidenceSummary,
  IncidentOptions,
  IntegrityReport,
  TimelineEntry,
} from '../../contract/types/incident.ts';

export interface ReportParts {
  incidentId: string;
  workflowId: string;
  opts: IncidentOptions;
  outcome: string;
  evidence: EvidenceSummary;
  blastRadius: BlastRadius;
  containment: ContainmentRecord[];
  integrity?: IntegrityReport;
  timeline: TimelineEntry[];
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderIncidentMarkdown(p: ReportParts): string {
  const { opts, evidence, blastRadius: b } = p;
  const lines = [
    `# Incident ${p.incidentId}`,
    '',
    `- **Severity**: ${opts.severity}`,
    `- **Summary**: ${cell(opts.summary)}`,
    `- **Outcome**: ${p.outcome}`,
    `- **Scope**: namespace ${opts.scope.namespace}${opts.scope.podSelector ? `, pods ${opts.scope.podSelector}` : ''}${opts.scope.nodes.length ? `, nodes ${opts.scope.nodes.join(', ')}` : ''}`,
    `- **Workflow**: ${p.workflowId}`,
    `- **Evidence**: ${evidence.dir} (manifest.json sha256 ${evidence.manifestSha256}${evidence.reused ? ', reused from an earlier run' : ''})`,
    '',
    '## Timeline',
    '',
    '| time | phase | action | result | by |',
    '|---|---|---|---|---|',
    ...p.timeline.map((t) => `| ${t.at} | ${t.phase} | ${cell(t.action)} | ${cell(t.result)} | ${cell(t.by ?? '')} |`),
    '',
    '## Evidence files',
    '',
    '| file | content | objects | sha256 | encrypted |',
    '|---|---|---|---|---|',
    ...evidence.files.map(
      (f) => `| ${f.file} | ${cell(f.what)} | ${f.count} | ${f.sha256} | ${f.encrypted ? 'age' : 'no'} |`,
    ),
    '',
    `Logs: ${evidence.logs.current} current, ${evidence.logs.previous} previous, ${evidence.logs.errors} not available.`,
    '',
    '## Blast radius',
    '',
    `- Pods: ${b.pods.length} (${b.pods.map((x) => x.name).join(', ') || 'none'})`,
    `- Jobs running: ${b.jobs.map((j) => j.name).join(', ') || 'none'}`,
    `- TaskRuns unfinished: ${b.taskRuns.map((t) => `${t.name} (${t.phase})`).join(', ') || 'none'}`,
    `- Secrets referenced: ${b.secrets.join(', ') || 'none'}`,
    `- Nodes: ${b.nodes.join(', ') || 'none'}`,
    `- Restarts: ${b.restarts.map((r) => `${r.pod}/${r.container} ${r.restarts}`).join(', ') || 'none'}`,
    `- Failure events: ${b.failureEvents.length}${
      b.failureEvents.length
        ? `: ${b.failureEvents
            .slice(0, 20)
            .map((e) => `${e.object} ${e.reason}`)
            .join('; ')}`
        : ''
    }`,
    ...(b.truncated.length ? [`- Truncated: ${b.truncated.join('; ')}`] : []),
    '',
    '## Containment and compensation',
    '',
  ];
  if (!p.containment.length) lines.push('Nothing was contained.');
  else {
    lines.push('| contained at | action | compensation | compensated |', '|---|---|---|---|');
    for (const c of p.containment)
      lines.push(
        `| ${c.at} | ${cell(describeAction(c))} | ${cell(c.compensation)} | ${c.compensated ? `${c.compensated.at}: ${cell(c.compensated.result)}` : 'no'} |`,
      );
  }
  if (p.integrity) {
    const i = p.integrity;
    lines.push(
      '',
      '## Integrity',
      '',
      `- **Verdict**: ${i.ok ? 'ok' : 'NOT OK'}`,
      `- Images: ${
        i.images
          .filter((x) => !x.ok)
          .map((x) => `${x.pod}/${x.container} runs ${x.running}`)
          .join('; ') || `${i.images.length} containers match the release`
      }`,
      `- RBAC: ${i.rbac.ok ? 'as the chart grants' : `extra ${i.rbac.extra.join(', ') || 'none'}; missing ${i.rbac.missing.join(', ') || 'none'}`}`,
      `- Unknown in scope: ${i.unknown.join('; ') || 'none'}`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

export function describeAction(c: ContainmentRecord): string {
  const a = c.action;
  switch (a.kind) {
    case 'scale':
      return a.found
        ? `scaled Deployment ${a.deployment} from ${a.replicas} to 0`
        : `Deployment ${a.deployment} not found`;
    case 'blank-secret':
      return `blanked ${
        a.keys
          .filter((k) => k.present)
          .map((k) => `${a.secret}/${k.key} (was ${k.fingerprint})`)
          .join(', ') || `nothing in ${a.secret} (keys absent)`
      }`;
    case 'network-policy':
      return `applied default-deny NetworkPolicy ${a.name}`;
    case 'cordon':
      return a.cordonedByUs ? `cordoned node ${a.node}` : `node ${a.node} was already cordoned`;
    case 'suspend-controller':
      return a.suspended ? `suspended ${a.workflowId} (${a.detail})` : `TaskRun controller not suspended: ${a.detail}`;
  }
}
