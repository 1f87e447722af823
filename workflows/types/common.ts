// Schema pieces shared by several runbooks' inputs.
import { z } from 'zod';

/** A Kubernetes object name or namespace (RFC 1123 label). */
export const k8sName = z
  .string()
  .max(63, 'must be at most 63 characters')
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a lowercase RFC 1123 label (a-z, 0-9, -)');

/** An http(s) URL, used for probe overrides. */
export const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });
