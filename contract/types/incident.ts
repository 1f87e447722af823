// incidentResponse: the guide's "Security Incident Checklist" and "Emergency Procedures" as one
// runbook: input schema, the approve/recover/decide updates, the state query and the report.
import { z } from 'zod';
import { k8sName } from './common.ts';
import { secretRefKey, secretSourceSchema } from './secret-ref.ts';

const incidentIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$/, 'must be letters, digits, ".", "_" or "-" (at most 120)');
const ageRecipient = z.string().regex(/^age1[0-9a-z]{20,}$/, 'must be an age public key (age1...)');
const labelSelector = z
  .string()
  .min(1)
  .max(500)
  .regex(/^[A-Za-z0-9_./!=,()\s-]+$/, 'must be a label selector');

export const incidentInputSchema = z
  .object({
    /** Default: the workflow id. Names the evidence directory (one per incident; a re-run reuses it). */
    incidentId: incidentIdSchema.optional(),
    severity: z.enum(['critical', 'high', 'medium', 'low']),
    summary: z.string().min(1).max(2000),
    scope: z
      .object({
        namespace: k8sName.default('orchestrator'),
        /** Only these pods (label selector); default every pod of the namespace. */
        podSelector: labelSelector.optional(),
        /** Nodes in scope (cordoned by containment); default none. */
        nodes: z.array(k8sName).max(100).default([]),
      })
      .strict()
      .default({ namespace: 'orchestrator', nodes: [] }),
    /** age public keys the sensitive evidence is encrypted to. */
    recipients: z.array(ageRecipient).default([]),
    /** More recipients, one per line, from a ConfigMap key (default namespace: scope.namespace). */
    recipientsFrom: z
      .object({
        configMap: z.object({ name: k8sName, key: z.string().min(1).max(253), namespace: k8sName.optional() }).strict(),
      })
      .strict()
      .optional(),
    approvals: z
      .object({
        containment: z.enum(['required', 'auto']).default('required'),
        /** Without an `approve` by then, nothing is contained (the report says so); absent: wait as long as it takes. */
        deadlineSeconds: z
          .number()
          .int()
          .min(1)
          .max(30 * 86_400)
          .optional(),
      })
      .strict()
      .default({ containment: 'required' }),
    /** What containment does (each recorded with its compensation). */
    containment: z
      .object({
        /** Scaled to zero (its replicas recorded). */
        deployment: k8sName.default('orchestrator'),
        /** Keys blanked (their sha256 fingerprints recorded, never the values). */
        secrets: z
          .array(z.object({ name: k8sName, keys: z.array(secretRefKey).min(1).max(50) }).strict())
          .max(20)
          .default([]),
        networkPolicy: z.boolean().default(true),
        /** Suspend the TaskRun controller of scope.namespace (no new Jobs while contained). */
        suspendController: z.boolean().default(true),
      })
      .strict()
      .default({ deployment: 'orchestrator', secrets: [], networkPolicy: true, suspendController: true }),
    /** The Helm release and service account of the platform (evidence, integrity). */
    release: k8sName.default('orchestrator'),
    serviceAccount: k8sName.default('orchestrator'),
    /** A failed recovery step waits this long for `decide` (then: abort, leaving the rest contained). */
    decisionTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(30 * 86_400)
      .default(86_400),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (!v.recipients.length && !v.recipientsFrom)
      ctx.addIssue({
        code: 'custom',
        path: ['recipients'],
        message: 'give recipients or recipientsFrom: the sensitive evidence is never written in plain text',
      });
  });

export type IncidentInput = z.input<typeof incidentInputSchema>;
export type IncidentOptions = z.output<typeof incidentInputSchema>;

export const approvalSchema = z
  .object({
    phase: z.literal('containment'),
    by: z.string().min(1).max(200),
    reason: z.string().min(1).max(2000),
  })
  .strict();
export type Approval = z.infer<typeof approvalSchema>;

export const recoverSchema = z
  .object({
    by: z.string().min(1).max(200),
    reason: z.string().min(1).max(2000),
    options: z
      .object({
        /** New values for the blanked keys, by reference (as rotateSecret): one for every blanked key. */
        credentials: z
          .array(z.object({ secret: k8sName, key: secretRefKey, from: secretSourceSchema }).strict())
          .max(100)
          .default([]),
        /** Restore this backup (restorePlatform as a child, after the lease is released; the backup is verified before any write). */
        restoreBackupId: z
          .string()
          .regex(/^[A-Za-z0-9._-]{1,200}$/, 'must be a backup id')
          .optional(),
      })
      .strict()
      .default({ credentials: [] }),
  })
  .strict();
