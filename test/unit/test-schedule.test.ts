// npm test's schedule (scripts/stack/test-schedule.ts): which test files may run side by side.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { queueOrder, startable, testFile, type TestFile } from '../../scripts/stack/test-schedule.ts';

const file = (path: string, head: string, seconds?: number): TestFile =>
  testFile(path, seconds, `${head}\nimport x;\n`);
const limits = { cluster: 3, exclusive: 1, temporal: 2 };
const paths = (files: TestFile[]) => files.map((f) => f.path);

test('testFile: the pool from the folder and the isolation header', () => {
  assert.deepEqual(file('test/integration/a.test.ts', '// test-isolation: exclusive (the CRD)'), {
    path: 'test/integration/a.test.ts',
    pool: 'exclusive',
  });
  assert.deepEqual(file('test/integration/b.test.ts', '// test-isolation: serial namespace-x (why)', 12), {
    path: 'test/integration/b.test.ts',
    pool: 'cluster',
    serial: 'namespace-x',
    seconds: 12,
  });
  assert.equal(file('test/unit/c.test.ts', '// a unit test').pool, 'temporal');
});

test('queueOrder: exclusive files first, shortest first; then the longest (unknown counts as longest)', () => {
  const files = [
    file('test/integration/short.test.ts', '', 5),
    file('test/unit/long.test.ts', '', 50),
    file('test/integration/new.test.ts', ''),
    file('test/integration/heavy.test.ts', '// test-isolation: exclusive (load)', 180),
    file('test/integration/x.test.ts', '// test-isolation: exclusive (x)', 1),
  ];
  assert.deepEqual(paths(queueOrder(files)), [
    'test/integration/x.test.ts',
    'test/integration/heavy.test.ts',
    'test/integration/new.test.ts',
    'test/unit/long.test.ts',
    'test/integration/short.test.ts',
  ]);
});

test('startable: exclusive files one at a time (on a cluster of their own), beside the shared and dev-server files', () => {
  const x = file('test/integration/x.test.ts', '// test-isolation: exclusive (x)');
  const y = file('test/integration/y.test.ts', '// test-isolation: exclusive (y)');
  const shared = [1, 2, 3, 4].map((i) => file(`test/integration/s${i}.test.ts`, ''));
  const units = [1, 2, 3].map((i) => file(`test/unit/u${i}.test.ts`, ''));
  const waiting = queueOrder([x, y, ...shared, ...units]);
  assert.deepEqual(paths(startable(waiting, [], limits)), [
    x.path,
    ...paths(shared.slice(0, 3)),
    'test/unit/u1.test.ts',
    'test/unit/u2.test.ts',
  ]);
  // x runs: y waits for it, the fourth shared one for a free place.
  assert.deepEqual(paths(startable([y, shared[3]!], [x, ...shared.slice(0, 3)], limits)), []);
  assert.deepEqual(paths(startable([y, shared[3]!], [x, ...shared.slice(0, 2)], limits)), [shared[3]!.path]);
  assert.deepEqual(paths(startable([y, shared[3]!], shared.slice(0, 3), limits)), [y.path]);
});

test('startable: files of the same serial name never run side by side; others pass them', () => {
  const a = file('test/integration/a.test.ts', '// test-isolation: serial ns-o (a)', 30);
  const b = file('test/integration/b.test.ts', '// test-isolation: serial ns-o (b)', 20);
  const c = file('test/integration/c.test.ts', '', 10);
  assert.deepEqual(paths(startable([a, b, c], [], limits)), [a.path, c.path]);
  assert.deepEqual(paths(startable([b], [a, c], limits)), []);
  assert.deepEqual(paths(startable([b], [c], limits)), [b.path]);
});
