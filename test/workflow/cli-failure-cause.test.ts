// A runbook that fails in an activity: the CLI, the progress step and the UI's current details
// name the reason (the innermost ApplicationFailure), not "Activity task failed"; the CLI exits 1.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execa } from 'execa';
import { progressQuery } from '../../contract/messages.ts';
import { BACKUP_INVALID } from '../../contract/failures.ts';
import { failsWith } from '../helpers/failing-activity.ts';
import { uniqueTaskQueue, useTestTemporal, withTestWorker } from '../helpers/temporal.ts';

const testTemporal = useTestTemporal();
const REASON = 'backup b1: taskRuns.jsonl.gz does not match its checksum in the manifest (corrupted or tampered with)';

test('a tampered backup: the CLI and the progress step say why the restore was refused', async () => {
  const env = await testTemporal();
  const activities = { verifyBackup: failsWith(BACKUP_INVALID, REASON) };
  const workflowId = uniqueTaskQueue('restore-tampered');
  await withTestWorker(env, activities, 'cli-failure', async (taskQueue) => {
    const cli = await execa(
      process.execPath,
      [
        'client/cli.ts',
        'start',
        'restorePlatform',
        '--id',
        workflowId,
        '--input',
        '{"backupId":"b1","targetNamespace":"scratch"}',
      ],
      {
        reject: false,
        env: { TEMPORAL_ADDRESS: env.address, RUNBOOK_TASK_QUEUE: taskQueue },
      },
    );
    assert.equal(cli.exitCode, 1, cli.stderr);
    assert.equal(cli.stderr.trim(), `runbook failed: ${REASON} (${BACKUP_INVALID})`);
    assert.match(cli.stdout, new RegExp(`failed +verify: ${REASON.replace(/[()]/g, '\\$&')}`));

    const handle = env.client.workflow.getHandle(workflowId);
    const verify = (await handle.query(progressQuery)).steps.find((s) => s.name === 'verify');
    assert.equal(verify?.status, 'failed');
    assert.equal(verify?.detail, `${REASON} (${BACKUP_INVALID})`);
    // What the Web UI shows as current details (the SDK's built-in metadata query).
    const { currentDetails } = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    assert.match(currentDetails, /✘ verify: backup b1: taskRuns\.jsonl\.gz does not match its checksum/);
  });
});
