// The amd64 profile on bytes from the amd64 build of the simulator and on gdb's trampoline pattern.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { amd64Profile, AMD64_TRAMPOLINE } from '../../../src/bluepill/archAmd64';
import { profileOfRegisters } from '../../../src/bluepill/archOf';

interface SimCode {
  functions: Array<{ name: string; entry: number; bytes: string }>;
}
const code: SimCode = JSON.parse(readFileSync(join(__dirname, '../../fixtures/transcripts/sim-code-amd64.json'), 'utf8'));
const fn = (suffix: string): Buffer => Buffer.from(code.functions.find((f) => f.name.endsWith(suffix))!.bytes, 'hex');

test('the trampoline `mov $15, %rax; syscall` is recognised in the Go runtime of the simulator build', () => {
  const tramp = code.functions.find((f) => /runtime\.sigreturn/.test(f.name));
  assert.ok(tramp, 'runtime.sigreturn(__sigaction) is in the build');
  assert.ok(amd64Profile.isTrampoline(Buffer.from(tramp.bytes, 'hex')));
  assert.deepEqual([...AMD64_TRAMPOLINE], [0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05]);
  assert.ok(amd64Profile.isSyscallInstruction(Buffer.from(tramp.bytes, 'hex').subarray(amd64Profile.trampolineSyscallOffset)));
  assert.equal(amd64Profile.isTrampoline(Buffer.from([0x48, 0xc7, 0xc0, 0x3c, 0, 0, 0, 0x0f, 0x05])), false, 'exit, not rt_sigreturn');
});

test('CLI is the faulting instruction of kvm.bluepill and the first of ring0.kernelExitToEl0', () => {
  const bp = fn('kvm.bluepill.abi0');
  const cli = bp.indexOf(0xfa);
  assert.ok(cli > 0, 'kvm.bluepill has a CLI after its first instruction');
  assert.equal(amd64Profile.privilegedInstruction(bp.subarray(cli))?.mnemonic, 'CLI');
  assert.equal(amd64Profile.privilegedInstruction(bp), undefined, 'its first instruction (MOVQ) does not fault');
  assert.equal(amd64Profile.privilegedInstruction(fn('ring0.kernelExitToEl0.abi0'))?.mnemonic, 'CLI');
});

test('other privileged instructions fault the same way; ordinary ones do not', () => {
  const p = (...b: number[]): string | undefined => amd64Profile.privilegedInstruction(Buffer.from(b))?.mnemonic;
  assert.equal(p(0xfb), 'STI');
  assert.equal(p(0xf4), 'HLT');
  assert.equal(p(0x0f, 0x30), 'WRMSR');
  assert.equal(p(0x0f, 0x22, 0xd8), 'MOV CRn');
  assert.equal(p(0x0f, 0x05), undefined, 'SYSCALL');
  assert.equal(p(0x48, 0x89, 0xe5), undefined, 'MOVQ SP, BP');
  assert.equal(p(0x0f, 0x01, 0xd0), undefined, 'XGETBV is fine at CPL 3');
});

test('syscall recognition and names; control transfers by Go mnemonic', () => {
  assert.ok(amd64Profile.isSyscallInstruction(Buffer.from([0x0f, 0x05])));
  assert.equal(amd64Profile.isSyscallInstruction(Buffer.from([0x0f, 0x04])), false);
  assert.equal(amd64Profile.syscalls[15], 'rt_sigreturn');
  assert.equal(amd64Profile.syscalls[202], 'futex');
  assert.equal(amd64Profile.syscalls[9], 'mmap');
  const t = (text: string, ...b: number[]): boolean => amd64Profile.isControlTransfer({ pc: 0, bytes: Buffer.from(b), text });
  assert.equal(t('JMP bluepill.sim/x(SB)', 0xe9, 0, 0, 0, 0), true);
  assert.equal(t('JNE 0x10', 0x75, 0x0e), true);
  assert.equal(t('CALL AX', 0xff, 0xd0), true);
  assert.equal(t('RET', 0xc3), true);
  assert.equal(t('SYSCALL', 0x0f, 0x05), true);
  assert.equal(t('MOVQ 0x8(SP), AX', 0x48, 0x8b, 0x44, 0x24, 0x08), false);
  assert.equal(amd64Profile.isCall({ pc: 0, bytes: Buffer.from([0xe8, 0, 0, 0, 0]), text: 'CALL runtime.f(SB)' }), true);
});

test('profile constants and architecture detection from Delve register names', () => {
  assert.equal(amd64Profile.signalNumber, 11);
  assert.equal(amd64Profile.ucontextPointerRegister, 'Rdx');
  assert.equal(amd64Profile.returnAddressAtEntry, 'stack');
  assert.equal(amd64Profile.ucontextAtHandlerEntry(0x1000), 0x1008);
  assert.equal(amd64Profile.ucontextAtTrampoline(0x1008), 0x1008);
  assert.equal(profileOfRegisters([{ Name: 'Rip', Value: '0x1', DwarfNumber: 16 }]).name, 'amd64');
  assert.equal(
    profileOfRegisters([
      { Name: 'PC', Value: '0x1', DwarfNumber: 32 },
      { Name: 'X30', Value: '0x0', DwarfNumber: 30 },
    ]).name,
    'arm64',
  );
  assert.throws(() => profileOfRegisters([{ Name: 'eip', Value: '0x1', DwarfNumber: 8 }]), /unknown architecture/);
});
