import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyInstruction, describeSyscall, type CachedInstruction } from '../../../src/stepping/instructionAt';
import { decodeInstruction } from '../../../src/stepping/decodeInstruction';
import { parseProcMaps } from '../../../src/stepping/processMaps';
import type { StepArch } from '../../../src/stepping/stepArch';
import type { Register } from '../../../src/delve/delveTypes';
import { objdumpLines } from './objdumpFixture';

const maps = parseProcMaps('7f111c35d000-7f111c35f000 r-xp 00000000 00:00 0   [vdso]\n00400000-004c5000 r-xp 00000000 fe:00 1   /usr/local/bin/runsc-sandbox\n');
const VDSO_CLOCK = 0x7f111c35daf0;
const regs = (values: Record<string, number | bigint>): Register[] => Object.entries(values).map(([Name, v]) => ({ Name, Value: `0x${v.toString(16)}`, DwarfNumber: 0 }));
const noMemory = async (): Promise<number> => {
  throw new Error('no memory read expected');
};

function insn(arch: StepArch, text: RegExp, fn?: RegExp): CachedInstruction {
  const l = objdumpLines(arch).find((x) => text.test(x.text) && (!fn || fn.test(x.fn)));
  assert.ok(l, `fixture has ${text} ${fn ?? ''}`);
  const decoded = decodeInstruction(arch, l.pc, l.bytes);
  return { pc: l.pc, text: l.text, bytes: l.bytes, length: l.bytes.length, decoded, functionName: l.fn };
}

test('amd64: the futex hazard SYSCALL is futex (202); the trampoline SYSCALL is rt_sigreturn', async () => {
  const futex = insn('amd64', /^SYSCALL/, /hazardFutexWait/);
  const c = await classifyInstruction('amd64', futex, regs({ Rip: futex.pc, Rax: 202 }), maps, noMemory);
  assert.deepEqual(c, { kind: 'syscall', number: 202, name: 'futex', rtSigreturn: false, nextPc: futex.pc + 2 });
  assert.equal(describeSyscall(c as { name: string; number: number }), 'syscall futex (202)');
  const tramp = insn('amd64', /^SYSCALL/, /sigreturn/);
  const t = await classifyInstruction('amd64', tramp, regs({ Rip: tramp.pc, Rax: 15 }), maps, noMemory);
  assert.ok(t.kind === 'syscall' && t.rtSigreturn && t.name === 'rt_sigreturn');
});

test("amd64: time.now's CALL AX is a call into the vDSO only when AX points there", async () => {
  const call = insn('amd64', /^CALL AX$/, /^time\.now$/);
  const into = await classifyInstruction('amd64', call, regs({ Rip: call.pc, Rax: VDSO_CLOCK }), maps, noMemory);
  assert.deepEqual(into, { kind: 'vdsoCall', target: VDSO_CLOCK, returnAddress: call.pc + 2 });
  const elsewhere = await classifyInstruction('amd64', call, regs({ Rip: call.pc, Rax: 0x461000 }), maps, noMemory);
  assert.deepEqual(elsewhere, { kind: 'plain' });
  const noVdso = await classifyInstruction('amd64', call, regs({ Rip: call.pc, Rax: VDSO_CLOCK }), parseProcMaps(''), noMemory);
  assert.deepEqual(noVdso, { kind: 'plain' }, 'no vDSO mapped, nothing to avoid');
});

test('amd64: a memory-indirect call reads its target through the pointer reader', async () => {
  const bytes = Buffer.from('ff5018', 'hex'); // CALL 0x18(AX)
  const c: CachedInstruction = { pc: 0x401000, text: 'CALL 0x18(AX)', bytes, length: 3, decoded: decodeInstruction('amd64', 0x401000, bytes), functionName: 'f' };
  const read: number[] = [];
  const out = await classifyInstruction('amd64', c, regs({ Rip: 0x401000, Rax: 0xc000010000 }), maps, async (a) => {
    read.push(a);
    return VDSO_CLOCK;
  });
  assert.deepEqual(read, [0xc000010018]);
  assert.deepEqual(out, { kind: 'vdsoCall', target: VDSO_CLOCK, returnAddress: 0x401003 });
});

test('arm64: SVC takes its number from X8 (futex 98, mmap 222, rt_sigreturn 139); BLR X2 into the vDSO', async () => {
  const svc = insn('arm64', /^SVC/, /hazardFutexWait/);
  const f = await classifyInstruction('arm64', svc, regs({ PC: svc.pc, X8: 98, X0: 0 }), maps, noMemory);
  assert.deepEqual(f, { kind: 'syscall', number: 98, name: 'futex', rtSigreturn: false, nextPc: svc.pc + 4 });
  const mm = insn('arm64', /^SVC/, /hazardSeccompMmap/);
  const m = await classifyInstruction('arm64', mm, regs({ PC: mm.pc, X8: 222 }), maps, noMemory);
  assert.ok(m.kind === 'syscall' && m.name === 'mmap');
  const rs = await classifyInstruction('arm64', svc, regs({ PC: svc.pc, X8: 139 }), maps, noMemory);
  assert.ok(rs.kind === 'syscall' && rs.rtSigreturn);
  const blr = insn('arm64', /^CALL \(R2\)$/, /nanotime1/);
  const v = await classifyInstruction('arm64', blr, regs({ PC: blr.pc, X2: VDSO_CLOCK }), maps, noMemory);
  assert.deepEqual(v, { kind: 'vdsoCall', target: VDSO_CLOCK, returnAddress: blr.pc + 4 });
  const bl = insn('arm64', /^CALL runtime\.nanotime1/, /^time\.now$/);
  assert.deepEqual(await classifyInstruction('arm64', bl, regs({ PC: bl.pc }), maps, noMemory), { kind: 'plain' }, 'BL into the binary');
});
