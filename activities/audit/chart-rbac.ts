// The RBAC the chart grants the orchestrator's service account: from the installed release's
// manifest (`helm get manifest`: what was deployed, with its values), or, without a release, from
// the chart rendered with its defaults (`helm template`). Read-only.
import { parseAllDocuments } from 'yaml';
import type { ChartRef } from '../../contract/types/deploy.ts';
import type { HelmDeps } from '../helm/deps.ts';
import { runHelm } from '../helm/run.ts';
import { readMetadata } from '../helm/release.ts';
import { chartArgs, resolveChart } from '../helm/digest.ts';
import { DEFAULT_FILE_ROOTS, resolveAllowedPath } from '../allowed-paths.ts';
import { invalidHelmRequest } from '../helm/errors.ts';
import type { PolicyRule } from './rules.ts';

export interface RbacObject {
  kind: 'Role' | 'ClusterRole' | 'RoleBinding' | 'ClusterRoleBinding';
  metadata: { name: string; namespace?: string };
  rules?: PolicyRule[];
  subjects?: { kind: string; name: string; namespace?: string }[];
  roleRef?: { kind: string; name: string };
}

export interface ChartRbac {
  source: 'release' | 'chart';
  detail: string;
  objects: RbacObject[];
}

const RBAC_KINDS = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);

export function rbacObjectsOf(yaml: string, namespace: string): RbacObject[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as RbacObject | null)
    .filter((o): o is RbacObject => !!o && typeof o === 'object' && RBAC_KINDS.has(o.kind))
    .map((o) =>
      o.kind === 'Role' || o.kind === 'RoleBinding'
        ? { ...o, metadata: { ...o.metadata, namespace: o.metadata.namespace ?? namespace } }
        : o,
    );
}

export async function chartRbac(
  helm: HelmDeps,
  req: { release: string; namespace: string; chart: ChartRef },
): Promise<ChartRbac> {
  const release = await readMetadata(helm, { release: req.release, namespace: req.namespace });
  if (release) {
    const { stdout } = await runHelm(helm, ['get', 'manifest', req.release, '-n', req.namespace], {
      what: `read manifest of ${req.namespace}/${req.release}`,
    });
    return {
      source: 'release',
      detail: `release ${req.namespace}/${req.release} revision ${release.revision} (${release.chart}-${release.version})`,
      objects: rbacObjectsOf(stdout, req.namespace),
    };
  }
  const workdir = helm.workdir ?? process.cwd();
  const source =
    'path' in req.chart
      ? { chart: req.chart.path }
      : { chart: req.chart.name, chartVersion: req.chart.version, repo: req.chart.repo };
  if ('path' in req.chart) {
    const allowed = resolveAllowedPath(req.chart.path, workdir, helm.fileRoots ?? DEFAULT_FILE_ROOTS);
    if ('refused' in allowed) throw invalidHelmRequest(`chart: ${allowed.refused}`);
  }
  const chart = await resolveChart(source, workdir);
  const { stdout } = await runHelm(
    helm,
    ['template', req.release, ...chartArgs(chart), '-n', req.namespace, '--skip-crds'],
    { what: `render chart for ${req.namespace}/${req.release}` },
  );
  const named = 'path' in req.chart ? req.chart.path : `${req.chart.name}-${req.chart.version}`;
  return {
    source: 'chart',
    detail: `no release ${req.namespace}/${req.release}: chart ${named} rendered with its default values`,
    objects: rbacObjectsOf(stdout, req.namespace),
  };
}
