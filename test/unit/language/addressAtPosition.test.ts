import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressAt, tracebackFunction } from '../../../src/language/addressAtPosition';

const plain = { bareHex: false };

test('0x addresses anywhere, with the token range', () => {
  const line = 'landed at 0x951d5c after the hop';
  assert.deepEqual(addressAt(line, 14, plain), { kind: 'address', address: 0x951d5c, returnAddress: false, start: 10, end: 18 });
  assert.equal(addressAt(line, 3, plain), undefined);
});

test('fp= and sp= are stack addresses; pc= in a traceback line is a return address', () => {
  const line = '\t/home/pi/src/panicdemo/main.go:9 +0x58 fp=0xc000066f80 sp=0xc000066f30 pc=0x460698';
  assert.equal(addressAt(line, line.indexOf('fp=') + 6, plain), undefined);
  assert.equal(addressAt(line, line.indexOf('sp=') + 6, plain), undefined);
  const pc = addressAt(line, line.indexOf('pc=') + 6, plain);
  assert.deepEqual(pc, { kind: 'address', address: 0x460698, returnAddress: true, start: line.indexOf('pc=') + 3, end: line.length });
});

test('+0x31 of a traceback frame takes the function from the line above', () => {
  const line = '\t/home/pi/src/panicdemo/main.go:6 +0x31 fp=0xc000066f30';
  const ref = addressAt(line, line.indexOf('+0x31') + 2, { bareHex: false, previousLine: 'main.index({0xc000066f58?, 0x404bb9?, 0x60?}, 0x0?)' });
  assert.deepEqual(ref, {
    kind: 'functionOffset',
    function: 'main.index',
    offset: 0x31,
    returnAddress: true,
    start: line.indexOf('+0x31'),
    end: line.indexOf('+0x31') + 5,
  });
  // without a frame line above: nothing
  assert.equal(addressAt(line, line.indexOf('+0x31') + 2, { bareHex: false, previousLine: 'goroutine 1 [running]:' }), undefined);
});

test('traceback function lines', () => {
  assert.equal(tracebackFunction('main.main()'), 'main.main');
  assert.equal(tracebackFunction('main.(*Counter).Add(0xc000010000, {0x4b1c2e, 0x3})'), 'main.(*Counter).Add');
  assert.equal(tracebackFunction('runtime.goparkunlock(...)'), 'runtime.goparkunlock');
  assert.equal(tracebackFunction('created by runtime.init.6'), 'runtime.init.6');
  assert.equal(tracebackFunction('created by main.main in goroutine 1'), 'main.main');
  assert.equal(tracebackFunction('panic: runtime error: index out of range [6] with length 3'), undefined);
});

test('name+0xoff, including names with parentheses and brackets', () => {
  for (const name of ['kvm.bluepill', 'main.(*T).m', 'main.Sum[go.shape.int_0]']) {
    const line = `at ${name}+0x1c now`;
    const ref = addressAt(line, line.indexOf('+0x') + 1, plain);
    assert.deepEqual(ref && ref.kind === 'functionOffset' ? [ref.function, ref.offset] : ref, [name, 0x1c]);
  }
});

test('bare hex only when allowed, never in the encoding column, never inside words', () => {
  assert.equal(addressAt('crash at 951d5c', 11, plain), undefined);
  assert.deepEqual(addressAt('crash at 951d5c', 11, { bareHex: true })?.kind, 'address');
  const insn = '  main.go:6\t\t0x460600\t\t4883ec18\t\tSUBQ $0x18, SP\t\t';
  assert.equal(addressAt(insn, insn.indexOf('4883ec18') + 2, { bareHex: true }), undefined);
  assert.equal(addressAt('R0x12 and deadbeefcafe', 2, { bareHex: true }), undefined);
  assert.equal(addressAt('facade', 2, { bareHex: true }), undefined, 'hex letters only: a word');
});

test('a 100k-character line: only a window around the cursor is read', () => {
  const line = `${'z'.repeat(100_000)} 0x460631 ${'0x1 '.repeat(50_000)}`;
  assert.equal(addressAt(line, 100_004, plain)?.kind, 'address');
  assert.equal(addressAt(line, 50_000, plain), undefined);
});
