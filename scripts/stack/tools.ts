// Pinned external binaries (temporal, kwok, kubectl, ...). scripts/install-tools.sh is the one
// place that knows versions and where the binaries live; this module only asks it.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { execa } from 'execa';

const installScript = fileURLToPath(new URL('../install-tools.sh', import.meta.url));

/** Tool groups known to install-tools.sh (a group may provide several binaries). */
export type ToolGroup = 'temporal' | 'helm' | 'kwok' | 'etcd' | 'kubernetes' | 'test-server' | 'age' | 'chromium';

/** Which group provides each binary, for error messages that say what to install. */
const groupOf: Record<string, ToolGroup> = {
  temporal: 'temporal',
  helm: 'helm',
  kwok: 'kwok',
  kwokctl: 'kwok',
  etcd: 'etcd',
  'kube-apiserver': 'kubernetes',
  'kube-controller-manager': 'kubernetes',
  'kube-scheduler': 'kubernetes',
  kubectl: 'kubernetes',
  'temporal-test-server': 'test-server',
  age: 'age',
  'age-keygen': 'age',
  chromium: 'chromium',
};

let cachedBinDir: string | undefined;

/** The directory holding every tool's binary (as printed by `install-tools.sh --bin-dir`). */
export function binDir(): string {
  cachedBinDir ??= execFileSync('bash', [installScript, '--bin-dir'], { encoding: 'utf8' }).trim();
  return cachedBinDir;
}

/**
 * Builds (or reuses) the given tool groups and returns the bin dir. The script's progress lines
 * are shown (a first build takes minutes and the user should see why): on our stdout, or on
 * stderr with `{ progressTo: 'stderr' }` when stdout is a result meant for a pipe.
 */
export async function ensureTools(
  names: ToolGroup[],
  opts: { progressTo?: 'stdout' | 'stderr' } = {},
): Promise<string> {
  const stdout = opts.progressTo === 'stderr' ? process.stderr : 'inherit';
  const result = await execa('bash', [installScript, ...names], { stdout, stderr: 'inherit', reject: false });
  if (result.exitCode !== 0) {
    throw new Error(`installing tools [${names.join(', ')}] failed (exit ${result.exitCode}); see the output above`);
  }
  return binDir();
}

/** Absolute path of one binary (e.g. 'kubectl'); throws, naming the install command, if it is missing. */
export function toolPath(name: string): string {
  const path = join(binDir(), name);
  if (!existsSync(path)) {
    const group = groupOf[name] ?? name;
    throw new Error(`tool '${name}' is not installed (expected ${path}): run \`npm run tools -- ${group}\``);
  }
  return path;
}
