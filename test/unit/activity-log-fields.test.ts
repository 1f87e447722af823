// Every log line an activity writes (through any child logger) names the workflow id and run id it serves.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createLogger } from '../../worker/logger.ts';

test('activity log lines carry workflowId, runId, workflowType and activityType; others do not', async () => {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  stream.on('data', (chunk: Buffer) =>
    chunk
      .toString()
      .trim()
      .split('\n')
      .forEach((l) => lines.push(JSON.parse(l) as Record<string, unknown>)),
  );
  const logger = createLogger('info', stream).child({ component: 'activities' });
  const env = new MockActivityEnvironment({
    workflowExecution: { workflowId: 'upgrade-1', runId: 'run-1' },
    workflowType: 'upgradePlatform',
    activityType: 'helmUpgradeInstall',
  });
  await env.run(async () => {
    await new Promise((r) => setTimeout(r, 1)); // across an await: AsyncLocalStorage keeps the context
    logger.info({ release: 'orchestrator' }, 'helm upgrade');
  });
  logger.info('outside');
  await new Promise((r) => setImmediate(r));
  assert.equal(lines.length, 2);
  assert.deepEqual(
    [
      lines[0]!.workflowId,
      lines[0]!.runId,
      lines[0]!.workflowType,
      lines[0]!.activityType,
      lines[0]!.release,
      lines[0]!.component,
    ],
    ['upgrade-1', 'run-1', 'upgradePlatform', 'helmUpgradeInstall', 'orchestrator', 'activities'],
  );
  assert.equal(lines[1]!.workflowId, undefined);
});
