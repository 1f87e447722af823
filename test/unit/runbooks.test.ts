// The CLI's runbook list (client/runbooks.ts) names every workflow the worker registers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { RUNBOOKS, findRunbook } from '../../client/runbooks.ts';

test('every exported workflow is a runbook the CLI knows, and nothing else is', () => {
  const index = readFileSync(new URL('../../workflows/index.ts', import.meta.url), 'utf8');
  const exported = [...index.matchAll(/^export \{ (\w+) \} from/gm)].map((m) => m[1]!).sort();
  assert.ok(exported.length >= 9, `found only ${exported.length} exports in workflows/index.ts`);
  assert.deepEqual(RUNBOOKS.map((r) => r.name).sort(), exported);
});

test('an unknown runbook is a clear error that lists the known ones', () => {
  assert.throws(() => findRunbook('backupPlatfrom'), /unknown runbook backupPlatfrom \(known: platformHealth, .*backupAndVerify/);
});
