// What `npm start` prints to try first (scripts/stack/try-first.ts): the README's CLI form, with the
// environment the CLI needs to reach a stack on other ports or another task queue.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tryFirstCommands } from '../../scripts/stack/try-first.ts';

test('on the defaults: deploy, health, upgrade, exactly as the README writes them', () => {
  const commands = tryFirstCommands({
    temporalAddress: '127.0.0.1:7233',
    uiUrl: 'http://127.0.0.1:8233',
    taskQueue: 'runbooks',
  });
  assert.deepEqual(
    commands.map((c) => c.command),
    [
      'npm run runbook -- start deployPlatform',
      'npm run runbook -- start platformHealth',
      `npm run runbook -- start upgradePlatform --input '{"imageTag":"1.1.0"}'`,
    ],
  );
  assert.deepEqual(
    commands.map((c) => c.runbook),
    ['deployPlatform', 'platformHealth', 'upgradePlatform'],
  );
});

test('another port, UI or task queue is passed to the CLI in front of each command', () => {
  const commands = tryFirstCommands({
    temporalAddress: '127.0.0.1:7300',
    uiUrl: 'http://127.0.0.1:8300',
    taskQueue: 'x',
  });
  assert.equal(
    commands[1]!.command,
    'TEMPORAL_ADDRESS=127.0.0.1:7300 TEMPORAL_UI=http://127.0.0.1:8300 RUNBOOK_TASK_QUEUE=x npm run runbook -- start platformHealth',
  );
  assert.match(
    tryFirstCommands({ temporalAddress: '127.0.0.1:7233', uiUrl: 'http://127.0.0.1:8233', taskQueue: 'my queue' })[0]!
      .command,
    /^RUNBOOK_TASK_QUEUE='my queue' npm run/,
  );
});

test("RUNBOOK_TASK_QUEUE (or --task-queue) is the one task queue of npm start: the worker's, also passed on to the schedules and the controller", async () => {
  const { startOptions, workerArgs } = await import('../../scripts/start.ts');
  const fromEnv = startOptions([], { RUNBOOK_TASK_QUEUE: 'x' });
  assert.equal(fromEnv.taskQueue, 'x');
  assert.equal(startOptions(['--task-queue', 'y'], { RUNBOOK_TASK_QUEUE: 'x' }).taskQueue, 'y');
  assert.equal(startOptions([], {}).taskQueue, 'runbooks');
  const stack = { kubeconfig: '/k', temporalAddress: '127.0.0.1:7233', helmBin: 'helm' };
  const args = workerArgs(fromEnv, { ...stack, localCluster: true });
  assert.equal(args[args.indexOf('--task-queue') + 1], 'x');
  assert.ok(args.includes('--local-health-standin'), 'the local cluster gets the stand-in');
  assert.ok(
    !workerArgs(startOptions(['--kubeconfig', '/prod'], {}), { ...stack, localCluster: false }).includes(
      '--local-health-standin',
    ),
    'a named cluster does not',
  );
});
