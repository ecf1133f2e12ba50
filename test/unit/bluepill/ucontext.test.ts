// Typed ucontext decoding, offsets checked against gVisor's bluepill_*.s constants.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AMD64_UCONTEXT_READ_SIZE, amd64GregOffset, decodeEflags, decodeUcontextAmd64, looksLikeUcontextAmd64 } from '../../../src/bluepill/ucontextAmd64';
import {
  ARM64_PC_OFFSET,
  ARM64_PSTATE_OFFSET,
  ARM64_REGS_OFFSET,
  ARM64_RESERVED_OFFSET,
  ARM64_SP_OFFSET,
  ARM64_UCONTEXT_READ_SIZE,
  arm64RegOffset,
  decodePstate,
  decodeUcontextArm64,
  looksLikeUcontextArm64,
} from '../../../src/bluepill/ucontextArm64';
import { registerValue } from '../../../src/bluepill/machineContext';

test("amd64 offsets equal gVisor's CONTEXT_RAX 0x90 and CONTEXT_RIP 0xa8 (gregs at 40)", () => {
  assert.equal(amd64GregOffset('Rax'), 0x90);
  assert.equal(amd64GregOffset('Rip'), 0xa8);
  assert.equal(amd64GregOffset('R8'), 0x28);
  assert.equal(amd64GregOffset('Rsp'), 0xa0);
  assert.equal(amd64GregOffset('Rflags'), 0xb0);
  assert.equal(amd64GregOffset('Rdx'), 0x88);
});

test('amd64 decode: every greg lands on its Delve name; PC, SP, FP and flags; the frame check', () => {
  const uc = 0x7f0000001008;
  const mem = Buffer.alloc(AMD64_UCONTEXT_READ_SIZE);
  mem.writeBigUInt64LE(0x7n, 0); // uc_flags
  mem.writeBigUInt64LE(0x4a2f11n, amd64GregOffset('Rip'));
  mem.writeBigUInt64LE(0xc000123456n, amd64GregOffset('Rsp'));
  mem.writeBigUInt64LE(0xc000123480n, amd64GregOffset('Rbp'));
  mem.writeBigUInt64LE(0xc00001a000n, amd64GregOffset('Rax'));
  mem.writeBigUInt64LE(0x6775657374000007n, amd64GregOffset('R13'));
  mem.writeBigUInt64LE(0x10246n, amd64GregOffset('Rflags'));
  mem.writeBigUInt64LE(13n, amd64GregOffset('trapno'));
  mem.writeBigUInt64LE(BigInt(uc + 0x1f8), AMD64_UCONTEXT_READ_SIZE - 8); // fpregs → same frame, 64-byte aligned as the kernel puts it
  const ctx = decodeUcontextAmd64(mem);
  assert.equal(ctx.pc, 0x4a2f11);
  assert.equal(ctx.sp, 0xc000123456);
  assert.equal(ctx.fp, 0xc000123480);
  assert.equal(ctx.flags, 0x10246n);
  assert.equal(registerValue(ctx, 'Rax'), 0xc00001a000n);
  assert.equal(registerValue(ctx, 'R13'), 0x6775657374000007n, 'values above 2^53 are kept exact');
  assert.equal(ctx.extra.trapno, 13n);
  assert.deepEqual(
    ctx.registers.slice(0, 3).map((r) => r.name),
    ['Rip', 'Rsp', 'Rax'],
  );
  assert.equal(ctx.registers.length, 18);
  assert.ok(looksLikeUcontextAmd64(mem));
  // gVisor's bluepillArchExit points fpregs at the vCPU's FPU buffer (seen at uc+0x85e80 on real runsc).
  mem.writeBigUInt64LE(BigInt(uc + 0x85e78), AMD64_UCONTEXT_READ_SIZE - 8);
  assert.ok(looksLikeUcontextAmd64(mem), 'fpregs moved by the handler to a heap buffer');
  mem.writeBigUInt64LE(BigInt(uc + 0x1fc), AMD64_UCONTEXT_READ_SIZE - 8);
  assert.equal(looksLikeUcontextAmd64(mem), false, 'fpregs must be 16-byte aligned (FXRSTOR/XRSTOR)');
  mem.writeBigUInt64LE(0n, AMD64_UCONTEXT_READ_SIZE - 8);
  assert.equal(looksLikeUcontextAmd64(mem), false, 'a kernel-written frame always has fpregs');
  mem.writeBigUInt64LE(BigInt(uc + 0x1f8), AMD64_UCONTEXT_READ_SIZE - 8);
  assert.throws(() => decodeUcontextAmd64(mem.subarray(0, 100)), /needs/);
});

