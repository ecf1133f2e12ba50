// The stopped-event line and the Markdown hop list (the shape of a hand-written one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeHops, hopsToMarkdown, type Hop } from '../../../src/bluepill/hop';
import type { MachineContext } from '../../../src/bluepill/machineContext';

function ctx(pc: number): MachineContext {
  return { registers: [{ name: 'PC', value: BigInt(pc) }], pc, sp: 0x4000460e00, fp: 0, flags: 0n, extra: {} };
}

const hop1: Hop = {
  threadId: 4989,
  fault: { pc: 0x95c6d8, symbol: { name: 'gvisor.dev/gvisor/pkg/sentry/platform/kvm.bluepill', offset: 0x18 }, instruction: 'MRS $18052, R10' },
  signalNumber: 4,
  signalName: 'SIGILL',
  handler: { pc: 0x95c700, symbol: { name: 'gvisor.dev/gvisor/pkg/sentry/platform/kvm.sighandler', offset: 0 } },
  ucontextAddress: 0x4000460e20,
  hostContext: ctx(0x95c6d8),
  guestContext: ctx(0x951fa0),
  trampoline: { pc: 0xffffb00ba7dc, symbol: { name: '[vdso]', offset: 0x7dc } },
  landing: { pc: 0x951fa0, symbol: { name: 'gvisor.dev/gvisor/pkg/ring0.kernelExitToEl0', offset: 0 }, instruction: 'MRS $18052, R18' },
  guestMs: 1234.5,
  foreignHits: 0,
};
const hop2: Hop = {
  ...hop1,
  fault: { pc: 0x951fa0, symbol: { name: 'gvisor.dev/gvisor/pkg/ring0.kernelExitToEl0', offset: 0 }, instruction: 'MRS $18052, R18' },
  hostContext: ctx(0x951fa0),
  guestContext: ctx(0x7f41c),
  landing: { pc: 0x7f41c, symbol: { name: 'runtime.futex', offset: 0x1c }, instruction: 'SVC $0' },
  guestMs: 2,
  foreignHits: 3,
};

test('the stopped-event line names the first fault and the last landing, with short symbols', () => {
  assert.equal(describeHops([hop1, hop2]), 'bluepill: 0x95c6d8 kvm.bluepill+0x18 → 0x7f41c runtime.futex+0x1c (2 hops)');
  assert.equal(describeHops([hop1]), 'bluepill: 0x95c6d8 kvm.bluepill+0x18 → 0x951fa0 ring0.kernelExitToEl0 (1 hop)');
  assert.equal(describeHops([]), 'bluepill: no hop');
});

test('a hop joined in the trampoline starts the line at the trampoline', () => {
  const joined: Hop = { ...hop2, fault: undefined, handler: undefined, hostContext: undefined, joinedAt: 'trampoline' };
  assert.equal(describeHops([joined]), 'bluepill: 0xffffb00ba7dc [vdso]+0x7dc → 0x7f41c runtime.futex+0x1c (1 hop)');
});

test('the Markdown export lists each hop as a hand-written list does: fault, handler, guest exit PC, trampoline, landing', () => {
  const md = hopsToMarkdown([hop1, hop2]);
  const lines = md.split('\n');
  assert.equal(lines[0], '## Bluepill hops');
  assert.ok(md.includes('bluepill: 0x95c6d8 kvm.bluepill+0x18 → 0x7f41c runtime.futex+0x1c (2 hops), thread 4989'));
  const body = lines.slice(lines.indexOf('```') + 1, lines.lastIndexOf('```'));
  const order = [
    '0x95c6d8 kvm.bluepill+0x18 MRS',
    '0x95c700 kvm.sighandler',
    'ucontext PC now 0x951fa0',
    '0xffffb00ba7dc [vdso]+0x7dc',
    '0x951fa0 ring0.kernelExitToEl0 MRS',
    '0x951fa0 ring0.kernelExitToEl0 MRS',
    '0x95c700 kvm.sighandler',
    'ucontext PC now 0x7f41c',
    '0xffffb00ba7dc',
    '0x7f41c runtime.futex+0x1c SVC',
  ];
  let at = 0;
  for (const want of order) {
    const i = body.findIndex((l, k) => k >= at && l.includes(want));
    assert.ok(i >= 0, `"${want}" after line ${at} in:\n${body.join('\n')}`);
    at = i + 1;
  }
  assert.match(md, /hop 1: SIGILL \(4\), ucontext 0x4000460e20, guest ran 1234\.5 ms/);
  assert.match(md, /hop 2: .*3 foreign hit\(s\) ignored/);
  assert.equal(hopsToMarkdown([]).includes('(none)'), true);
});
