// Bad input, generated (fast-check): at least 300 invalid inputs across the runbooks, each with one
// top-level field broken (wrong type, out of range, hostile strings, unknown keys). Every one must fail
// the workflow at once with InvalidInput naming that field, before any activity runs (so nothing in
// the cluster can have changed). The workflow's own schema is the oracle for "invalid".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import pino from 'pino';
import type { z } from 'zod';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../activities/index.ts';
import { failureText } from '../../contract/failure-cause.ts';
import { INVALID_INPUT } from '../../contract/failures.ts';
import { backupAndVerifyInputSchema } from '../../contract/types/backup-verify.ts';
import { backupPlatformInputSchema, restorePlatformInputSchema } from '../../contract/types/backup.ts';
import { deployPlatformInputSchema } from '../../contract/types/deploy.ts';
import { platformHealthInputSchema } from '../../contract/types/platform-health.ts';
import { rotateSecretInputSchema } from '../../contract/types/rotate-secret.ts';
import { cleanupTaskRunsInputSchema } from '../../contract/types/taskrun.ts';
import { upgradePlatformInputSchema } from '../../contract/types/upgrade.ts';
import { drainNodeInputSchema } from '../../contract/types/drain.ts';
import { incidentInputSchema } from '../../contract/types/incident.ts';
import { rollingNodeMaintenanceInputSchema } from '../../contract/types/rolling-maintenance.ts';
import { securityAuditInputSchema } from '../../contract/types/security-audit.ts';
import { RUNBOOKS as RUNBOOK_MAP } from '../../contract/runbooks.ts';
import { uniqueTaskQueue, useTestTemporal, withTestWorker } from '../helpers/temporal.ts';
import { recordReliability } from './report.ts';

const testTemporal = useTestTemporal();
const RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
const WANTED = 300;

/** Each runbook with a valid input to break one field of. */
const RUNBOOKS: { name: string; schema: z.ZodType; valid: Record<string, unknown> }[] = [
  { name: 'platformHealth', schema: platformHealthInputSchema, valid: {} },
  { name: 'deployPlatform', schema: deployPlatformInputSchema, valid: {} },
  { name: 'upgradePlatform', schema: upgradePlatformInputSchema, valid: { imageTag: '1.1.0' } },
  {
    name: 'rotateSecret',
    schema: rotateSecretInputSchema,
    valid: { key: 'ANTHROPIC_API_KEY', from: { env: 'ANTHROPIC_API_KEY' } },
  },
  { name: 'backupPlatform', schema: backupPlatformInputSchema, valid: { recipients: [RECIPIENT] } },
  {
    name: 'restorePlatform',
    schema: restorePlatformInputSchema,
    valid: { backupId: 'b1', targetNamespace: 'scratch' },
  },
  { name: 'backupAndVerify', schema: backupAndVerifyInputSchema, valid: { backup: { recipients: [RECIPIENT] } } },
  { name: 'cleanupTaskRuns', schema: cleanupTaskRunsInputSchema, valid: {} },
  { name: 'drainNode', schema: drainNodeInputSchema, valid: { node: 'kwok-node-0' } },
  {
    name: 'incidentResponse',
    schema: incidentInputSchema,
    valid: { severity: 'high', summary: 'suspected key leak', recipients: [RECIPIENT] },
  },
  { name: 'securityAudit', schema: securityAuditInputSchema, valid: {} },
  { name: 'rollingNodeMaintenance', schema: rollingNodeMaintenanceInputSchema, valid: { nodes: ['kwok-node-0'] } },
];

const fieldsOf = (schema: z.ZodType) =>
  Object.keys((schema as unknown as { shape?: Record<string, unknown> }).shape ?? {});

