// rotateSecret: input schema and report.
import { z } from 'zod';
import { httpUrl, k8sName } from './common.ts';
import { secretRefKey, secretSourceSchema } from './secret-ref.ts';
import type { HealthCheckReport } from './platform-health.ts';

export const rotateSecretInputSchema = z
  .object({
    namespace: k8sName.default('orchestrator'),
    /** The Secret whose key is rotated. */
    secret: k8sName.default('orchestrator-secrets'),
    key: secretRefKey,
    /** Where the new value comes from (never the value itself). */
    from: secretSourceSchema,
    /** Deployments restarted to pick up the new value. */
    restart: z.array(k8sName).default(['orchestrator']),
    rolloutTimeoutSeconds: z.number().int().min(1).max(7200).default(300),
    healthUrl: httpUrl.optional(),
    /** Service probed for /health through the API server (when no healthUrl). */
    healthService: k8sName.default('orchestrator'),
    skipHealthCheck: z.boolean().default(false),
  })
  .strict();

export type RotateSecretInput = z.input<typeof rotateSecretInputSchema>;

export interface RotateSecretReport {
  runbook: 'rotateSecret';
  secret: string;
  namespace: string;
  key: string;
  /** sha256 prefix of the new value: shows that it changed, reveals nothing. */
  fingerprint: string;
  changed: boolean;
  restarted: { deployment: string; changed: boolean | 'dry-run' }[];
  rollout: { deployment: string; ready: number; replicas: number }[];
  /** The health step's verdict (judgeHealthProbe): ok, which probe answered, the version it reported. */
  health?: HealthCheckReport;
}