test('EFLAGS bits and IOPL', () => {
  const v = decodeEflags(0x246n);
  assert.deepEqual(v.set, ['IF', 'ZF', 'PF']);
  assert.equal(v.fields.IOPL, 0);
  assert.equal(v.text, '[IF ZF PF] IOPL=0');
  assert.deepEqual(decodeEflags(0x3201n).set, ['IF', 'CF']);
  assert.equal(decodeEflags(0x3201n).fields.IOPL, 3);
});

test("arm64 offsets: uc_mcontext at 176, gVisor's CONTEXT_R0 0xB8 and CONTEXT_PC 0x1B8", () => {
  assert.equal(ARM64_REGS_OFFSET, 0xb8);
  assert.equal(ARM64_PC_OFFSET, 0x1b8);
  assert.equal(ARM64_SP_OFFSET, 0x1b0);
  assert.equal(ARM64_PSTATE_OFFSET, 0x1c0);
  assert.equal(ARM64_RESERVED_OFFSET, 0x1d0);
  assert.equal(arm64RegOffset(30), 0xb8 + 30 * 8);
});

test('arm64 decode: X0..X30, SP, PC, PSTATE, fault_address; the FPSIMD magic marks a real frame', () => {
  const mem = Buffer.alloc(ARM64_UCONTEXT_READ_SIZE);
  mem.writeBigUInt64LE(0x95c6d8n, 176); // fault_address
  for (let n = 0; n <= 30; n++) mem.writeBigUInt64LE(BigInt(0x1000 + n), arm64RegOffset(n));
  mem.writeBigUInt64LE(0x95a004n, arm64RegOffset(30));
  mem.writeBigUInt64LE(0x4000460e00n, ARM64_SP_OFFSET);
  mem.writeBigUInt64LE(0x95c6d8n, ARM64_PC_OFFSET);
  mem.writeBigUInt64LE(0x60000000n, ARM64_PSTATE_OFFSET);
  mem.writeUInt32LE(0x46508001, ARM64_RESERVED_OFFSET);
  const ctx = decodeUcontextArm64(mem);
  assert.equal(ctx.pc, 0x95c6d8);
  assert.equal(ctx.lr, 0x95a004);
  assert.equal(ctx.sp, 0x4000460e00);
  assert.equal(ctx.fp, 0x1000 + 29);
  assert.equal(registerValue(ctx, 'X9'), 0x1009n);
  assert.equal(registerValue(ctx, 'PC'), 0x95c6d8n);
  assert.equal(ctx.extra.fault_address, 0x95c6d8n);
  assert.deepEqual(
    ctx.registers.slice(-3).map((r) => r.name),
    ['SP', 'PC', 'PSTATE'],
  );
  assert.equal(ctx.registers.length, 34);
  assert.ok(looksLikeUcontextArm64(mem));
  mem.writeUInt32LE(0, ARM64_RESERVED_OFFSET);
  assert.equal(looksLikeUcontextArm64(mem), false);
});

test('PSTATE: NZCV, DAIF, exception level and SP selection', () => {
  const user = decodePstate(0x60000000n);
  assert.deepEqual(user.set, ['Z', 'C']);
  assert.equal(user.fields.EL, 0);
  assert.equal(user.text, '[Z C] [] EL0t');
  const kernel = decodePstate(0x3c5n); // DAIF set, EL1h
  assert.deepEqual(kernel.set, ['D', 'A', 'I', 'F']);
  assert.equal(kernel.fields.EL, 1);
  assert.equal(kernel.fields.SP, 1);
  assert.equal(kernel.text, '[] [D A I F] EL1h');
});
