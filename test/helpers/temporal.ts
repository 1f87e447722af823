// The Temporal dev server the tests run against: the one `npm test` started (TEST_TEMPORAL_ADDRESS),
// or, when a test file runs alone, one of its own (in memory, free ports), stopped after the file.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { startDevServer } from '../../scripts/stack/temporal-dev-server.ts';
import { INVALID_INPUT } from '../../contract/failures.ts';
import { RUNBOOK_SEARCH_ATTRIBUTES } from '../../contract/runbook-search-attributes.ts';
import type { Activities } from '../../activities/index.ts';
import { createRunbookWorker } from '../../worker/worker.ts';
import { workflowBundlePath } from '../../worker/workflow-bundle.ts';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { toolPath } from '../../scripts/stack/tools.ts';
import { stopLiveWatches } from '../../activities/taskrun/live-watch.ts';
import { runCleanups } from './cleanups.ts';

export interface TestTemporal {
  address: string;
  namespace: string;
  client: Client;
  nativeConnection: NativeConnection;
  /** Registers cleanup (e.g. stopping a worker) that runs, last first, before the connections close. */
  defer(cleanup: () => Promise<unknown>): void;
}

/**
 * Call at the top level of a test file; returns an accessor that connects on first use and closes
 * after the file (top-level before hooks of node:test do not wait for each other).
 */
export function useTestTemporal(): () => Promise<TestTemporal> {
  let temporal: Promise<TestTemporal> | undefined;
  // Last of all: the TaskRun controller's watches that its in-process workers left open (live-watch.ts).
  const closers: (() => Promise<void>)[] = [async () => stopLiveWatches()];
  after(async () => {
    await runCleanups(closers);
  });
  return () => (temporal ??= open(closers));
}

async function open(closers: (() => Promise<void>)[]): Promise<TestTemporal> {
  let address = process.env.TEST_TEMPORAL_ADDRESS;
  if (!address) {
    const dir = mkdtempSync(join(tmpdir(), 'runbooks-temporal-'));
    const server = await startDevServer({ logFile: join(dir, 'temporal.log') });
    closers.push(() => server.stop());
    address = server.address;
  }
  const connection = await Connection.connect({ address });
  const nativeConnection = await NativeConnection.connect({ address });
  closers.push(
    () => connection.close(),
    () => nativeConnection.close(),
  );
  return {
    address,
    namespace: 'default',
    client: new Client({ connection, namespace: 'default' }),
    nativeConnection,
    defer: (cleanup) => closers.push(async () => void (await cleanup())),
  };
}

// Test output stays readable: the SDK logs only warnings and errors, and not the workflows that
// fail on purpose with InvalidInput (the generated bad inputs fail hundreds).
const sdkLog = new DefaultLogger('WARN');
Runtime.install({
  logger: new DefaultLogger('WARN', (entry) => {
    const error = entry.meta?.error as { type?: unknown } | undefined;
    if (entry.message === 'Workflow failed' && error?.type === INVALID_INPUT) return;
    sdkLog.log(entry.level, entry.message, entry.meta);
  }),
});

let bundle: Promise<{ codePath: string }> | undefined;

/** The worker's workflow bundle (worker/workflow-bundle.ts: built once, then from its cache). */
export function workflowBundle(): Promise<{ codePath: string }> {
  bundle ??= workflowBundlePath().then((codePath) => ({ codePath }));
  return bundle;
}

/** A task queue no other test uses, so that workers of different tests never steal tasks. */
export function uniqueTaskQueue(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Mocked activities: each one, if present, has the real activity's signature (a mock cannot drift from it). */
export type MockActivities = Partial<Activities>;

/**
 * Runs a worker with the real workflows and these activities on a task queue of its own, until the
 * test file ends (cleanup deferred after it runs first: e.g. terminating a workflow it serves).
 */
export async function runTestWorker(
  temporal: TestTemporal,
  activities: MockActivities,
  prefix: string,
): Promise<string> {
  const taskQueue = uniqueTaskQueue(prefix);
  const worker = await createRunbookWorker({
    connection: temporal.nativeConnection,
    namespace: temporal.namespace,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
  });
  const running = worker.run();
  temporal.defer(async () => {
    worker.shutdown();
    await running;
  });
  return taskQueue;
}

/**
 * Runs `drive` while a worker with the real workflows and these activities serves a task queue of its
 * own (given to `drive`); the worker stops when `drive` settles, so each test has the worker to itself.
 * For the dev server of useTestTemporal or a TestWorkflowEnvironment (its namespace may be unset).
 */
export async function withTestWorker<T>(
  temporal: { nativeConnection: NativeConnection; namespace?: string },
  activities: object,
  prefix: string,
  drive: (taskQueue: string) => Promise<T>,
): Promise<T> {
  const taskQueue = uniqueTaskQueue(prefix);
  const worker = await createRunbookWorker({
    connection: temporal.nativeConnection,
    namespace: temporal.namespace ?? 'default',
    taskQueue,
    activities,
    workflowBundle: await workflowBundle(),
  });
  return worker.runUntil(() => drive(taskQueue));
}

/**
 * Registers every runbook's search attributes on a server that did not at launch (the time-skipping
 * test server: a runbook's upsert of an unknown one would fail its workflow task over and over).
 */
export async function registerRunbookSearchAttributes(
  connection: { operatorService: Connection['operatorService'] },
  namespace = 'default',
): Promise<void> {
  const keyword = 2; // temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
  const searchAttributes = Object.fromEntries(Object.keys(RUNBOOK_SEARCH_ATTRIBUTES).map((name) => [name, keyword]));
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
}

/**
 * The time-skipping test server (hours pass in moments) with the runbooks' search attributes. Its
 * start may take longer than the SDK's 5 s on a loaded machine: tried up to five times (three were not
 * enough twice, with npm test's load average at 15-19).
 */
export async function startTimeSkipping(): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt++) {
    try {
      const env = await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path: toolPath('temporal-test-server') } },
      });
      await registerRunbookSearchAttributes(env.connection, env.namespace ?? 'default');
      return env;
    } catch (err) {
      if (attempt >= 5 || !/did not start within/.test(String(err))) throw err;
    }
  }
}
