import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeInstruction, endsWithCall, endsWithSyscall } from '../../../src/stepping/decodeInstruction';
import { functionEntries, objdumpLines } from './objdumpFixture';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

for (const arch of ['amd64', 'arm64'] as const) {
  test(`${arch}: every syscall instruction Go's objdump shows decodes as a syscall, and nothing else does`, () => {
    const lines = objdumpLines(arch);
    const syscalls = lines.filter((l) => /^(SYSCALL|SVC)\b/.test(l.text));
    assert.ok(syscalls.length >= 5, `fixture holds syscalls (${syscalls.length})`);
    for (const l of lines) {
      const d = decodeInstruction(arch, l.pc, l.bytes);
      assert.equal(d.kind === 'syscall', syscalls.includes(l), `${l.fn} 0x${l.pc.toString(16)} ${l.text}`);
      if (d.kind === 'syscall') assert.equal(d.length, l.bytes.length);
    }
  });

  test(`${arch}: direct calls decode with the target objdump names, indirect calls with their register`, () => {
    const lines = objdumpLines(arch);
    const entries = functionEntries(arch);
    let direct = 0;
    let indirect = 0;
    for (const l of lines) {
      const d = decodeInstruction(arch, l.pc, l.bytes);
      const named = /^CALL (\S+)\(SB\)$/.exec(l.text);
      const reg = /^CALL \(?(R\d+|[A-Z]X|[SD]I)\)?$/.exec(l.text);
      if (named) {
        assert.equal(d.kind, 'call', l.text);
        if (d.kind === 'call' && d.target.kind === 'direct' && entries.has(named[1])) {
          assert.equal(d.target.address, entries.get(named[1]), `${l.text} at 0x${l.pc.toString(16)}`);
          direct++;
        }
      } else if (reg) {
        assert.equal(d.kind, 'call', l.text);
        assert.ok(d.kind === 'call' && d.target.kind === 'register');
        const want = arch === 'arm64' ? `X${reg[1].slice(1)}` : { AX: 'Rax', BX: 'Rbx', CX: 'Rcx', DX: 'Rdx', SI: 'Rsi', DI: 'Rdi' }[reg[1]] ?? reg[1];
        assert.equal(d.target.register, want);
        indirect++;
      } else {
        assert.notEqual(d.kind, 'call', `${l.text} is not a call`);
      }
    }
    if (arch === 'arm64') assert.ok(direct >= 2, `BL targets checked against function entries (${direct})`);
    assert.ok(indirect >= 2, `indirect calls into the vDSO seen (${indirect})`);
  });
}

test('amd64: register calls with REX, and memory-indirect calls with their operand', () => {
  assert.deepEqual(decodeInstruction('amd64', 0x1000, hex('41ffd3')), { kind: 'call', length: 3, target: { kind: 'register', register: 'R11' } });
  assert.deepEqual(decodeInstruction('amd64', 0x1000, hex('ff5018')), {
    kind: 'call', length: 3, target: { kind: 'memory', base: 'Rax', index: undefined, scale: 1, displacement: 0x18, ripRelative: false },
  });
  assert.deepEqual(decodeInstruction('amd64', 0x1000, hex('ff1510000000')), {
    kind: 'call', length: 6, target: { kind: 'memory', base: undefined, index: undefined, scale: 1, displacement: 0x10, ripRelative: true },
  });
  // call [r12 + rcx*8 - 8]: REX.B, SIB with index rcx, scale 8, disp8 -8
  assert.deepEqual(decodeInstruction('amd64', 0x1000, hex('41ff54ccf8')), {
    kind: 'call', length: 5, target: { kind: 'memory', base: 'R12', index: 'Rcx', scale: 8, displacement: -8, ripRelative: false },
  });
  assert.deepEqual(decodeInstruction('amd64', 0x1000, hex('e8fbffffff')), { kind: 'call', length: 5, target: { kind: 'direct', address: 0x1000 } });
  assert.equal(decodeInstruction('amd64', 0x1000, hex('ffe0')).kind, 'other', 'JMP AX is not a call');
  assert.equal(decodeInstruction('amd64', 0x1000, hex('cd80')).kind, 'syscall', 'int 0x80');
});

test('arm64: SVC with any immediate is a syscall; BL backwards; BR is not a call', () => {
  const word = (w: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(w >>> 0, 0);
    return b;
  };
  assert.equal(decodeInstruction('arm64', 0, word(0xd4000001)).kind, 'syscall');
  assert.equal(decodeInstruction('arm64', 0, word(0xd4001001)).kind, 'syscall', 'SVC #0x80');
  assert.equal(decodeInstruction('arm64', 0, word(0xd4000002)).kind, 'other', 'HVC is not a syscall');
  assert.deepEqual(decodeInstruction('arm64', 0x2000, word(0x97ffffff)), { kind: 'call', length: 4, target: { kind: 'direct', address: 0x1ffc } });
  assert.equal(decodeInstruction('arm64', 0, word(0xd61f0040)).kind, 'other', 'BR X2 is a jump');
  assert.equal(decodeInstruction('arm64', 0, word(0xd65f03c0)).kind, 'other', 'RET');
});

test('what ends before a PC: a syscall (a thread inside one) or a call (a return address)', () => {
  assert.equal(endsWithSyscall('amd64', hex('c7c0ca0000000f05')), true);
  assert.equal(endsWithSyscall('amd64', hex('4889442418')), false);
  assert.equal(endsWithSyscall('arm64', hex('010000d4')), true);
  assert.equal(endsWithSyscall('arm64', hex('400000f9')), false);
  assert.equal(endsWithCall('amd64', 0x461fd4, hex('90909090909090ffd0')), true, 'CALL AX');
  assert.equal(endsWithCall('amd64', 0x1005, hex('909090e8fbffffff')), true, 'CALL rel32');
  assert.equal(endsWithCall('amd64', 0x1000, hex('4889442418909090')), false);
  assert.equal(endsWithCall('arm64', 0x703a4, hex('1f2003d540003fd6')), true, 'BLR X2');
  assert.equal(endsWithCall('arm64', 0x703a4, hex('00000000c0035fd6')), false, 'RET');
});
