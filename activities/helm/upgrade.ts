// helm upgrade --install, idempotent: the chart+values digest is stored on the release as labels (helm 4
// --labels: kept in the release Secret's labels, shown by `helm get metadata`), and a deployed release that
// already carries the digest is left alone (no helm run, no new revision).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { HelmDeps } from './deps.ts';
import { DEFAULT_FILE_ROOTS, resolveAllowedPath } from '../allowed-paths.ts';
import {
  chartArgs,
  DIGEST_LABEL,
  DIGEST_REVISION_LABEL,
  releaseDigest,
  resolveChart,
  type ChartSource,
} from './digest.ts';
import { invalidHelmRequest, releaseLocked } from './errors.ts';
import { mergeValues } from '../../contract/merge-values.ts';
import {
  checkRef,
  describeRef,
  helmGetValues,
  helmHistory,
  PENDING_STATUSES,
  readMetadata,
  type HelmReleaseRef,
  type HelmReleaseStatus,
} from './release.ts';
import { parseJson, runHelm } from './run.ts';

export interface HelmUpgradeRequest extends HelmReleaseRef, ChartSource {
  /** User-supplied values (merged over valuesFiles, like a last `-f`). No secret values: charts read Secrets by name. */
  values?: Record<string, unknown>;
  /** Values files (relative to the worker's workdir), in helm's order. */
  valuesFiles?: string[];
  /**
   * Merge `values` over the user-supplied values of this revision of the release (upgradePlatform's
   * "keep what is deployed, change the tag"). Read and merged here, so the release's values never
   * enter workflow history.
   */
  baseValuesRevision?: number;
  /** Wait until the release's resources are ready (`--wait=watcher`, kstatus). */
  wait: boolean;
  /** helm --timeout: the wait (and every hook) must finish within it. */
  timeoutSeconds: number;
  createNamespace?: boolean;
  /** Do not install the chart's crds/ (the runbook applies them itself, server-side, as their one owner). */
  skipCrds?: boolean;
  /** Render on the server (true or 'server': `--dry-run=server`) or client-side only ('client'); nothing is changed. */
  dryRun?: boolean | 'server' | 'client';
}

export interface HelmUpgradeResult {
  /** False when the deployed release already had this chart+values (helm was not run). For a dry run: would it change. */
  changed: boolean;
  /** The release's revision after the call (for a dry run: the current revision, 0 when not installed). */
  revision: number;
  /** The release's status after the call ('not-installed' only for a dry run of a new release). */
  status: HelmReleaseStatus | 'not-installed';
  /** sha256 of chart + values (56 hex digits), as stored in the release label platform-runbooks/digest. */
  digest: string;
  /** Set for dry runs. */
  dryRun?: 'server' | 'client';
  /** Dry runs: the objects the chart renders, "Kind/name" (manifests themselves never leave the activity). */
  objects?: string[];
}

interface ReleaseJson {
  version: number;
  info: { status: HelmReleaseStatus; description?: string };
  manifest?: string;
}

type Metadata = NonNullable<Awaited<ReturnType<typeof readMetadata>>>;

/**
 * True when the release's latest revision is deployed and was written (by us) with this digest. helm merges
 * the labels of the previous revision into an upgrade's, so a hand-made `helm upgrade` would carry our digest
 * along: the revision label says which revision the digest was written for. A rollback copies the labels of
 * the revision it returns to (and its content), so a chain of rollbacks back to that revision matches too.
 */
export async function deployedWithDigest(
  deps: HelmDeps,
  ref: HelmReleaseRef,
  current: Metadata,
  digest: string,
): Promise<boolean> {
  if (current.status !== 'deployed' || current.labels?.[DIGEST_LABEL] !== digest) return false;
  const writtenFor = Number(current.labels?.[DIGEST_REVISION_LABEL]);
  if (writtenFor === current.revision) return true;
  const history = await helmHistory(deps, ref);
  const seen = new Set<number>();
  for (
    let rev = history.find((h) => h.revision === current.revision);
    rev?.rollbackRevision && !seen.has(rev.revision);
  ) {
    seen.add(rev.revision);
    if (rev.rollbackRevision === writtenFor) return true;
    const target = rev.rollbackRevision;
    rev = history.find((h) => h.revision === target);
  }
  return false;
}

/** "Kind/name" of every object in a rendered manifest. */
export function manifestObjects(manifest: string): string[] {
  const objects: string[] = [];
  for (const doc of parseAllDocuments(manifest)) {
    const obj = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
    if (obj?.kind && obj.metadata?.name) objects.push(`${obj.kind}/${obj.metadata.name}`);
  }
  return objects;
}

