import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SymbolTable, formatSymbolOffset, type SymbolInfo } from '../../../src/symbols/symbolTable';

const syms: SymbolInfo[] = [
  { name: 'runtime.sigreturn', start: 0x45a000, size: 0x10 },
  { name: 'main.classify', start: 0x4847c0, size: 65 },
  { name: 'main.(*Counter).Add', start: 0x484620, size: 293 },
  { name: 'cmpbody', start: 0x402319, size: 0 }, // assembly symbol without size
  { name: 'runtime.memmove', start: 0x402400, size: 0x20 },
  { name: '__vdso_rt_sigreturn', start: 0xffffb00ba7dc, size: 8 }, // arm64 vDSO address (> 2^32)
];

test('lookup finds the containing symbol and the offset, by binary search', () => {
  const t = new SymbolTable(syms);
  assert.equal(t.size, 6);
  assert.deepEqual(t.lookup(0x4847c5), { symbol: syms[1], offset: 5 });
  assert.deepEqual(t.lookup(0x4847c0), { symbol: syms[1], offset: 0 });
  assert.equal(t.lookup(0x4847c0 + 65), undefined); // one past the end: a gap
  assert.equal(t.lookup(0x100), undefined); // below every symbol
  assert.equal(formatSymbolOffset(t.lookup(0x484651)!), 'main.(*Counter).Add+0x31');
  assert.equal(formatSymbolOffset(t.lookup(0x484620)!), 'main.(*Counter).Add');
});

test('a symbol without size runs to the next symbol', () => {
  const t = new SymbolTable(syms);
  assert.equal(t.lookup(0x4023ff)?.symbol.name, 'cmpbody');
  assert.equal(t.lookup(0x402400)?.symbol.name, 'runtime.memmove');
});

test('addresses above 2^32 (arm64 vDSO) are exact', () => {
  const t = new SymbolTable(syms);
  assert.deepEqual(t.lookup(0xffffb00ba7e0), { symbol: syms[5], offset: 4 });
  assert.equal(t.lookup(0xffffb00ba7e4), undefined);
});

test('aliases at one address: the one with a size wins the address, both are found by name', () => {
  const t = new SymbolTable([
    { name: 'internal/cpu.cpuid', start: 0x1000, size: 0 },
    { name: 'internal/cpu.cpuid.abi0', start: 0x1000, size: 16 },
  ]);
  assert.equal(t.size, 1);
  assert.equal(t.lookup(0x1008)?.symbol.name, 'internal/cpu.cpuid.abi0');
  assert.equal(t.byName('internal/cpu.cpuid')?.start, 0x1000);
  assert.equal(t.byName('nope'), undefined);
});

test('search: exact, then prefix, then substring, case-insensitive, limited', () => {
  const t = new SymbolTable([...syms, { name: 'main', start: 0x10, size: 1 }, { name: 'runtime.main', start: 0x20, size: 1 }]);
  assert.deepEqual(
    t.search('MAIN').map((s) => s.name),
    ['main', 'main.(*Counter).Add', 'main.classify', 'runtime.main'],
  );
  assert.deepEqual(
    t.search('main', { limit: 2 }).map((s) => s.name),
    ['main', 'main.(*Counter).Add'],
  );
  assert.deepEqual(
    t.search('sigret').map((s) => s.name),
    ['runtime.sigreturn', '__vdso_rt_sigreturn'],
  );
  assert.deepEqual(t.search('zzz'), []);
});

test('100k symbols: every start and every last byte resolve to their own symbol', () => {
  const many: SymbolInfo[] = [];
  for (let i = 0; i < 100_000; i++) many.push({ name: `f${i}`, start: 0x400000 + i * 64, size: 48 });
  const t = new SymbolTable(many.slice().reverse()); // unsorted input
  for (let i = 0; i < many.length; i++) {
    assert.equal(t.lookup(many[i].start)?.symbol, many[i]);
    assert.equal(t.lookup(many[i].start + 47)?.offset, 47);
    if (t.lookup(many[i].start + 48) !== undefined) assert.fail(`gap after f${i}`);
  }
});