export type RecoverRequest = z.input<typeof recoverSchema>;

export const incidentDecisionSchema = z
  .object({
    action: z.enum(['retry', 'skip', 'abort']),
    by: z.string().min(1).max(200),
    reason: z.string().max(2000).optional(),
  })
  .strict();
export type IncidentDecision = z.infer<typeof incidentDecisionSchema>;

/** One containment action as recorded: what was done and what undoes it. */
export type ContainmentAction =
  | { kind: 'scale'; deployment: string; replicas: number; found: boolean }
  | { kind: 'blank-secret'; secret: string; keys: { key: string; fingerprint: string; present: boolean }[] }
  | { kind: 'network-policy'; name: string }
  | { kind: 'cordon'; node: string; cordonedByUs: boolean }
  | { kind: 'suspend-controller'; workflowId: string; suspended: boolean; detail: string };

export interface ContainmentRecord {
  action: ContainmentAction;
  at: string;
  /** What recovery does to undo it. */
  compensation: string;
  compensated?: { at: string; result: string };
}

export interface TimelineEntry {
  at: string;
  phase: 'open' | 'evidence' | 'assess' | 'approval' | 'contain' | 'recover' | 'verify' | 'report';
  action: string;
  result: string;
  by?: string;
}

export type IncidentPhase =
  | 'preserving-evidence'
  | 'assessing'
  | 'awaiting-approval'
  | 'containing'
  | 'contained'
  | 'recovering'
  | 'paused'
  | 'verifying'
  | 'not-contained'
  | 'recovered'
  | 'aborted';

export interface IncidentState {
  incidentId: string;
  phase: IncidentPhase;
  approval?: Approval & { at: string };
  approvalDeadline?: string;
  containment: ContainmentRecord[];
  /** The blanked keys a `recover` must give new values for (secret/key). */
  blankedKeys: string[];
  recover?: { by: string; reason: string; at: string };
  failure?: string;
  decisionDeadline?: string;
  decisions: (IncidentDecision & { at: string })[];
}

export interface EvidenceFile {
  file: string;
  what: string;
  count: number;
  size: number;
  sha256: string;
  encrypted: boolean;
}

export interface EvidenceSummary {
  dir: string;
  reused: boolean;
  files: EvidenceFile[];
  /** sha256 of manifest.json as written (the report names it). */
  manifestSha256: string;
  pods: number;
  /** Containers whose current (and previous) logs were read. */
  logs: { current: number; previous: number; errors: number };
}

export interface BlastRadius {
  namespace: string;
  pods: { name: string; node?: string; phase?: string; restarts: number; images: string[] }[];
  jobs: { name: string; active: number }[];
  taskRuns: { name: string; phase: string }[];
  /** Secrets the pods in scope mount or reference (env, envFrom, volumes, imagePullSecrets). */
  secrets: string[];
  nodes: string[];
  restarts: { pod: string; container: string; restarts: number }[];
  failureEvents: { object: string; reason: string; message: string; count: number; last?: string }[];
  /** Lists are capped; this says which were cut. */
  truncated: string[];
}

export interface IntegrityReport {
  ok: boolean;
  /** Containers whose image differs from what the release declares. */
  images: { pod: string; container: string; running: string; declared: string[]; ok: boolean }[];
  /** The service account's bindings vs the chart's. */
  rbac: { ok: boolean; extra: string[]; missing: string[] };
  /** Pods and bindings in scope no known owner created. */
  unknown: string[];
}

export interface IncidentReport {
  runbook: 'incidentResponse';
  incidentId: string;
  severity: IncidentOptions['severity'];
  outcome: 'recovered' | 'not-contained' | 'aborted';
  evidence: EvidenceSummary;
  blastRadius: BlastRadius;
  approval?: Approval & { at: string };
  containment: ContainmentRecord[];
  integrity?: IntegrityReport;
  restore?: { backupId: string; workflowId: string; outcome: string };
  timeline: TimelineEntry[];
  /** The Markdown timeline, also written as report.md next to the evidence. */
  markdown: string;
  reportFile: string;
}

/** The NetworkPolicy containment applies (and recovery deletes). */
export const incidentPolicyName = (incidentId: string) =>
  `incident-deny-all-${incidentId.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`.slice(0, 63).replace(/-+$/, '');
export const INCIDENT_LABEL = 'platform-runbooks.io/incident';
/** The incident id as a label value (at most 63 characters, alphanumeric at both ends). */
export const incidentLabelValue = (incidentId: string) => incidentId.slice(0, 63).replace(/[^A-Za-z0-9]+$/, '');
