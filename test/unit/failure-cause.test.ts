// failureCause: the reason of a failure, however deep Temporal wrapped it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  RetryState,
  TimeoutFailure,
  TimeoutType,
} from '@temporalio/common';
import { failureCause, failureText } from '../../contract/failure-cause.ts';

const checksum = ApplicationFailure.create({
  type: 'BackupInvalid',
  message: 'backup b1: taskRuns.jsonl.gz does not match its checksum in the manifest',
  nonRetryable: true,
});
const activity = (cause: Error) =>
  new ActivityFailure('Activity task failed', 'verifyBackup', '1', RetryState.NON_RETRYABLE_FAILURE, 'worker', cause);

test('an activity failure says the reason, not "Activity task failed"', () => {
  assert.deepEqual(failureCause(activity(checksum)), { type: 'BackupInvalid', message: checksum.message });
  assert.equal(failureText(activity(checksum)), `${checksum.message} (BackupInvalid)`);
});

test('through a child workflow, the innermost ApplicationFailure wins', () => {
  const child = new ChildWorkflowFailure(
    'default',
    { workflowId: 'w-backup', runId: 'r' },
    'backupPlatform',
    RetryState.NON_RETRYABLE_FAILURE,
    activity(checksum),
  );
  assert.equal(failureCause(child).type, 'BackupInvalid');
});

test('without an ApplicationFailure, the innermost message', () => {
  const timeout = new TimeoutFailure('activity StartToClose timeout', undefined, TimeoutType.START_TO_CLOSE);
  assert.deepEqual(failureCause(activity(timeout)), { message: 'activity StartToClose timeout' });
  assert.deepEqual(failureCause(new Error('plain')), { message: 'plain' });
  assert.deepEqual(failureCause('text'), { message: 'text' });
});
