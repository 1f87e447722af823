// The workflow bundle of the worker process. Bundling (webpack + swc) is done in a short-lived
// child process, never in the worker: webpack leaves about 270 MB of the worker's RSS behind for
// good (an idle worker measured 580 MB bundling in-process, 240 MB loading the child's bundle).
// The bundle's inline source map maps stack traces to the TypeScript files and lines but carries
// no sources (webpack's nosources map): the full sources cost another ~20 MB of idle RSS.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from '@temporalio/common';
import { RUNBOOK_WORKFLOW_INTERCEPTORS, WORKFLOWS_PATH } from './worker.ts';

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

export interface BundleFile {
  /** For Worker.create's workflowBundle (an absolute path, so the SDK keeps the source map as it is). */
  codePath: string;
  /** Deletes the file (the worker has read it once Worker.create returned). */
  remove(): void;
}

/** The bundle, built by a child process into a temp file. */
export async function bundleInChildProcess(): Promise<BundleFile> {
  const dir = mkdtempSync(join(tmpdir(), 'runbook-workflows-'));
  const codePath = join(dir, 'workflow-bundle.js');
  const child = await execa(process.execPath, [BUNDLER_SCRIPT, codePath], { reject: false, all: true });
  if (child.exitCode !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`bundling the workflows failed (exit ${child.exitCode}):\n${child.all}`);
  }
  return { codePath, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
