// Schema pieces shared by several runbooks' inputs.
import { z } from 'zod';

/** A Kubernetes object name or namespace (RFC 1123 label). */
export const k8sName = z
  .string()
  .max(63, 'must be at most 63 characters')
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a lowercase RFC 1123 label (a-z, 0-9, -)');

/** Cloud metadata endpoints: never a probe's target, whatever the worker's configuration says. */
export const METADATA_ADDRESSES = ['169.254.169.254', '169.254.170.2', '100.100.100.200', 'fd00:ec2::254'];
export const METADATA_HOSTS = [
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'metadata.azure.internal',
  'instance-data',
  'instance-data.ec2.internal',
];

/** A URL's host as written: lowercase, without IPv6 brackets or a trailing dot. */
const urlHost = (url: string) =>
  URL.canParse(url)
    ? new URL(url).hostname
        .replace(/^\[|\]$/g, '')
        .replace(/\.$/, '')
        .toLowerCase()
    : '';

/**
 * An http(s) URL, used for probe overrides. A metadata host or address written in it is refused at
 * validation, before anything runs; the probe checks every resolved address again (activities/health-probe.ts).
 */
export const httpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
  // zod runs the refinement also after .url() failed: urlHost must not throw on a non-URL.
  .refine(
    (url) => ![...METADATA_HOSTS, ...METADATA_ADDRESSES].includes(urlHost(url)),
    'must not be a cloud metadata endpoint',
  );
