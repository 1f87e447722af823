import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseQuantity } from '../../activities/kube/quantity.ts';

test('parses CPU and memory quantities into base units', () => {
  assert.equal(parseQuantity('250m'), 0.25);
  assert.equal(parseQuantity('2'), 2);
  assert.equal(parseQuantity('1Gi'), 2 ** 30);
  assert.equal(parseQuantity('512Mi'), 512 * 2 ** 20);
  assert.equal(parseQuantity('1G'), 1e9);
  assert.equal(parseQuantity('1.5k'), 1500);
  assert.ok(Number.isNaN(parseQuantity('lots')));
  assert.ok(Number.isNaN(parseQuantity('3Zi')));
});
