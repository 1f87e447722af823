// The worker registers the runbooks' missing search attributes before it polls, or refuses to start
// with the operator's commands when it may not (an upsert of an unknown one stalls every runbook).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ensureRunbookSearchAttributes } from '../../worker/search-attributes.ts';

function operator(custom: Record<string, number>, addFails?: string) {
  const added: Record<string, number>[] = [];
  const operatorService = {
    listSearchAttributes: async () => ({ systemAttributes: { WorkflowType: 2 }, customAttributes: custom }),
    addSearchAttributes: async (req: { searchAttributes: Record<string, number> }) => {
      if (addFails) throw new Error(addFails);
      added.push(req.searchAttributes);
      return {};
    },
  };
  return { connection: { operatorService } as never, added };
}

test('missing ones are registered as Keyword; present ones are left alone', async () => {
  const o = operator({ RunbookKind: 2 });
  assert.deepEqual(await ensureRunbookSearchAttributes(o.connection, 'platform'), {
    added: ['RunbookPhase', 'TargetNamespace'],
  });
  assert.deepEqual(o.added, [{ RunbookPhase: 2, TargetNamespace: 2 }]);
  const all = operator({ RunbookKind: 2, RunbookPhase: 2, TargetNamespace: 2 });
  assert.deepEqual(await ensureRunbookSearchAttributes(all.connection, 'platform'), { added: [] });
  assert.deepEqual(all.added, []);
});

test('a server that refuses the registration: the worker fails with the commands to run; a wrong type is refused', async () => {
  await assert.rejects(
    ensureRunbookSearchAttributes(operator({}, 'PermissionDenied').connection, 'platform.a1b2c'),
    /RunbookKind, RunbookPhase, TargetNamespace are not registered .*PermissionDenied.*temporal operator search-attribute create --namespace platform\.a1b2c --name RunbookKind --type Keyword/,
  );
  await assert.rejects(
    ensureRunbookSearchAttributes(operator({ RunbookPhase: 3 }).connection, 'platform'),
    /RunbookPhase exists .* not Keyword/,
  );
});
