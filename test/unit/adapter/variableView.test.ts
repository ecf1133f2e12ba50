// Delve Variables (shapes as Delve 1.20 sends them) → Variables-view text and children.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Variable } from '../../../src/delve/delveTypes';
import { childrenOf, formatValue, isCompound, Kind, memoryReferenceOf, needsReload } from '../../../src/adapter/variableView';
import { hexDump } from '../../../src/adapter/consoleCommands';
import { threadName, sortThreads } from '../../../src/adapter/threadNames';
import { parseAddress } from '../../../src/adapter/addresses';

function v(p: Partial<Variable>): Variable {
  return {
    name: '',
    addr: 0,
    onlyAddr: false,
    type: '',
    realType: '',
    flags: 0,
    kind: 0,
    value: '',
    len: 0,
    cap: 0,
    children: [],
    base: 0,
    unreadable: '',
    ...p,
  };
}

test('scalars, strings, pointers, structs, slices', () => {
  assert.equal(formatValue(v({ kind: Kind.Int, value: '42' })), '42');
  // A uintptr reads as the address it is; other integers as numbers (the session shows those that point into code in hex).
  assert.equal(formatValue(v({ kind: Kind.Uintptr, value: '12005266' })), '0xb72f92');
  assert.equal(formatValue(v({ kind: Kind.Uint64, value: '12005266' })), '12005266');
  assert.equal(formatValue(v({ kind: Kind.String, value: 'hi', len: 2 })), '"hi"');
  assert.equal(formatValue(v({ kind: Kind.String, value: 'ab', len: 10 })), '"ab"…+8 more');
  const field = v({ name: 'id', kind: Kind.Uint64, value: '7', addr: 0x1008 });
  const struct = v({ name: '', type: 'kvm.vCPU', kind: Kind.Struct, len: 1, children: [field], addr: 0x1000 });
  const ptr = v({ name: 'c', type: '*kvm.vCPU', kind: Kind.Ptr, children: [struct] });
  assert.equal(formatValue(ptr), '(*kvm.vCPU) 0x1000');
  assert.equal(memoryReferenceOf(ptr), '0x1000');
  assert.equal(isCompound(ptr), true);
  assert.deepEqual(
    childrenOf(ptr, 'c').map((c) => [c.name, c.evaluateName]),
    [['*c', '*(c)']],
  );
  assert.deepEqual(
    childrenOf(struct, '*(c)').map((c) => [c.name, c.evaluateName]),
    [['id', '(*(c)).id']],
  );
  assert.equal(formatValue(struct), 'kvm.vCPU {id: 7}');
  assert.equal(formatValue(v({ kind: Kind.Ptr, type: '*int' })), 'nil');
  assert.equal(formatValue(v({ kind: Kind.Slice, type: '[]int', len: 3, cap: 4, base: 0x10 })), '[]int len: 3, cap: 4');
  assert.equal(formatValue(v({ kind: Kind.Int, unreadable: 'bad addr' })), '(unreadable: bad addr)');
  assert.equal(needsReload(v({ kind: Kind.Struct, len: 3 })), true, 'a struct cut off by the load depth is re-read');
  assert.equal(needsReload(struct), false);
});

test('map children come as key/value pairs', () => {
  const m = v({ kind: Kind.Map, type: 'map[string]int', len: 1, children: [v({ kind: Kind.String, value: 'k', len: 1 }), v({ kind: Kind.Int, value: '1' })] });
  assert.deepEqual(
    childrenOf(m, 'm').map((c) => [c.name, c.evaluateName, c.variable.value]),
    [['["k"]', '(m)["k"]', '1']],
  );
});

test('threads, hex dumps, addresses', () => {
  const t = { id: 12, pc: 0x401000, file: '', line: 0, function: { name: 'kvm.sighandler', value: 0, type: 0, goType: 0, optimized: false }, goroutineID: 5 };
  assert.equal(threadName(t), '12 kvm.sighandler [g 5]');
  assert.equal(threadName({ ...t, function: null, goroutineID: 0 }), '12 0x401000');
  assert.deepEqual(
    sortThreads(
      [
        { ...t, id: 30 },
        { ...t, id: 20 },
        { ...t, id: 10 },
      ],
      20,
    ).map((x) => x.id),
    [20, 10, 30],
  );
  assert.equal(hexDump(0x1000, Buffer.from('ABC\0')), '000000001000  41 42 43 00' + ' '.repeat(47 - 11) + '  ABC.');
  assert.equal(parseAddress('0x1F'), 31);
  assert.equal(parseAddress('42'), 42);
  assert.equal(parseAddress('zz'), undefined);
});