function checkRequest(req: HelmUpgradeRequest): void {
  checkRef(req);
  const problems: string[] = [];
  if (typeof req.chart !== 'string' || req.chart === '' || req.chart.startsWith('-'))
    problems.push('chart: a chart path, oci:// reference or chart name is required');
  if (!Number.isInteger(req.timeoutSeconds) || req.timeoutSeconds <= 0)
    problems.push('timeoutSeconds: a positive whole number of seconds is required');
  if (req.values !== undefined && (typeof req.values !== 'object' || req.values === null || Array.isArray(req.values)))
    problems.push('values: must be an object');
  if (
    req.valuesFiles !== undefined &&
    (!Array.isArray(req.valuesFiles) || req.valuesFiles.some((f) => typeof f !== 'string' || f === ''))
  )
    problems.push('valuesFiles: must be a list of paths');
  if (req.dryRun !== undefined && ![true, false, 'server', 'client'].includes(req.dryRun))
    problems.push("dryRun: must be true, false, 'server' or 'client'");
  if (problems.length) throw invalidHelmRequest(`helmUpgradeInstall ${describeRef(req)}: ${problems.join('; ')}`);
}

export async function helmUpgradeInstall(deps: HelmDeps, req: HelmUpgradeRequest): Promise<HelmUpgradeResult> {
  checkRequest(req);
  const workdir = deps.workdir ?? process.cwd();
  const roots = deps.fileRoots ?? DEFAULT_FILE_ROOTS;
  const allowed = (field: string, path: string) => {
    const r = resolveAllowedPath(path, workdir, roots);
    if ('refused' in r) throw invalidHelmRequest(`helmUpgradeInstall ${describeRef(req)}: ${field}: ${r.refused}`);
    return r.path;
  };
  if (req.repo === undefined && !req.chart.startsWith('oci://')) allowed('chart', req.chart);
  const chart = await resolveChart(req, workdir);
  const values =
    req.baseValuesRevision === undefined
      ? (req.values ?? {})
      : mergeValues(
          await helmGetValues(deps, {
            release: req.release,
            namespace: req.namespace,
            revision: req.baseValuesRevision,
          }),
          req.values ?? {},
        );
  const valuesFiles = (req.valuesFiles ?? []).map((f, i) => allowed(`valuesFiles[${i}]`, f));
  const digest = await releaseDigest({ chart, values, valuesFiles });
  const dryRun = req.dryRun === true ? 'server' : req.dryRun || undefined;

  const current = await readMetadata(deps, req);
  if (current && PENDING_STATUSES.includes(current.status)) {
    throw releaseLocked(
      `release ${describeRef(req)} is ${current.status} (revision ${current.revision}): another operation (install/upgrade/rollback) is in progress or was interrupted; recoverStuckRelease unlocks it`,
      { status: current.status, revision: current.revision },
    );
  }
  const unchanged = current ? await deployedWithDigest(deps, req, current, digest) : false;
  if (unchanged && !dryRun) {
    deps.logger.info(
      { release: describeRef(req), revision: current!.revision, digest },
      'helm upgrade skipped: release already has this chart and values',
    );
    return { changed: false, revision: current!.revision, status: 'deployed', digest };
  }

  const nextRevision = (current?.revision ?? 0) + 1;
  const dir = await mkdtemp(join(tmpdir(), 'runbooks-helm-values-'));
  try {
    const valuesFile = join(dir, 'values.json');
    await writeFile(valuesFile, JSON.stringify(values), { mode: 0o600 });
    const args = [
      'upgrade',
      '--install',
      req.release,
      ...chartArgs(chart),
      '-n',
      req.namespace,
      ...valuesFiles.flatMap((f) => ['-f', f]),
      '-f',
      valuesFile,
      '--timeout',
      `${req.timeoutSeconds}s`,
      '-o',
      'json',
      ...(req.wait ? ['--wait=watcher'] : []),
      ...(req.createNamespace ? ['--create-namespace'] : []),
      ...(req.skipCrds ? ['--skip-crds'] : []),
      ...(dryRun
        ? [`--dry-run=${dryRun}`]
        : ['--labels', `${DIGEST_LABEL}=${digest},${DIGEST_REVISION_LABEL}=${nextRevision}`]),
    ];
    const what = `${dryRun ? `dry run (${dryRun}) of ` : ''}helm upgrade --install ${describeRef(req)}`;
    const { stdout, durationMs } = await runHelm(deps, args, { what, timeoutMs: req.timeoutSeconds * 1000 + 60_000 });
    const release = parseJson<ReleaseJson>(stdout, what);
    if (dryRun) {
      return {
        changed: !unchanged,
        revision: current?.revision ?? 0,
        status: current?.status ?? 'not-installed',
        digest,
        dryRun,
        objects: manifestObjects(release.manifest ?? ''),
      };
    }
    deps.logger.info(
      { release: describeRef(req), revision: release.version, status: release.info.status, durationMs, digest },
      'helm upgrade --install done',
    );
    return { changed: true, revision: release.version, status: release.info.status, digest };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
