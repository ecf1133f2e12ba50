import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contextRows, hopRow } from '../../../src/extension/contextItems';
import { hopsMarkdown } from '../../../src/extension/hopsMarkdown';
import type { WireHop } from '../../../src/protocol/bluepillMessages';

const hop: WireHop = {
  index: 2,
  threadId: 4989,
  signal: 'SIGILL (4)',
  fault: { pc: '0x95c6d8', text: '0x95c6d8 kvm.bluepill+0x18', instruction: 'MRS $18052, R10' },
  handler: { pc: '0x95c700', text: '0x95c700 kvm.sighandler' },
  trampoline: { pc: '0xffffb00ba7dc', text: '0xffffb00ba7dc [vdso]+0x7dc' },
  landing: { pc: '0x951d5c', text: '0x951d5c ring0.(*CPU).SwitchToUser+0x9c' },
  ucontext: '0x4000460e20',
  guestMs: 12.25,
  foreignHits: 0,
  host: {
    title: 'Host',
    pc: '0x95c6d8',
    sp: '0x4000460000',
    lr: '0x95a004',
    flags: '0x60000000',
    flagsText: '[Z C] EL0t',
    registers: [
      { name: 'X0', value: '0x1', changed: true },
      { name: 'X30', value: '0x95a004', symbol: 'kvm.(*vCPU).SwitchToUser+0x44', changed: false },
      { name: 'SP', value: '0x4000460000', changed: false },
      { name: 'PC', value: '0x95c6d8', symbol: 'kvm.bluepill+0x18', changed: true },
      { name: 'PSTATE', value: '0x60000000', changed: false },
    ],
  },
  guest: {
    title: 'Guest',
    pc: '0x951d5c',
    sp: '0x4000460000',
    lr: '0x95a004',
    flags: '0x60000000',
    flagsText: '[Z C] EL0t',
    registers: [
      { name: 'X0', value: '0x2', changed: true },
      { name: 'PC', value: '0x951d5c', symbol: 'ring0.(*CPU).SwitchToUser+0x9c', changed: true },
    ],
  },
};

test('context rows put PC, SP, LR and flags first, symbolized and marked when changed', () => {
  const rows = contextRows(hop.host);
  assert.deepEqual(
    rows.slice(0, 4).map((r) => r.label),
    ['PC', 'SP', 'LR', 'flags'],
  );
  assert.equal(rows[0].description, '0x95c6d8 · kvm.bluepill+0x18 · changed');
  assert.equal(rows[0].changed, true);
  assert.equal(rows[1].changed, false);
  assert.match(rows[3].description, /\[Z C\] EL0t/);
  const x0 = rows.find((r) => r.label === 'X0')!;
  assert.equal(x0.changed, true);
  assert.equal(x0.isAddress, false, 'a small value is not offered for disassembly');
  assert.equal(rows.find((r) => r.label === 'X30')!.isAddress, true);
  assert.equal(rows.filter((r) => r.label === 'PC').length, 1, 'PC not listed twice');
  assert.deepEqual(contextRows(undefined), []);
});

test('a hop row reads fault → landing, with its details as children', () => {
  const row = hopRow(hop);
  assert.equal(row.label, '#2 thread 4989');
  assert.equal(row.description, '0x95c6d8 kvm.bluepill+0x18 → 0x951d5c ring0.(*CPU).SwitchToUser+0x9c');
  assert.deepEqual(
    row.children.map((c) => c.label),
    ['fault', 'handler', 'ucontext', 'guest ran', 'trampoline', 'landing'],
  );
  assert.match(row.children[0].description, /MRS \$18052, R10 → SIGILL \(4\)/);
  assert.equal(row.children[5].address, '0x951d5c');
});

test('the Markdown export lists every hop in the shape of a hand-written list', () => {
  const md = hopsMarkdown([
    hop,
    {
      ...hop,
      index: 3,
      fault: { pc: '0x951fa0', text: '0x951fa0 ring0.kernelExitToEl0', instruction: 'MRS $18066, R18' },
      landing: { pc: '0x7f41c', text: '0x7f41c runtime.futex+0x1c', instruction: 'SVC $0' },
    },
  ]);
  assert.match(md, /^# Bluepill hops/);
  assert.match(md, /```go-objdump/);
  assert.equal((md.match(/\/\/ trampoline: rt_sigreturn/g) ?? []).length, 2);
  assert.match(md, /0x95c6d8 kvm.bluepill\+0x18 MRS \$18052, R10\s+\/\/ faults: SIGILL \(4\)/);
  assert.match(md, /0x7f41c runtime.futex\+0x1c SVC \$0\s+\/\/ landed/);
  assert.match(hopsMarkdown([]), /no hop recorded/);
});
