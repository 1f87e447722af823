// `node worker/bundle-workflows.ts OUT`: writes the workflow bundle to OUT. The worker runs it as a
// child process (worker/workflow-bundle.ts) so that webpack's memory dies with it.
import { writeFileSync } from 'node:fs';
import type { Logger } from '@temporalio/common';
import { bundleRunbookWorkflows } from './workflow-bundle.ts';

const out = process.argv[2];
if (!out) {
  console.error('usage: node worker/bundle-workflows.ts OUT');
  process.exit(2);
}
const noop = () => undefined;
const logger: Logger = { trace: noop, debug: noop, info: noop, warn: console.error, error: console.error, log: noop };
const { code } = await bundleRunbookWorkflows(logger);
writeFileSync(out, code);
