// References to secret values. Workflows carry only these; activities resolve them.
import { z } from 'zod';
import { k8sName } from './common.ts';

const envVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');
const secretKey = z
  .string()
  .regex(/^[-._a-zA-Z0-9]+$/, 'must be a valid Secret key')
  .max(253);

/** Where a secret value comes from: an environment variable of the worker, or a key of an existing Secret. */
export const secretSourceSchema = z.union(
  [
    z.object({ env: envVarName }).strict(),
    z.object({ secret: z.object({ name: k8sName, key: secretKey, namespace: k8sName.optional() }).strict() }).strict(),
  ],
  { error: 'must be {"env": "VAR"} or {"secret": {"name": ..., "key": ...}}' },
);

export type SecretSource = z.infer<typeof secretSourceSchema>;

/** One key of a target Secret and the source of its value. */
export const secretKeyRefSchema = z.object({ key: secretKey, from: secretSourceSchema }).strict();
export type SecretKeyRef = z.infer<typeof secretKeyRefSchema>;

export const secretRefKey = secretKey;
