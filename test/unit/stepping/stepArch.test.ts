import { test } from 'node:test';
import assert from 'node:assert/strict';
import { registerAddress, registerSigned, registerValue, stepArchOfRegisters } from '../../../src/stepping/stepArch';
import type { Register } from '../../../src/delve/delveTypes';

const reg = (Name: string, Value: string): Register => ({ Name, Value, DwarfNumber: 0 });

test("the architecture comes from Delve's register names", () => {
  assert.equal(stepArchOfRegisters([reg('Rip', '0x1'), reg('Rsp', '0x2')]), 'amd64');
  assert.equal(stepArchOfRegisters([reg('X0', '0x1'), reg('X30', '0x2'), reg('SP', '0x3'), reg('PC', '0x4')]), 'arm64');
  assert.throws(() => stepArchOfRegisters([reg('eip', '0x1')]), /unknown architecture/);
});

test('values: hex with a decoded tail, full 64 bits, signed results', () => {
  const regs = [reg('Rflags', '0x246\t[IF ZF PF]'), reg('Rax', '0xfffffffffffffe00'), reg('Rip', '0x4c2760')];
  assert.equal(registerValue(regs, 'Rflags'), 0x246n);
  assert.equal(registerSigned(regs, 'Rax'), -512n, '-ERESTARTSYS');
  assert.equal(registerAddress(regs, 'Rip'), 0x4c2760);
  assert.throws(() => registerValue(regs, 'Rbx'), /did not report register Rbx/);
});
