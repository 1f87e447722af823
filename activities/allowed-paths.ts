// Files that workflow inputs may name (chart paths, values files) resolve inside the worker's
// allowlisted directories, symlinks included: an input must not make the worker read any file it
// can reach (values reach Helm, the workflow history and backups).
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** The default allowlist: the worker's charts and values directories. */
export const DEFAULT_FILE_ROOTS = ['charts', 'values'];

const inside = (path: string, root: string) => {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
};

const realOrSelf = (path: string) => {
  try {
    return realpathSync(path);
  } catch {
    return path; // does not exist (yet): judged by its name; reading it fails later as "not found"
  }
};

/**
 * The absolute path of `path` (relative to workdir) if it lies inside one of `roots` (relative to
 * workdir) after resolving symlinks; otherwise a description of why not, for the caller's error.
 */
export function resolveAllowedPath(
  path: string,
  workdir: string,
  roots: string[],
): { path: string } | { refused: string } {
  const absolute = isAbsolute(path) ? path : resolve(workdir, path);
  const real = realOrSelf(absolute);
  const realRoots = roots.map((r) => realOrSelf(isAbsolute(r) ? r : resolve(workdir, r)));
  if (realRoots.some((root) => inside(real, root))) return { path: absolute };
  return {
    refused: `${path} is outside the worker's chart and values directories (${realRoots.join(', ')}; --file-roots / RUNBOOK_FILE_ROOTS)`,
  };
}
