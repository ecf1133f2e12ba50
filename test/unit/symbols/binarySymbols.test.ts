import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { binarySymbolsFromBuffer, loadBinarySymbols } from '../../../src/symbols/binarySymbols';
import { ElfError } from '../../../src/symbols/elfFile';
import { formatSymbolOffset } from '../../../src/symbols/symbolTable';
import { SAMPLES, addr2line, buildDemo, prng, systemGo, trixieGo } from '../../support/goTools';

const go19 = systemGo();
const go124 = trixieGo();

/** `main.Sum[go.shape.int_0]` → `main.Sum[...]`, `x.abi0` → `x`. */
function pclntabSpelling(name: string): string {
  let out = '';
  let depth = 0;
  for (const c of name) {
    if (c === '[') {
      if (depth++ === 0) out += '[...]';
    } else if (c === ']') depth--;
    else if (depth === 0) out += c;
  }
  return out.replace(/\.abi0$/, '');
}

for (const stripped of [false, true]) {
  for (const goarch of ['amd64', 'arm64']) {
    test(`${goarch}${stripped ? ' stripped (-s -w)' : ''}: symbols from ${stripped ? '.gopclntab' : '.symtab'}, lines from .gopclntab, as addr2line says`, (t) => {
      if (typeof go19 === 'string') return t.skip(go19);
      const binary = buildDemo({ tc: go19, goarch, stripped });
      const syms = loadBinarySymbols(binary);
      assert.equal(syms.source, stripped ? 'gopclntab' : 'symtab');
      assert.equal(syms.pclntab?.version, '1.18');
      assert.equal(syms.pclntabProblem, undefined);
      assert.ok(syms.goBuildId !== undefined);
      const classify = syms.table.byName('main.classify');
      assert.ok(classify !== undefined);
      const hit = syms.symbolize(classify.start + 4);
      assert.equal(hit?.symbol.name, 'main.classify');
      assert.equal(hit?.offset, 4);
      assert.equal(hit === undefined ? '' : formatSymbolOffset(hit), 'main.classify+0x4');
      assert.match(hit?.file ?? '', /\/demo\/main\.go$/);
      // 1000 random pcs inside functions: same function and file:line as addr2line
      const all = syms.table.symbols();
      const rnd = prng(11);
      const pcs = Array.from({ length: 1000 }, () => {
        const s = all[Math.floor(rnd() * all.length)];
        return s.start + Math.floor(rnd() * Math.max(s.size, 1));
      });
      const want = addr2line(go19, binary, pcs);
      for (let i = 0; i < pcs.length; i++) {
        const got = syms.symbolize(pcs[i]);
        const name = got?.symbol.name ?? '?';
        // .symtab spells assembly functions with their ABI suffix and keeps what is in
        // brackets; the pclntab (so addr2line) has neither
        assert.equal(pclntabSpelling(name), pclntabSpelling(want[i].function), `pc 0x${pcs[i].toString(16)}`);
        assert.equal(`${got?.file}:${got?.line}`, `${want[i].file}:${want[i].line}`, `pc 0x${pcs[i].toString(16)}`);
      }
    });
  }
}

test('PIE binaries: the table is in .data.rel.ro.gopclntab; answers equal Go 1.24 addr2line', (t) => {
  // Go 1.19's addr2line does not look in .data.rel.ro.gopclntab (it answers "?"); 1.24's does.
  if (typeof go124 === 'string') return t.skip(`no Go 1.24 addr2line to check PIE binaries with: ${go124}`);
  const toolchains = typeof go19 === 'string' ? [go124] : [go19, go124];
  for (const tc of toolchains) {
    const binary = buildDemo({ tc, goarch: 'amd64', stripped: true, pie: true });
    const syms = loadBinarySymbols(binary);
    assert.equal(syms.elf.header.type, 3); // ET_DYN
    assert.equal(syms.elf.section('.gopclntab'), undefined);
    assert.equal(syms.source, 'gopclntab');
    const all = syms.table.symbols();
    const rnd = prng(13);
    const pcs = Array.from({ length: 1000 }, () => {
      const s = all[Math.floor(rnd() * all.length)];
      return s.start + Math.floor(rnd() * s.size);
    });
    const want = addr2line(go124, binary, pcs);
    for (let i = 0; i < pcs.length; i++) {
      const got = syms.symbolize(pcs[i]);
      assert.deepEqual({ function: got?.symbol.name, file: got?.file, line: got?.line }, want[i], `${tc.version} pc 0x${pcs[i].toString(16)}`);
    }
  }
});

test('a non-ELF file is an ElfError; an ELF without Go tables still gives .symtab or nothing', () => {
  assert.throws(
    () => loadBinarySymbols(join(SAMPLES, 'README.md')),
    (e: unknown) => e instanceof ElfError && e.message === 'not an ELF file',
  );
  const ls = binarySymbolsFromBuffer(readFileSync('/bin/ls'));
  assert.equal(ls.pclntab, undefined);
  assert.match(ls.pclntabProblem ?? '', /no \.gopclntab/);
  assert.equal(ls.symbolize(0x1000)?.line ?? -1, -1);
});