/** Values that break a field: wrong types, extremes, and strings an attacker would try. */
const hostileValue = fc.oneof(
  fc.constantFrom(null, -1, 0, 1e12, Number.MAX_SAFE_INTEGER, 1.5, true, '', [], {}, [null]),
  fc.constantFrom(
    '../../etc/passwd',
    '/etc/shadow',
    'kube-system',
    'UPPER_case',
    'a'.repeat(300),
    'http://169.254.169.254/latest/meta-data/',
    'file:///etc/passwd',
    '-rf',
    '$(reboot)',
    '{"env":"RUNBOOK_BACKUP_HMAC_KEY"}',
    'ns;rm -rf /',
    '\u0000',
  ),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue(), { maxKeys: 3 }),
);

/** Not generated here, and why: the controller runs forever on a valid input; the lease is internal. */
const NOT_GENERATED = new Set(['taskRunController', 'maintenanceLease']);

test('every runbook of contract/runbooks.ts is covered here or excluded with a reason', () => {
  const covered = new Set([...RUNBOOKS.map((r) => r.name), ...NOT_GENERATED]);
  assert.deepEqual(
    Object.keys(RUNBOOK_MAP).filter((name) => !covered.has(name)),
    [],
  );
});

interface Case {
  runbook: (typeof RUNBOOKS)[number];
  field: string;
  input: Record<string, unknown>;
}

const caseArb: fc.Arbitrary<Case> = fc.constantFrom(...RUNBOOKS).chain((runbook) =>
  fc
    .tuple(fc.constantFrom(...fieldsOf(runbook.schema), 'unexpectedField', 'carried_', 'dryRun '), hostileValue)
    .map(([field, value]) => ({
      runbook,
      field,
      input: { ...runbook.valid, [field]: value },
    })),
);

/** Generated cases the schema rejects, WANTED of them (the seed is fixed, so a failure is reproducible). */
function invalidCases(): Case[] {
  const cases: Case[] = [];
  for (const c of fc.sample(caseArb, { numRuns: 3000, seed: 20261128 })) {
    if (!c.runbook.schema.safeParse(c.input).success) cases.push(c);
    if (cases.length >= WANTED) break;
  }
  return cases;
}

test(`${WANTED} generated invalid inputs fail at once, naming the field, before any activity`, async () => {
  const env = await testTemporal();
  const cases = invalidCases();
  assert.equal(cases.length, WANTED);
  const called: string[] = [];
  // Every activity the worker registers, recording instead of acting.
  const names = Object.keys(
    createActivities({
      kube: {} as never,
      kubeTarget: { kubeconfigPath: '/nowhere' },
      helmBin: 'helm',
      workdir: '/nowhere',
      logger: pino({ level: 'silent' }),
    }),
  );
  const activities = Object.fromEntries(
    names.map((n) => [
      n,
      async () => {
        called.push(n);
        throw ApplicationFailure.nonRetryable(`activity ${n} ran`);
      },
    ]),
  );
  const unclear: string[] = [];
  await withTestWorker(env, activities, 'bad-input', async (taskQueue) => {
    for (let i = 0; i < cases.length; i += 25) {
      await Promise.all(
        cases.slice(i, i + 25).map(async (c) => {
          const what = `${c.runbook.name} ${JSON.stringify(c.input).slice(0, 200)}`;
          const outcome = await env.client.workflow
            .execute(c.runbook.name, {
              taskQueue,
              workflowId: uniqueTaskQueue(`bad-${c.runbook.name}`),
              args: [c.input],
            })
            .then(
              () => 'completed',
              (e: unknown) => e,
            );
          const cause = outcome instanceof WorkflowFailedError ? outcome.cause : undefined;
          const ok =
            cause instanceof ApplicationFailure &&
            cause.type === INVALID_INPUT &&
            cause.message.includes(c.field.trim());
          if (!ok)
            unclear.push(
              `${what}: ${outcome instanceof Error ? failureText(outcome.cause ?? outcome) : String(outcome)}`,
            );
        }),
      );
    }
  });
  await recordReliability('bad-input', { runs: cases.length, unclearErrors: unclear.length, leaks: called.length });
  assert.deepEqual(unclear, [], `${unclear.length} inputs failed without a clear InvalidInput naming the field`);
  assert.deepEqual(called, [], 'an activity ran for an invalid input');
});
