// Replays recorded histories against today's workflow code: a change that is not versioned with
// patched() makes a recorded run non-deterministic, and this test fails.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { HISTORIES_DIR, readHistory } from '../helpers/record-history.ts';
import { workflowBundle } from '../helpers/temporal.ts';

const files = readdirSync(HISTORIES_DIR)
  .filter((f) => f.endsWith('.history.bin'))
  .sort();

// Every runbook, and both sides of each patch.
const REQUIRED = [
  'platformHealth',
  'deployPlatform',
  'upgradePlatform-child-backup',
  'backupPlatform',
  'restorePlatform',
  'backupAndVerify',
  'cleanupTaskRuns',
  'taskRunController-pipeline',
  'rollingNodeMaintenance',
];

test('recorded histories exist for the runbooks', () => {
  for (const prefix of REQUIRED) {
    assert.ok(
      files.some((f) => f.startsWith(prefix)),
      `no recorded history ${prefix}* in ${HISTORIES_DIR}`,
    );
  }
});

/**
 * The workflow ID of the recorded run: child workflow IDs are derived from it (`<id>-backup`, `<id>-restore`),
 * (rollingNodeMaintenance's `<id>-drain-<node>`), so a replay under another ID would not match the recorded child commands. Runs without children replay
 * under the ID their start event records (taskRunController checks its own), else under their file name.
 */
function recordedWorkflowId(history: ReturnType<typeof readHistory>, file: string): string {
  for (const event of history.events ?? []) {
    const child = event.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
    // The maintenance lease's id is derived from the task queue, not from the workflow ID.
    if (child && !child.startsWith('maintenance-lease')) return child.replace(/-(backup|restore)$|-drain-[^]*$/, '');
  }
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId || file;
}

for (const file of files) {
  test(`replays ${file} deterministically`, async () => {
    const history = readHistory(file);
    // The recorded task queue, too: the maintenance lease's workflow id is derived from it.
    const taskQueue = history.events?.[0]?.workflowExecutionStartedEventAttributes?.taskQueue?.name;
    await Worker.runReplayHistory(
      { workflowBundle: await workflowBundle(), replayName: file, ...(taskQueue ? { taskQueue } : {}) } as Parameters<
        typeof Worker.runReplayHistory
      >[0],
      history,
      recordedWorkflowId(history, file),
    );
  });
}
