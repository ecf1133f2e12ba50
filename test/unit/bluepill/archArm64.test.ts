// The arm64 profile on bytes from the arm64 build of the simulator (test/fixtures/transcripts/sim-code-arm64.json,
// refreshed by test/e2e/bluepill/simCode.test.ts) and on the constants gVisor and gdb use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { arm64Profile, decodeSystemRegisterAccess, el1OnlyAccess, ARM64_TRAMPOLINE } from '../../../src/bluepill/archArm64';
import type { Instruction } from '../../../src/bluepill/archProfile';

interface SimCode {
  functions: Array<{ name: string; entry: number; bytes: string }>;
}
const code: SimCode = JSON.parse(readFileSync(join(__dirname, '../../fixtures/transcripts/sim-code-arm64.json'), 'utf8'));

function words(suffix: string): Array<{ pc: number; bytes: Buffer }> {
  const f = code.functions.find((x) => x.name.endsWith(suffix));
  assert.ok(f, `${suffix} is in the arm64 build`);
  const b = Buffer.from(f.bytes, 'hex');
  const out = [];
  for (let i = 0; i + 4 <= b.length; i += 4) out.push({ pc: f.entry + i, bytes: b.subarray(i, i + 4) });
  return out;
}

test('the faulting MRS TPIDR_EL1 of kvm.bluepill is found, and it is the only one there', () => {
  const priv = words('kvm.bluepill.abi0').filter((w) => arm64Profile.privilegedInstruction(w.bytes));
  assert.equal(priv.length, 1);
  assert.equal(priv[0].bytes.readUInt32LE(0), 0xd538d08a);
  assert.equal(arm64Profile.privilegedInstruction(priv[0].bytes)?.mnemonic, 'MRS X10, TPIDR_EL1');
});

test('ring0.kernelExitToEl0 starts with an EL1-only MRS (the second hop of a chain)', () => {
  const first = words('ring0.kernelExitToEl0.abi0')[0];
  assert.equal(first.bytes.readUInt32LE(0), 0xd538d092);
  assert.equal(arm64Profile.privilegedInstruction(first.bytes)?.mnemonic, 'MRS X18, TPIDR_EL1');
});

test('no instruction of the handler or of the guest-exit code is taken for a faulting one', () => {
  for (const fn of ['kvm.sighandler.abi0', 'kvm.bluepillHandler', 'kvm.guestExitSyscall.abi0']) {
    const priv = words(fn).filter((w) => arm64Profile.privilegedInstruction(w.bytes));
    assert.deepEqual(priv, [], fn);
  }
});

test('the guest exit lands on an SVC #0, recognised as a syscall instruction', () => {
  const svc = words('kvm.guestExitSyscall.abi0').filter((w) => arm64Profile.isSyscallInstruction(w.bytes));
  assert.equal(svc.length, 1);
  assert.equal(svc[0].bytes.readUInt32LE(0), 0xd4000001);
  assert.equal(arm64Profile.isControlTransfer({ pc: svc[0].pc, bytes: svc[0].bytes, text: 'SVC' }), true);
});

test('MRS decoding: op0/op1/CRn/CRm/op2/Rt of TPIDR_EL1, and EL1-only is op1 ≠ 3, not a fixed list', () => {
  assert.deepEqual(decodeSystemRegisterAccess(0xd538d08a), { read: true, op0: 3, op1: 0, crn: 13, crm: 0, op2: 4, rt: 10 });
  // MRS X0, TPIDR_EL0 (op1 3): allowed at EL0.
  assert.equal(el1OnlyAccess(0xd53bd040), undefined);
  // MRS X1, CNTVCT_EL0: allowed.
  assert.equal(el1OnlyAccess(0xd53be041), undefined);
  // MRS X0, MIDR_EL1: an ID register Linux emulates for EL0 — no SIGILL.
  assert.equal(el1OnlyAccess(0xd5380000), undefined);
  // MSR TPIDR_EL1, X0 and MRS X0, SCTLR_EL1 fault; so does an unnamed EL2 register (op1 4).
  assert.ok(el1OnlyAccess(0xd518d080));
  assert.equal(arm64Profile.privilegedInstruction(Buffer.from([0x80, 0xd0, 0x18, 0xd5]))?.mnemonic, 'MSR TPIDR_EL1, X0');
  assert.equal(arm64Profile.privilegedInstruction(Buffer.from([0x00, 0x10, 0x38, 0xd5]))?.mnemonic, 'MRS X0, SCTLR_EL1');
  assert.match(arm64Profile.privilegedInstruction(Buffer.from([0x00, 0x10, 0x3c, 0xd5]))!.mnemonic, /^MRS X0, S3_4_C1_C0_0$/);
  // Not a system register access at all.
  assert.equal(decodeSystemRegisterAccess(0xd503201f), undefined); // NOP
  assert.equal(decodeSystemRegisterAccess(0xd4000001), undefined); // SVC
});

test("the vDSO trampoline `movz x8, #139; svc #0` (gdb's aarch64_linux_rt_sigframe) is recognised by bytes", () => {
  const le = Buffer.alloc(8);
  le.writeUInt32LE(0xd2801168, 0);
  le.writeUInt32LE(0xd4000001, 4);
  assert.ok(arm64Profile.isTrampoline(le));
  assert.ok(le.equals(ARM64_TRAMPOLINE));
  assert.equal(arm64Profile.trampolineSyscallOffset, 4);
  const other = Buffer.from(le);
  other.writeUInt32LE(0xd2800ba8, 0); // mov x8, #93 (exit)
  assert.equal(arm64Profile.isTrampoline(other), false);
  assert.equal(arm64Profile.isTrampoline(le.subarray(0, 4)), false);
});

test('control transfers decoded by bytes: B, BL, B.cond, CBZ, TBZ, RET, BLR; data ops are not', () => {
  const t = (w: number, text = ''): boolean => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(w >>> 0, 0);
    const insn: Instruction = { pc: 0, bytes: b, text };
    return arm64Profile.isControlTransfer(insn);
  };
  for (const w of [0x14000009, 0x97ffcc09, 0x54000120, 0xb4000084, 0x360000e4, 0xd65f03c0, 0xd63f0000]) assert.equal(t(w), true, w.toString(16));
  for (const w of [0xf9400b90, 0xaa0403e5, 0x8b0400c6, 0xd503201f]) assert.equal(t(w), false, w.toString(16));
  const bl = Buffer.alloc(4);
  bl.writeUInt32LE(0x97ffcc09, 0);
  assert.equal(arm64Profile.isCall({ pc: 0, bytes: bl, text: 'CALL x(SB)' }), true);
});

test('profile constants: SIGILL, X2 holds &ucontext, LR holds the return address, syscall numbers', () => {
  assert.equal(arm64Profile.signalNumber, 4);
  assert.equal(arm64Profile.ucontextPointerRegister, 'X2');
  assert.equal(arm64Profile.returnAddressAtEntry, 'lr');
  assert.equal(arm64Profile.lrRegister, 'X30');
  assert.equal(arm64Profile.syscalls[139], 'rt_sigreturn');
  assert.equal(arm64Profile.syscalls[98], 'futex');
  assert.equal(arm64Profile.syscalls[222], 'mmap');
  assert.equal(arm64Profile.ucontextAtHandlerEntry(0x4000460da0), 0x4000460e20);
});
