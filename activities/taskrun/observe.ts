// A TaskRun as the controller reads it: the parts of the API server's object (a list item or a
// watch event) it acts on, validated field by field (a field of an unexpected type is left out).
import { z } from 'zod';
import {
  RESTORE_PENDING_ANNOTATION,
  RESTORED_FROM_ANNOTATION,
  TASKRUN_PHASES,
  type ObservedTaskRun,
} from '../../contract/types/taskrun.ts';

const optionalString = z.string().optional().catch(undefined);
const time = z
  .string()
  .optional()
  .catch(undefined)
  .transform((t) => (t ? new Date(t).toISOString() : undefined));
const quantities = z.record(z.string(), z.union([z.string(), z.number()]));

/**
 * A TaskRun as the API server returns it (lists and watch events), the parts the controller reads.
 * The CRD validates what is stored: a field of another type than expected is left out, not trusted.
 */
export const rawTaskRunSchema = z.object({
  metadata: z.object({
    name: z.string(),
    uid: z.string(),
    generation: z.number().int().optional().catch(undefined),
    creationTimestamp: time,
    annotations: z.record(z.string(), z.string()).optional().catch(undefined),
  }),
  spec: z
    .object({
      service: z.string().catch(''),
      taskId: z.string().catch(''),
      prompt: optionalString,
      promptRef: z
        .object({ name: z.string(), key: z.string(), optional: z.boolean().optional() })
        .optional()
        .catch(undefined),
      agentImage: optionalString,
      resources: z
        .object({ requests: quantities.optional(), limits: quantities.optional() })
        .optional()
        .catch(undefined),
      workspaceClaim: optionalString,
    })
    .prefault({ service: '', taskId: '' }),
  status: z
    .object({
      phase: z.enum(TASKRUN_PHASES).optional().catch(undefined),
      jobName: optionalString,
      startTime: time,
      completionTime: time,
      message: optionalString,
      observedGeneration: z.number().int().optional().catch(undefined),
    })
    .nullish()
    .catch(undefined),
});
export type RawTaskRun = z.input<typeof rawTaskRunSchema>;

/** Drops the fields that are absent (undefined or empty), as the reconciler's JSON expects. */
function present<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

export function observeTaskRun(raw: unknown): ObservedTaskRun {
  const { metadata, spec, status } = rawTaskRunSchema.parse(raw);
  const { service, taskId, prompt, ...rest } = spec;
  const observed = present({ ...status });
  return {
    name: metadata.name,
    uid: metadata.uid,
    generation: metadata.generation ?? 1,
    ...(metadata.creationTimestamp ? { creationTimestamp: metadata.creationTimestamp } : {}),
    spec: { service, taskId, ...(prompt !== undefined ? { prompt } : {}), ...present(rest) },
    ...(Object.keys(observed).length ? { status: observed } : {}),
    ...(beingRestored(metadata.annotations, observed.phase) ? { restorePending: true as const } : {}),
  };
}

/** The restore is still writing it: marked for an update, or created from a backup and its phase not written yet. */
const beingRestored = (annotations: Record<string, string> | undefined, phase: string | undefined) =>
  annotations?.[RESTORE_PENDING_ANNOTATION] !== undefined ||
  (annotations?.[RESTORED_FROM_ANNOTATION] !== undefined && phase === undefined);
