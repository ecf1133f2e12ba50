// The arch profiles' instruction tests against Go's own disassembly of the hazard functions and
// the runtime's clock and sigreturn code (test/fixtures/stepping): what the safe step treats as a
// syscall or a call is exactly what `go tool objdump` shows as one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { amd64Profile } from '../../../src/bluepill/archAmd64';
import { arm64Profile } from '../../../src/bluepill/archArm64';
import type { Instruction } from '../../../src/bluepill/archProfile';
import { objdumpLines } from '../../support/objdumpFixture';

const PROFILES = { amd64: amd64Profile, arm64: arm64Profile };

for (const arch of ['amd64', 'arm64'] as const) {
  const p = PROFILES[arch];
  const lines = objdumpLines(arch);
  const insn = (l: (typeof lines)[number]): Instruction => ({ pc: l.pc, bytes: l.bytes, text: l.text });

  test(`${arch}: every syscall instruction Go's objdump shows is a syscall instruction, and nothing else is`, () => {
    const syscalls = lines.filter((l) => /^(SYSCALL|SVC)\b/.test(l.text));
    assert.ok(syscalls.length >= 5, `fixture holds syscalls (${syscalls.length})`);
    for (const l of lines) assert.equal(p.isSyscallInstruction(l.bytes), syscalls.includes(l), `${l.fn} 0x${l.pc.toString(16)} ${l.text}`);
  });

  test(`${arch}: calls are calls, with the register of an indirect one; nothing else is a call`, () => {
    let indirect = 0;
    for (const l of lines) {
      const named = /^(CALL|BL) \S+\(SB\)$/.test(l.text);
      const reg = /^(?:CALL|BL) \(?(R\d+|[A-Z]X|[SD]I)\)?$/.exec(l.text);
      assert.equal(p.isCall(insn(l)), named || reg !== null, `${l.fn} 0x${l.pc.toString(16)} ${l.text}`);
      if (reg) {
        const want = arch === 'arm64' ? `X${reg[1].slice(1)}` : ({ AX: 'Rax', BX: 'Rbx', CX: 'Rcx', DX: 'Rdx', SI: 'Rsi', DI: 'Rdi' }[reg[1]] ?? reg[1]);
        assert.equal(p.indirectCallRegister(insn(l)), want, l.text);
        indirect++;
      } else {
        assert.equal(p.indirectCallRegister(insn(l)), undefined, l.text);
      }
    }
    assert.ok(indirect >= 2, `indirect calls into the vDSO seen (${indirect})`);
  });
}
