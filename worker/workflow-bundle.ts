// The workflow bundle of the worker process. Bundling (webpack + swc) is done in a short-lived
// child process, never in the worker: webpack leaves about 270 MB of the worker's RSS behind for
// good (an idle worker measured 580 MB bundling in-process, 240 MB loading the child's bundle).
// The bundle's inline source map maps stack traces to the TypeScript files and lines but carries
// no sources (webpack's nosources map): the full sources cost another ~20 MB of idle RSS.
// Built bundles are kept in a cache outside the repo, named by the hash of everything they are
// built from: a worker (re)start, and each test file, loads one instead of bundling for seconds.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from '@temporalio/common';
import { RUNBOOK_WORKFLOW_INTERCEPTORS, WORKFLOWS_PATH } from './worker.ts';
import { cacheRoot } from './cache-dir.ts';

const BUNDLER_SCRIPT = fileURLToPath(new URL('./bundle-workflows.ts', import.meta.url));

/** Bundles the runbooks' workflows and interceptors, with a source map that has no sources. */
export function bundleRunbookWorkflows(logger: Logger): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: RUNBOOK_WORKFLOW_INTERCEPTORS,
    logger,
    webpackConfigHook: (config) => ({ ...config, devtool: 'inline-nosources-source-map' }),
  });
}

const REPO = fileURLToPath(new URL('..', import.meta.url));
/** What a bundle is built from: the workflows, what they import from our folders, the bundler's setup. */
const BUNDLE_SOURCES = ['workflows', 'contract', 'activities'];
const BUNDLER_FILES = [
  'worker/workflow-bundle.ts',
  'worker/bundle-workflows.ts',
  'worker/worker.ts',
  'package-lock.json',
];
/** Bundles kept; the least recently used (other checkouts, earlier sources) are deleted when a new one is written. */
const KEPT_BUNDLES = 8;

/** The cache of built bundles, in the project's cache folder. */
export function bundleCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), 'workflow-bundles');
}

/** The hash of every input of the bundle (sources, bundler setup, lockfile, the repo's path, Node's version). */
export function bundleKey(repo = REPO): string {
  const hash = createHash('sha256').update(`${process.version}\0${repo}\0`);
  const files = [
    ...BUNDLE_SOURCES.flatMap((dir) => tsFilesUnder(join(repo, dir))),
    ...BUNDLER_FILES.map((f) => join(repo, f)),
  ];
  for (const file of files.sort())
    hash
      .update(`${relative(repo, file)}\0`)
      .update(readFileSync(file))
      .update('\0');
  return hash.digest('hex').slice(0, 32);
}

function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

/**
 * The bundle's file: from the cache, else built by a child process into it (written under a temp
 * name and renamed, so that workers starting together never read half a file).
 */
export async function workflowBundlePath(cacheDir = bundleCacheDir()): Promise<string> {
  const codePath = join(cacheDir, `workflows-${bundleKey()}.js`);
  if (existsSync(codePath)) {
    utimesSync(codePath, new Date(), new Date()); // recently used: pruned last
    return codePath;
  }
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${codePath}.${randomUUID().slice(0, 8)}.tmp`;
  const child = await execa(process.execPath, [BUNDLER_SCRIPT, tmp], { reject: false, all: true });
  if (child.exitCode !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`bundling the workflows failed (exit ${child.exitCode}):\n${child.all}`);
  }
  renameSync(tmp, codePath);
  pruneBundles(cacheDir);
  return codePath;
}

function pruneBundles(cacheDir: string): void {
  const bundles = readdirSync(cacheDir)
    .filter((f) => /^workflows-[0-9a-f]+\.js$/.test(f))
    .map((f) => ({ file: join(cacheDir, f), mtime: statSync(join(cacheDir, f)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const old of bundles.slice(KEPT_BUNDLES)) rmSync(old.file, { force: true });
}
