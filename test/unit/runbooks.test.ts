// The typed runbook map (contract/runbooks.ts) and the workflows the worker registers
// (workflows/index.ts) agree: the same names, and each workflow accepts its schema's input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RUNBOOKS as MAP, type RunbookInput, type RunbookName } from '../../contract/runbooks.ts';
import { RUNBOOKS, findRunbook } from '../../client/runbooks.ts';
import type * as workflows from '../../workflows/index.ts';

// Compile time: every workflow accepts its map entry's input, and there is no workflow without an entry.
type Workflows = typeof workflows;
type Accepts = { [N in RunbookName]: (input: RunbookInput<N>) => Promise<unknown> };
const _everyRunbookAcceptsItsInput = (w: Workflows): Accepts => w;
const _noWorkflowWithoutAnEntry = (name: keyof Workflows): RunbookName => name;

test('workflows/index.ts exports exactly the runbooks of the map (add a new one to contract/runbooks.ts)', async () => {
  const exported = Object.keys(await import('../../workflows/index.ts')).sort();
  assert.deepEqual(Object.keys(MAP).sort(), exported);
  assert.deepEqual(RUNBOOKS.map((r) => r.name).sort(), exported);
});

test('an unknown runbook is a clear error that lists the known ones', () => {
  assert.throws(
    () => findRunbook('backupPlatfrom'),
    /unknown runbook backupPlatfrom \(known: platformHealth, .*backupAndVerify/,
  );
  assert.equal(findRunbook('drainNode').name, 'drainNode');
});
