import { test } from 'node:test';
import assert from 'node:assert/strict';
import { amd64Profile } from '../../../src/bluepill/archAmd64';
import type { Hop } from '../../../src/bluepill/hop';
import type { MachineContext } from '../../../src/bluepill/machineContext';
import { hopToWire } from '../../../src/adapter/hopToWire';

function ctx(pc: number, rbx: bigint, flags: bigint): MachineContext {
  return {
    registers: [
      { name: 'Rip', value: BigInt(pc) },
      { name: 'Rsp', value: 0xc000059400n },
      { name: 'Rbx', value: rbx },
      { name: 'Rflags', value: flags },
    ],
    pc,
    sp: 0xc000059400,
    fp: 0,
    flags,
    extra: {},
  };
}

const hop: Hop = {
  threadId: 4989,
  fault: { pc: 0x4c24e5, symbol: { name: 'bluepill.sim/pkg/sentry/platform/kvm.bluepill', offset: 5 }, instruction: 'CLI' },
  signalNumber: 11,
  signalName: 'SIGSEGV',
  handler: { pc: 0x4c2540, symbol: { name: 'bluepill.sim/pkg/sentry/platform/kvm.sighandler', offset: 0 } },
  ucontextAddress: 0xc000059480,
  hostContext: ctx(0x4c24e5, 1n, 0x246n),
  guestContext: ctx(0x4c2600, 0x6775657374000001n, 0x246n),
  trampoline: { pc: 0x461b60, symbol: { name: 'runtime.sigreturn', offset: 0 } },
  landing: { pc: 0x4c2600, symbol: { name: 'bluepill.sim/pkg/sentry/platform/kvm.guestExitSyscall', offset: 0xa }, instruction: 'SYSCALL' },
  guestMs: 2.5,
  foreignHits: 1,
};

test('a hop becomes strings: 64-bit values intact, changed registers marked on both sides', () => {
  const w = hopToWire(hop, 3, amd64Profile, { guest: new Map([['Rip', { name: 'bluepill.sim/pkg/sentry/platform/kvm.guestExitSyscall', offset: 0xa }]]) });
  assert.equal(w.index, 3);
  assert.equal(w.signal, 'SIGSEGV (11)');
  assert.equal(w.fault?.text, '0x4c24e5 kvm.bluepill+0x5');
  assert.equal(w.landing.text, '0x4c2600 kvm.guestExitSyscall+0xa');
  assert.equal(w.ucontext, '0xc000059480');
  const g = new Map(w.guest.registers.map((r) => [r.name, r]));
  assert.equal(g.get('Rbx')?.value, '0x6775657374000001', 'no precision lost');
  assert.equal(g.get('Rbx')?.changed, true);
  assert.equal(g.get('Rip')?.changed, true);
  assert.equal(g.get('Rip')?.symbol, 'kvm.guestExitSyscall+0xa');
  assert.equal(g.get('Rsp')?.changed, false);
  assert.equal(g.get('Rflags')?.changed, false);
  const h = new Map(w.host!.registers.map((r) => [r.name, r]));
  assert.equal(h.get('Rbx')?.changed, true);
  assert.equal(w.host?.pc, '0x4c24e5');
  assert.match(w.guest.flagsText, /IF/);
  assert.match(w.guest.flagsText, /ZF/);
});

test('a hop joined mid-handler has no host context and marks nothing changed', () => {
  const w = hopToWire({ ...hop, hostContext: undefined, fault: undefined, joinedAt: 'handler' }, 1, amd64Profile);
  assert.equal(w.host, undefined);
  assert.equal(w.fault, undefined);
  assert.ok(w.guest.registers.every((r) => !r.changed));
});
