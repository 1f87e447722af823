// The digest of what an upgrade would deploy: chart + values. helmUpgradeInstall stores it on the release
// (helm --labels, kept in the release Secret's labels) and skips helm when the deployed release carries it.
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { invalidHelmRequest } from './errors.ts';

/** Release labels written by helmUpgradeInstall. */
export const DIGEST_LABEL = 'platform-runbooks/digest';
/** The revision the digest was written for: a later `helm upgrade` by hand keeps (merges) old labels. */
export const DIGEST_REVISION_LABEL = 'platform-runbooks/revision';
/** sha256 hex, cut to fit a label value (at most 63 characters): 56 hex digits = 224 bits. */
export const DIGEST_LENGTH = 56;

export interface ChartSource {
  /** A local chart directory or .tgz (relative to `workdir`), an oci:// reference, or a chart name in `repo`. */
  chart: string;
  /** Required for repository and OCI charts (the digest can only trust a pinned version). */
  chartVersion?: string;
  /** Chart repository URL (helm --repo). */
  repo?: string;
}

export type ResolvedChart =
  | { kind: 'directory' | 'archive'; path: string }
  | { kind: 'oci'; ref: string; version: string }
  | { kind: 'repo'; repo: string; name: string; version: string };

const EXACT_VERSION = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

/** Where the chart comes from; local paths are resolved against `workdir` and must exist. */
export async function resolveChart(source: ChartSource, workdir: string): Promise<ResolvedChart> {
  const remote = source.repo !== undefined || source.chart.startsWith('oci://');
  if (remote) {
    if (!source.chartVersion || !EXACT_VERSION.test(source.chartVersion)) {
      throw invalidHelmRequest(
        `chartVersion: an exact version (e.g. 1.2.3) is required for ${source.repo ? `chart ${source.chart} of ${source.repo}` : source.chart}; got ${JSON.stringify(source.chartVersion ?? null)}`,
      );
    }
    if (source.repo)
      return { kind: 'repo', repo: source.repo.replace(/\/+$/, ''), name: source.chart, version: source.chartVersion };
    return { kind: 'oci', ref: source.chart, version: source.chartVersion };
  }
  const path = isAbsolute(source.chart) ? source.chart : resolve(workdir, source.chart);
  const info = await stat(path).catch(() => undefined);
  if (!info) {
    const hint = /^[\w.-]+\/[\w.-]+$/.test(source.chart)
      ? ' (repository aliases are not supported: pass the repository URL as repo)'
      : '';
    throw invalidHelmRequest(`chart: path "${path}" not found${hint}`);
  }
  return { kind: info.isDirectory() ? 'directory' : 'archive', path };
}

/** helm's arguments naming the chart. */
export function chartArgs(chart: ResolvedChart): string[] {
  switch (chart.kind) {
    case 'directory':
    case 'archive':
      return [chart.path];
    case 'oci':
      return [chart.ref, '--version', chart.version];
    case 'repo':
      return [chart.name, '--repo', chart.repo, '--version', chart.version];
  }
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** Every regular file under `dir` (following symlinks), as sorted POSIX paths relative to `dir`. */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (current: string) => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = join(current, entry.name);
      const info = entry.isSymbolicLink() ? await stat(full) : entry;
      if (info.isDirectory()) await walk(full);
      else if (info.isFile()) out.push(relative(dir, full).split(sep).join('/'));
    }
  };
  await walk(dir);
  return out.sort();
}

/** The chart's identity: every file's path and content for a local directory, the bytes of an archive, name+version otherwise. */
export async function chartIdentity(chart: ResolvedChart): Promise<string> {
  switch (chart.kind) {
    case 'directory': {
      const lines: string[] = [];
      for (const file of await listFiles(chart.path))
        lines.push(`${file}\0${sha256(await readFile(join(chart.path, file)))}`);
      return `dir:${sha256(lines.join('\n'))}`;
    }
    case 'archive':
      return `tgz:${sha256(await readFile(chart.path))}`;
    case 'oci':
      return `oci:${chart.ref}@${chart.version}`;
    case 'repo':
      return `repo:${chart.repo}/${chart.name}@${chart.version}`;
  }
}

/** JSON with object keys sorted at every level (arrays keep their order): equal values, equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

export interface DigestInput {
  chart: ResolvedChart;
  values: Record<string, unknown>;
  /** Absolute paths, in helm's order (later files override earlier ones). */
  valuesFiles: string[];
}

/** sha256 over the chart identity, the canonical values and the values files' contents (in order). */
export async function releaseDigest(input: DigestInput): Promise<string> {
  const files: string[] = [];
  for (const file of input.valuesFiles) {
    const content = await readFile(file).catch(() => {
      throw invalidHelmRequest(`valuesFiles: ${file} cannot be read`);
    });
    files.push(sha256(content));
  }
  const material = canonicalJson({
    v: 1,
    chart: await chartIdentity(input.chart),
    values: input.values,
    valuesFiles: files,
  });
  return sha256(material).slice(0, DIGEST_LENGTH);
}
