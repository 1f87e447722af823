// The CLI's argument parsing, ps query, connection settings and exit codes, without a server.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { COMMANDS } from '../../client/commands/index.ts';
import { EXIT, UsageError } from '../../client/commands/command.ts';
import { parseCommandLine } from '../../client/commands/parse.ts';
import { psQuery } from '../../client/commands/ps.ts';
import { readInput, staticSummary } from '../../client/commands/start.ts';
import { exitCodeOf, shownPhase, type RunState } from '../../client/commands/run-state.ts';
import { clientSettings, connectionOptions } from '../../client/connection.ts';
import { runCli } from '../../client/cli.ts';

test('a command, its positionals and options, wherever the options stand', () => {
  const p = parseCommandLine(
    ['--json', 'start', 'upgradePlatform', '--input', '{"imageTag":"1.1.0"}', '--no-wait'],
    COMMANDS,
  );
  assert.equal(p.command?.name, 'start');
  assert.deepEqual(p.args.positionals, ['upgradePlatform']);
  assert.equal(p.args.json, true);
  assert.equal(p.args.values.input, '{"imageTag":"1.1.0"}');
  assert.equal(p.args.values['no-wait'], true);
  const d = parseCommandLine(
    ['decide', 'u1', 'rollback', '--by', 'alice', '--reason', 'smoke test answers 503'],
    COMMANDS,
  );
  assert.deepEqual([d.command?.name, ...d.args.positionals, d.args.values.by], ['decide', 'u1', 'rollback', 'alice']);
  assert.equal(parseCommandLine(['lease', '-h'], COMMANDS).help, true);
  assert.equal(parseCommandLine([], COMMANDS).command, undefined);
});

test('unknown commands and options, and options without their value, are usage errors', () => {
  assert.throws(
    () => parseCommandLine(['stop', 'x'], COMMANDS),
    (e) => e instanceof UsageError && /unknown command stop \(commands: list, ps, start/.test(e.message),
  );
  assert.throws(
    () => parseCommandLine(['status', 'x', '--input', '{}'], COMMANDS),
    (e) => e instanceof UsageError && /^status: Unknown option '--input'/.test(e.message),
  );
  assert.throws(
    () => parseCommandLine(['start', 'x', '--input'], COMMANDS),
    (e) => e instanceof UsageError && /--input/.test(e.message),
  );
});

test('--input and --input-file: one JSON object, not both', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-args-'));
  writeFileSync(join(dir, 'in.json'), '{"namespace":"prod"}');
  assert.deepEqual(readInput({ 'input-file': join(dir, 'in.json') }), { namespace: 'prod' });
  assert.deepEqual(readInput({}), {});
  assert.throws(() => readInput({ input: '{}', 'input-file': join(dir, 'in.json') }), /not both/);
  assert.throws(() => readInput({ input: '[1]' }), /must be one JSON object/);
  assert.throws(() => readInput({ input: '{nope' }), /--input is not JSON/);
  assert.throws(() => readInput({ 'input-file': join(dir, 'missing.json') }), /cannot read/);
  assert.equal(
    staticSummary('upgradePlatform', { imageTag: '1.1.0', values: { a: 1 } }, 'alice'),
    'upgradePlatform imageTag=1.1.0 (started from the CLI by alice)',
  );
});

