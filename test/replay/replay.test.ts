// Replays recorded histories against today's workflow code: a change that is not versioned with
// patched() makes a recorded run non-deterministic, and this test fails.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { HISTORIES_DIR, readHistory } from '../helpers/record-history.ts';
import { workflowBundle } from '../helpers/temporal.ts';

const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.history.bin')).sort();

test('recorded histories exist for the runbooks', () => {
  for (const runbook of ['platformHealth', 'deployPlatform', 'upgradePlatform']) {
    assert.ok(files.some((f) => f.startsWith(runbook)), `no recorded history of ${runbook} in ${HISTORIES_DIR}`);
  }
});

for (const file of files) {
  test(`replays ${file} deterministically`, async () => {
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: file }, readHistory(file), file);
  });
}
