// Register diff between host and guest contexts, and symbolization of register values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changedRegisters, couldBeCodeAddress, diffContexts, symbolizeContext } from '../../../src/bluepill/contextDiff';
import type { MachineContext } from '../../../src/bluepill/machineContext';
import type { Symbolizer, SymbolRef } from '../../../src/bluepill/symbolizer';
import { SymbolTable } from '../../../src/symbols/symbolTable';

function ctx(regs: Record<string, bigint>): MachineContext {
  return { registers: Object.entries(regs).map(([name, value]) => ({ name, value })), pc: Number(regs.Rip ?? 0n), sp: 0, fp: 0, flags: 0n, extra: {} };
}

const host = ctx({ Rip: 0x4a2f11n, Rsp: 0xc000100000n, Rax: 0xc00001a000n, R13: 5n, Rflags: 0x246n });
const guest = ctx({ Rip: 0x4a3000n, Rsp: 0xc000100000n, Rax: 39n, R13: 0x6775657374000007n, Rflags: 0x246n });

test('registers that differ between host and guest are marked; equal ones are not', () => {
  const rows = diffContexts(host, guest);
  assert.deepEqual(
    rows.map((r) => r.name),
    ['Rip', 'Rsp', 'Rax', 'R13', 'Rflags'],
  );
  assert.deepEqual(changedRegisters(host, guest), ['Rip', 'Rax', 'R13']);
  const rax = rows.find((r) => r.name === 'Rax')!;
  assert.equal(rax.host, 0xc00001a000n);
  assert.equal(rax.guest, 39n);
});

test('with one side unknown (a hop joined mid-handler) nothing is marked as differing', () => {
  const rows = diffContexts(undefined, guest);
  assert.equal(rows.length, 5);
  assert.ok(rows.every((r) => !r.differs && r.host === undefined));
});

class TableSymbolizer implements Symbolizer {
  calls = 0;
  constructor(private readonly table: SymbolTable) {}
  async symbolize(addr: number): Promise<SymbolRef | undefined> {
    this.calls++;
    const hit = this.table.lookup(addr);
    return hit ? { name: hit.symbol.name, offset: hit.offset } : undefined;
  }
}

test('register values that point into code are symbolized, each distinct value looked up once', async () => {
  const table = new SymbolTable([
    { name: 'bluepill.sim/pkg/sentry/platform/kvm.bluepill.abi0', start: 0x4a2f00, size: 0x20 },
    { name: 'bluepill.sim/pkg/sentry/platform/kvm.guestExitSyscall.abi0', start: 0x4a3000, size: 0x40 },
  ]);
  const s = new TableSymbolizer(table);
  const both = ctx({ Rip: 0x4a3000n, Rcx: 0x4a3000n, Rax: 39n, Rbx: 0x4a2f11n, R13: 0x6775657374000007n });
  const syms = await symbolizeContext(both, s);
  assert.deepEqual(syms.get('Rip'), { name: 'bluepill.sim/pkg/sentry/platform/kvm.guestExitSyscall.abi0', offset: 0 });
  assert.deepEqual(syms.get('Rbx'), { name: 'bluepill.sim/pkg/sentry/platform/kvm.bluepill.abi0', offset: 0x11 });
  assert.equal(syms.has('Rax'), false, 'small integers are not looked up');
  assert.equal(syms.has('R13'), false, 'values above the user address space are not looked up');
  assert.equal(s.calls, 2, 'Rip and Rcx share one lookup');
  assert.equal(couldBeCodeAddress(0xfffn), false);
  assert.equal(couldBeCodeAddress(0xffffb00ba7dcn), true);
});
