import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeScalar, parseMachineExpression } from '../../../src/adapter/machineExpression';

test('registers by name and typed memory reads parse; Go expressions do not', () => {
  assert.deepEqual(parseMachineExpression('rip'), { kind: 'register', name: 'rip' });
  assert.deepEqual(parseMachineExpression(' $X0 '), { kind: 'register', name: 'X0' });
  assert.deepEqual(parseMachineExpression('*(*uint64)(0xc000073300)'), { kind: 'memory', type: 'uint64', address: 0xc000073300 });
  assert.deepEqual(parseMachineExpression('*( *uintptr )( 4096 )'), { kind: 'memory', type: 'uintptr', address: 4096 });
  for (const text of ['m.vCPUsByTID', '*(*float64)(0x10)', '*(*uint64)(0x10) + 1', 'a[0]', '']) assert.equal(parseMachineExpression(text), undefined, text);
});

test('little-endian scalars decode as Delve prints them (decimal, signed where the type is)', () => {
  const b = Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  assert.equal(decodeScalar('uint64', b), '18446744073709551614');
  assert.equal(decodeScalar('int64', b), '-2');
  assert.equal(decodeScalar('int8', b), '-2');
  assert.equal(decodeScalar('uint16', b), '65534');
  assert.equal(decodeScalar('uint32', Buffer.from([1, 2, 3, 4])), String(0x04030201));
  assert.throws(() => decodeScalar('uint64', Buffer.from([1, 2])), /only 2 of 8 bytes/);
});
