// Numbers in workflow inputs that make a workflow wait have a maximum: a paused upgrade waits at most 7 days
// for an operator's decision (not years).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_DECISION_TIMEOUT_SECONDS, upgradePlatformInputSchema } from '../../contract/types/upgrade.ts';
import { formatIssues } from '../../contract/format-issues.ts';

test('upgradePlatform decisionTimeoutSeconds: at most 7 days', () => {
  assert.equal(MAX_DECISION_TIMEOUT_SECONDS, 7 * 24 * 3600);
  assert.equal(upgradePlatformInputSchema.parse({}).decisionTimeoutSeconds, 24 * 3600);
  assert.equal(
    upgradePlatformInputSchema.parse({ decisionTimeoutSeconds: 7 * 24 * 3600 }).decisionTimeoutSeconds,
    604_800,
  );
  for (const tooLong of [7 * 24 * 3600 + 1, 100 * 365 * 24 * 3600, Number.MAX_SAFE_INTEGER]) {
    const r = upgradePlatformInputSchema.safeParse({ decisionTimeoutSeconds: tooLong });
    assert.equal(r.success, false, String(tooLong));
    assert.deepEqual(formatIssues(r.error!.issues), ['decisionTimeoutSeconds: must be at most 604800 (7 days)']);
  }
});
