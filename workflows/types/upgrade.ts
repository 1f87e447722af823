// upgradePlatform: input schema, the operator's decision, and the report.
import { z } from 'zod';
import { httpUrl, k8sName } from './common.ts';
import { chartSchema, DEFAULT_CHART } from './deploy.ts';

export const upgradePlatformInputSchema = z
  .object({
    namespace: k8sName.default('orchestrator'),
    release: k8sName.default('orchestrator'),
    chart: chartSchema.default(DEFAULT_CHART),
    /** New orchestrator image tag (sets values image.tag). */
    imageTag: z.string().regex(/^[\w][\w.-]{0,127}$/, 'must be a valid image tag').optional(),
    /** Values merged over the release's current values. */
    values: z.record(z.string(), z.unknown()).default({}),
    valuesFiles: z.array(z.string().min(1)).default([]),
    /** What to do when the rollout or the smoke test fails. */
    onFailure: z.enum(['pause', 'rollback']).default('pause'),
    /** How long a paused upgrade waits for an operator's decision before it rolls back. */
    decisionTimeoutSeconds: z.number().int().min(1).default(24 * 3600),
    smokeTest: z
      .object({
        skip: z.boolean().default(false),
        /** Probe this URL instead of /health through the API server's service proxy. */
        healthUrl: httpUrl.optional(),
      })
      .strict()
      .default({ skip: false }),
    timeouts: z.object({ rolloutSeconds: z.number().int().min(1).max(7200).default(300) }).strict().default({ rolloutSeconds: 300 }),
  })
  .strict();

export type UpgradePlatformInput = z.input<typeof upgradePlatformInputSchema>;
export type UpgradePlatformOptions = z.output<typeof upgradePlatformInputSchema>;

export const DECISION_ACTIONS = ['retry', 'rollback', 'abort'] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];

/** The operator's decision on a paused upgrade (Workflow Update `decide`). */
export interface Decision {
  action: DecisionAction;
  /** Who decided (shown in the report). */
  by: string;
  reason?: string;
}

export interface RevisionRecord {
  revision: number;
  action: 'upgrade' | 'rollback' | 'recover';
  detail: string;
}

export type UpgradePhase = 'running' | 'paused' | 'rolling-back' | 'succeeded' | 'rolled-back' | 'aborted';

export interface UpgradeState {
  phase: UpgradePhase;
  /** Why it paused or rolled back. */
  failure?: string;
  /** ISO time when a paused upgrade rolls back on its own. */
  decisionDeadline?: string;
  decisions: (Decision & { at: string })[];
}

export interface UpgradeReport {
  runbook: 'upgradePlatform';
  outcome: 'succeeded' | 'rolled-back' | 'aborted';
  release: string;
  namespace: string;
  /** The revision before the upgrade: what a rollback returns to. */
  previous: { revision: number; chart: string; status: string };
  /** Stuck release found and recovered in pre-flight, if any. */
  recovery?: { previousStatus: string | null; action: string; revision?: number };
  target: { imageTag?: string; digest?: string };
  /** Every revision this runbook created, in order. */
  revisions: RevisionRecord[];
  failures: string[];
  decisions: (Decision & { at: string })[];
  final: { revision: number; status: string };
}
