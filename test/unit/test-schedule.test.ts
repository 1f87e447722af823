// npm test's schedule (scripts/stack/test-schedule.ts): which test files may run side by side.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { queueOrder, startable, testFile, type TestFile } from '../../scripts/stack/test-schedule.ts';

const file = (path: string, head: string, seconds?: number): TestFile =>
  testFile(path, seconds, `${head}\nimport x;\n`);
const limits = { cluster: 3, temporal: 2 };
const paths = (files: TestFile[]) => files.map((f) => f.path);

test('testFile: the pool from the folder, the isolation from the header', () => {
  assert.deepEqual(file('test/integration/a.test.ts', '// test-isolation: exclusive (the CRD)'), {
    path: 'test/integration/a.test.ts',
    pool: 'cluster',
    exclusive: true,
  });
  assert.deepEqual(file('test/integration/b.test.ts', '// test-isolation: serial namespace-x (why)', 12), {
    path: 'test/integration/b.test.ts',
    pool: 'cluster',
    exclusive: false,
    serial: 'namespace-x',
    seconds: 12,
  });
  assert.equal(file('test/unit/c.test.ts', '// a unit test').pool, 'temporal');
});

test('queueOrder: exclusive files first, then the longest (unknown counts as longest)', () => {
  const files = [
    file('test/integration/short.test.ts', '', 5),
    file('test/unit/long.test.ts', '', 50),
    file('test/integration/new.test.ts', ''),
    file('test/integration/x.test.ts', '// test-isolation: exclusive (x)', 1),
  ];
  assert.deepEqual(paths(queueOrder(files)), [
    'test/integration/x.test.ts',
    'test/integration/new.test.ts',
    'test/unit/long.test.ts',
    'test/integration/short.test.ts',
  ]);
});

test('startable: an exclusive file runs alone in the cluster, the dev-server files beside it', () => {
  const x = file('test/integration/x.test.ts', '// test-isolation: exclusive (x)');
  const y = file('test/integration/y.test.ts', '// test-isolation: exclusive (y)');
  const shared = [1, 2, 3, 4].map((i) => file(`test/integration/s${i}.test.ts`, ''));
  const units = [1, 2, 3].map((i) => file(`test/unit/u${i}.test.ts`, ''));
  const waiting = queueOrder([x, y, ...shared, ...units]);
  assert.deepEqual(paths(startable(waiting, [], limits)), [x.path, 'test/unit/u1.test.ts', 'test/unit/u2.test.ts']);
  assert.deepEqual(paths(startable(waiting.slice(1), [x], limits)), ['test/unit/u1.test.ts', 'test/unit/u2.test.ts']);
  // x finished: y next, alone; then the shared ones, three at a time.
  assert.deepEqual(paths(startable(waiting.slice(1), [], limits)).slice(0, 1), [y.path]);
  const rest = waiting.filter((f) => !f.exclusive && f.pool === 'cluster');
  assert.deepEqual(paths(startable(rest, [], limits)), paths(shared.slice(0, 3)));
  // A shared file runs: a waiting exclusive one waits for the cluster to empty, and nothing overtakes it.
  assert.deepEqual(paths(startable([y, shared[3]!], [shared[0]!], limits)), []);
});

test('startable: files of the same serial name never run side by side; others pass them', () => {
  const a = file('test/integration/a.test.ts', '// test-isolation: serial ns-o (a)', 30);
  const b = file('test/integration/b.test.ts', '// test-isolation: serial ns-o (b)', 20);
  const c = file('test/integration/c.test.ts', '', 10);
  assert.deepEqual(paths(startable([a, b, c], [], limits)), [a.path, c.path]);
  assert.deepEqual(paths(startable([b], [a, c], limits)), []);
  assert.deepEqual(paths(startable([b], [c], limits)), [b.path]);
});