test('ps filters through the search attributes; unknown runbooks and phases are refused', () => {
  assert.equal(
    psQuery({ kind: 'upgradePlatform', phase: 'paused-for-decision', running: true }),
    `RunbookKind = 'upgradePlatform' AND RunbookPhase = 'paused-for-decision' AND ExecutionStatus = 'Running'`,
  );
  assert.equal(
    psQuery({ kind: 'drainNode', phase: 'paused', namespace: "it's", taskQueue: 'q' }),
    `RunbookKind = 'drainNode' AND RunbookPhase IN ('paused-for-decision', 'paused-for-approval') AND TargetNamespace = 'it\\'s' AND TaskQueue = 'q'`,
  );
  const all = psQuery({});
  assert.match(all, /^WorkflowType IN \('platformHealth', 'deployPlatform', /);
  assert.doesNotMatch(all, /maintenanceLease/);
  assert.throws(() => psQuery({ kind: "x' OR '1'='1" }), /unknown runbook/);
  assert.throws(() => psQuery({ phase: 'sleeping' }), /unknown phase sleeping/);
});

test("the Temporal CLI's environment: address, namespace, TLS files or data, API key (TLS on with it)", () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-tls-'));
  writeFileSync(join(dir, 'c.pem'), 'CERT');
  writeFileSync(join(dir, 'k.pem'), 'KEY');
  const mtls = clientSettings({
    TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
    TEMPORAL_NAMESPACE: 'ns.acct',
    TEMPORAL_TLS_CERT: join(dir, 'c.pem'),
    TEMPORAL_TLS_KEY: join(dir, 'k.pem'),
  });
  assert.deepEqual(
    [mtls.address, mtls.namespace, mtls.tls?.clientCert?.toString(), mtls.tls?.clientKey?.toString()],
    ['ns.acct.tmprl.cloud:7233', 'ns.acct', 'CERT', 'KEY'],
  );
  const opts = connectionOptions(mtls);
  assert.equal((opts.tls as { clientCertPair?: { crt: Buffer } }).clientCertPair?.crt.toString(), 'CERT');
  const apiKey = clientSettings({ TEMPORAL_API_KEY: 'k1', TEMPORAL_TLS_CA_DATA: 'CA' });
  assert.deepEqual([apiKey.apiKey, apiKey.tls?.serverCa?.toString()], ['k1', 'CA']);
  assert.equal(connectionOptions(apiKey).apiKey, 'k1');
  assert.equal(clientSettings({ TEMPORAL_API_KEY: 'k1', TEMPORAL_TLS: 'false' }).tls, undefined);
  const plain = clientSettings({});
  assert.deepEqual(
    [plain.address, plain.namespace, plain.taskQueue, plain.tls],
    ['127.0.0.1:7233', 'default', 'runbooks', undefined],
  );
  assert.throws(() => clientSettings({ TEMPORAL_TLS_CERT: join(dir, 'c.pem') }), /go together/);
  assert.throws(
    () => clientSettings({ TEMPORAL_TLS_CERT: join(dir, 'nope.pem'), TEMPORAL_TLS_KEY: join(dir, 'k.pem') }),
    /TEMPORAL_TLS_CERT: cannot read/,
  );
});

test('exit codes: 0 succeeded, 1 failed, 3 paused, 4 running; a terminated run shows as terminated', () => {
  const s = (status: string, phase?: RunState['phase']): RunState => ({
    workflowId: 'w',
    runId: 'r',
    runbook: 'upgradePlatform',
    status,
    startTime: '',
    taskQueue: 'q',
    ...(phase ? { phase } : {}),
  });
  assert.deepEqual(
    [
      s('COMPLETED', 'rolled-back'),
      s('FAILED', 'failed'),
      s('RUNNING', 'paused-for-decision'),
      s('RUNNING', 'paused-for-approval'),
      s('RUNNING', 'waiting-for-lease'),
      s('TERMINATED', 'running'),
      s('CANCELLED'),
    ].map(exitCodeOf),
    [EXIT.succeeded, EXIT.failed, EXIT.paused, EXIT.paused, EXIT.running, EXIT.failed, EXIT.failed],
  );
  assert.deepEqual(
    [s('TERMINATED', 'paused-for-decision'), s('COMPLETED'), s('RUNNING'), s('FAILED', 'running')].map(shownPhase),
    ['terminated', 'succeeded', 'running', 'failed'],
  );
});

test('runCli: help exits 0, no command exits 2, and nothing connects for them', async () => {
  const out: string[] = [];
  const io = {
    out: (t: string) => out.push(t),
    err: (t: string) => out.push(t),
    env: {},
    connect: () => Promise.reject(new Error('must not connect')),
  };
  assert.equal(await runCli(['--help'], io), 0);
  assert.match(out.join('\n'), /Exit codes: 0 succeeded, 1 failed, 2 usage error, 3 paused/);
  assert.equal(await runCli([], io), 2);
  assert.equal(await runCli(['ps', '--help'], io), 0);
  assert.equal(await runCli(['list'], io), 0);
  assert.equal(await runCli(['start', 'platformHealth', '--input', '{"restartWarningThreshold":-1}'], io), 2);
  assert.equal(await runCli(['status', 'x'], io), 1);
  assert.match(out.at(-1) ?? '', /must not connect/);
});
