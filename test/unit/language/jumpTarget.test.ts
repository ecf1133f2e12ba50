import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jumpTargetAt } from '../../../src/language/jumpTarget';

const at = (line: string, needle: string): ReturnType<typeof jumpTargetAt> => jumpTargetAt(line, line.indexOf(needle) + 1);

test('CALL and JMP to a symbol (names with parentheses)', () => {
  const line = '  mutex.go:90\t\t0x92778\t\t\t97ff8d62\t\tCALL sync.(*Mutex).lockSlow(SB)\t\t';
  const t = at(line, 'sync.');
  assert.deepEqual(t, { kind: 'function', name: 'sync.(*Mutex).lockSlow', start: line.indexOf('sync.'), end: line.indexOf('\t\t', line.indexOf('sync.')) });
  assert.equal(at('  main.go:27\t\t0x92860\t\t\t17ffffa4\t\tJMP main.(*Counter).Add(SB)\t\t', 'main.(')?.kind, 'function');
});

test('the cursor must be on the instruction text', () => {
  const line = '  main.go:9\t\t0x460693\t\te868ffffff\t\tCALL main.index(SB)\t\t\t';
  assert.equal(jumpTargetAt(line, 4), undefined);
  assert.equal(at(line, 'e868')?.kind, undefined);
});

test('amd64 absolute targets, old Delve $ targets and intel flavour', () => {
  const jbe = '  main.go:6\t\t0x460616\t\t760e\t\t\tJBE 0x460626\t\t\t';
  assert.deepEqual(at(jbe, 'JBE'), { kind: 'address', address: 0x460626, start: jbe.indexOf('0x460626'), end: jbe.indexOf('0x460626') + 8 });
  const delve = '\tmain.go:46\t0x4847c3\t7c2f\t\tJL $0x4847f4';
  assert.equal((at(delve, 'JL') as { address: number }).address, 0x4847f4);
  const intel = '\tmain.go:46\t0x4847c3\t7c2f\t\tjl 0x4847f4';
  assert.equal((at(intel, 'jl') as { address: number }).address, 0x4847f4);
  const intelCall = '\tmain.go:30\t0x484640\te8bbf2f8ff\tcall $runtime.mapassign_faststr';
  assert.deepEqual((at(intelCall, 'call') as { name: string }).name, 'runtime.mapassign_faststr');
});

test('arm64 N(PC): pc + 4·N, negative too; ADRP is data', () => {
  assert.equal((at('  main.go:27\t\t0x926f8\t\t\t54000a09\t\tBLS 80(PC)\t\t\t\t', 'BLS') as { address: number }).address, 0x926f8 + 320);
  assert.equal((at('  mutex.go:83\t\t0x9275c\t\t\tb5ffff9b\t\tCBNZ R27, -4(PC)\t\t\t', 'CBNZ') as { address: number }).address, 0x9275c - 16);
  assert.equal((at('  mutex.go:83\t\t0x92724\t\t\t36000104\t\tTBZ $0, R4, 8(PC)\t\t\t', 'TBZ') as { address: number }).address, 0x92724 + 32);
  const gnu = '  main.go:46\t\t0x928d0\t\t\tb7f801e0\t\tTBNZ $63, R0, 15(PC)                 // tbnz x0, #63, .+0x3c\t';
  assert.equal((at(gnu, 'TBNZ') as { address: number }).address, 0x928d0 + 60);
  assert.equal(at('  mutex.go:83\t\t0x92718\t\t\t900007bb\t\tADRP 999424(PC), R27\t\t\t', 'ADRP'), undefined);
});

test('not an instruction line, or too long: nothing', () => {
  assert.equal(jumpTargetAt('TEXT main.main(SB) /x/main.go', 8), undefined);
  assert.equal(jumpTargetAt(`  main.go:1\t\t0x1000\t\t90\t\tJMP 0x1000${' '.repeat(100_000)}`, 30), undefined);
});
