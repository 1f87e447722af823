// Read-only views of a release: status (from `helm get metadata`, which also carries the release labels),
// history and user-supplied values. All JSON (`-o json`).
import { ApplicationFailure } from '@temporalio/common';
import type { HelmDeps } from './deps.ts';
import { DIGEST_LABEL, DIGEST_REVISION_LABEL } from './digest.ts';
import { invalidHelmRequest } from './errors.ts';
import { parseJson, runHelm } from './run.ts';

/** helm's release statuses. */
export type HelmReleaseStatus =
  | 'unknown'
  | 'deployed'
  | 'uninstalled'
  | 'superseded'
  | 'failed'
  | 'uninstalling'
  | 'pending-install'
  | 'pending-upgrade'
  | 'pending-rollback';

export const PENDING_STATUSES: readonly HelmReleaseStatus[] = [
  'pending-install',
  'pending-upgrade',
  'pending-rollback',
];

export interface HelmReleaseRef {
  release: string;
  namespace: string;
}

export interface HelmReleaseStatusInfo {
  name: string;
  namespace: string;
  /** The latest revision (whatever its status). */
  revision: number;
  status: HelmReleaseStatus;
  /** Chart name, e.g. "orchestrator". */
  chart: string;
  chartVersion: string;
  appVersion: string;
  /** When the latest revision was deployed (for a pending revision: when its operation started), ISO 8601. */
  updated: string;
  /** The chart+values digest helmUpgradeInstall stored on the release (label platform-runbooks/digest). */
  digest?: string;
  /** The revision the digest was written for (a later hand-made `helm upgrade` carries old labels along). */
  digestRevision?: number;
}

export interface HelmRevision {
  revision: number;
  status: HelmReleaseStatus;
  /** "<chart>-<version>", as helm history shows it. */
  chart: string;
  appVersion: string;
  updated: string;
  /** e.g. "Install complete", "Upgrade complete", "Rollback to 2", `Upgrade "x" failed: ...`. */
  description: string;
  /** For a rollback revision: the revision it rolled back to. */
  rollbackRevision?: number;
}

interface MetadataJson {
  name: string;
  namespace: string;
  chart: string;
  version: string;
  appVersion?: string;
  labels?: Record<string, string>;
  revision: number;
  status: HelmReleaseStatus;
  deployedAt?: string;
}

interface HistoryJson {
  revision: number;
  updated: string;
  status: HelmReleaseStatus;
  chart: string;
  app_version?: string;
  description?: string;
  rollback_revision?: number;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Release and namespace names are checked before they reach helm's command line. */
export function checkRef(ref: HelmReleaseRef): void {
  const problems: string[] = [];
  if (typeof ref?.release !== 'string' || ref.release.length > 53 || !DNS_LABEL.test(ref.release)) {
    problems.push(
      `release: ${JSON.stringify(ref?.release)} is not a valid release name (lowercase letters, digits and '-', at most 53)`,
    );
  }
  if (typeof ref?.namespace !== 'string' || ref.namespace.length > 63 || !DNS_LABEL.test(ref.namespace)) {
    problems.push(`namespace: ${JSON.stringify(ref?.namespace)} is not a valid namespace name`);
  }
  if (problems.length) throw invalidHelmRequest(problems.join('; '));
}

export const describeRef = (ref: HelmReleaseRef) => `${ref.namespace}/${ref.release}`;

export function isReleaseNotFound(err: unknown): boolean {
  return err instanceof ApplicationFailure && /release: not found/.test(err.message);
}

/** The latest revision's metadata and labels; null when the release does not exist. */
export async function readMetadata(
  deps: HelmDeps,
  ref: HelmReleaseRef,
  revision?: number,
): Promise<MetadataJson | null> {
  checkRef(ref);
  const args = [
    'get',
    'metadata',
    ref.release,
    '-n',
    ref.namespace,
    '-o',
    'json',
    ...(revision ? ['--revision', String(revision)] : []),
  ];
  try {
    const { stdout } = await runHelm(deps, args, {
      what: `read release ${describeRef(ref)}`,
      releaseMayBeMissing: true,
    });
    return parseJson<MetadataJson>(stdout, `read release ${describeRef(ref)}`);
  } catch (err) {
    if (isReleaseNotFound(err)) return null;
    throw err;
  }
}

export function toStatusInfo(m: MetadataJson): HelmReleaseStatusInfo {
  const digest = m.labels?.[DIGEST_LABEL];
  const digestRevision = Number(m.labels?.[DIGEST_REVISION_LABEL]);
  return {
    name: m.name,
    namespace: m.namespace,
    revision: m.revision,
    status: m.status,
    chart: m.chart,
    chartVersion: m.version,
    appVersion: m.appVersion ?? '',
    updated: m.deployedAt ?? '',
    ...(digest ? { digest } : {}),
    ...(Number.isInteger(digestRevision) && digestRevision > 0 ? { digestRevision } : {}),
  };
}

/** The release's latest revision; null when the release does not exist. */
export async function helmStatus(deps: HelmDeps, ref: HelmReleaseRef): Promise<HelmReleaseStatusInfo | null> {
  const m = await readMetadata(deps, ref);
  return m ? toStatusInfo(m) : null;
}

/** Every stored revision, oldest first (helm keeps --history-max, default 10); [] when the release does not exist. */
export async function helmHistory(deps: HelmDeps, ref: HelmReleaseRef): Promise<HelmRevision[]> {
  checkRef(ref);
  try {
    const { stdout } = await runHelm(
      deps,
      ['history', ref.release, '-n', ref.namespace, '-o', 'json', '--max', '1000'],
      { what: `read history of ${describeRef(ref)}`, releaseMayBeMissing: true },
    );
    return parseJson<HistoryJson[]>(stdout, `read history of ${describeRef(ref)}`)
      .map((h) => ({
        revision: h.revision,
        status: h.status,
        chart: h.chart,
        appVersion: h.app_version ?? '',
        updated: h.updated,
        description: h.description ?? '',
        ...(h.rollback_revision ? { rollbackRevision: h.rollback_revision } : {}),
      }))
      .sort((a, b) => a.revision - b.revision);
  } catch (err) {
    if (isReleaseNotFound(err)) return [];
    throw err;
  }
}

/** The user-supplied values of the latest (or the given) revision; {} when there were none. */
export async function helmGetValues(
  deps: HelmDeps,
  req: HelmReleaseRef & { revision?: number },
): Promise<Record<string, unknown>> {
  checkRef(req);
  if (req.revision !== undefined && !(Number.isInteger(req.revision) && req.revision > 0))
    throw invalidHelmRequest(`revision: ${JSON.stringify(req.revision)} is not a revision number`);
  const what = `read values of ${describeRef(req)}${req.revision ? ` revision ${req.revision}` : ''}`;
  try {
    const { stdout } = await runHelm(
      deps,
      [
        'get',
        'values',
        req.release,
        '-n',
        req.namespace,
        '-o',
        'json',
        ...(req.revision ? ['--revision', String(req.revision)] : []),
      ],
      { what },
    );
    return parseJson<Record<string, unknown> | null>(stdout, what) ?? {};
  } catch (err) {
    if (isReleaseNotFound(err))
      throw invalidHelmRequest(`${what}: release${req.revision ? ' revision' : ''} not found`);
    throw err;
  }
}
