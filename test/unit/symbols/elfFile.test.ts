import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElfError, ElfFile } from '../../../src/symbols/elfFile';
import { SAMPLES, buildDemo, buildLabel, goNm, systemGo, type DemoBuild } from '../../support/goTools';

const go19 = systemGo();

const expected: Record<string, { elfClass: 32 | 64; endian: 'little' | 'big'; machineName: string }> = {
  amd64: { elfClass: 64, endian: 'little', machineName: 'amd64' },
  arm64: { elfClass: 64, endian: 'little', machineName: 'arm64' },
  '386': { elfClass: 32, endian: 'little', machineName: '386' },
  ppc64: { elfClass: 64, endian: 'big', machineName: 'ppc64' },
  mips: { elfClass: 32, endian: 'big', machineName: 'mips' },
};

function isErr(code: ElfError['code'], message: RegExp): (e: unknown) => boolean {
  return (e: unknown) => e instanceof ElfError && e.code === code && message.test(e.message);
}

for (const goarch of Object.keys(expected)) {
  test(`ELF ${goarch}: header, sections, .symtab functions equal go tool nm, Go build id`, (t) => {
    if (typeof go19 === 'string') return t.skip(go19);
    const b: DemoBuild = { tc: go19, goarch, stripped: false };
    const binary = buildDemo(b);
    const elf = ElfFile.open(binary);
    assert.deepEqual({ elfClass: elf.header.elfClass, endian: elf.header.endian, machineName: elf.header.machineName }, expected[goarch], buildLabel(b));
    assert.equal(elf.header.type, 2); // ET_EXEC
    const text = elf.section('.text');
    assert.ok(text !== undefined && text.size > 100_000);
    assert.equal(elf.textBytes().length, text.size);
    // .text bytes are the file's bytes at the section offset
    assert.deepEqual(elf.textBytes().subarray(0, 64), readFileSync(binary).subarray(text.offset, text.offset + 64));
    assert.equal(elf.sectionData('.bss').length, 0); // NOBITS
    const nm = goNm(go19, binary).filter((s) => s.kind === 'T' || s.kind === 't');
    const mine = elf.functionSymbols();
    const key = (s: { name: string; start: number; size: number }): string => `${s.start.toString(16)} ${s.size} ${s.name}`;
    assert.deepEqual(mine.map(key).sort(), nm.map(key).sort());
    const buildid = execFileSync(go19.go, ['tool', 'buildid', binary], { encoding: 'utf8' }).trim();
    assert.equal(elf.goBuildId(), buildid);
  });
}

test('GNU build id note (.note.gnu.build-id)', (t) => {
  const ls = '/bin/ls';
  let want: string;
  try {
    want = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', ls], { encoding: 'utf8' }))?.[1] ?? '';
  } catch {
    return t.skip('readelf (binutils) not installed');
  }
  if (want === '') return t.skip(`${ls} has no GNU build id`);
  const elf = ElfFile.open(ls);
  assert.equal(elf.buildId(), want);
  assert.equal(elf.functionSymbols().length, 0); // stripped distribution binary: no .symtab
  assert.equal(elf.header.type, 3); // PIE
});

test('stripped Go binary: no .symtab functions, sections still there', (t) => {
  if (typeof go19 === 'string') return t.skip(go19);
  const elf = ElfFile.open(buildDemo({ tc: go19, goarch: 'amd64', stripped: true }));
  assert.deepEqual(elf.functionSymbols(), []);
  assert.ok(elf.section('.gopclntab') !== undefined);
  assert.ok(elf.goBuildId() !== undefined);
});

test('not an ELF file', () => {
  assert.throws(() => ElfFile.open(join(SAMPLES, 'objdump_amd64_go1.19.txt')), isErr('not-elf', /^not an ELF file$/));
  assert.throws(() => ElfFile.fromBuffer(Buffer.alloc(0)), isErr('not-elf', /^not an ELF file$/));
  assert.throws(() => ElfFile.fromBuffer(Buffer.from('#!/bin/sh\necho hi\n')), isErr('not-elf', /^not an ELF file$/));
});

test('truncated ELF files name what is missing', (t) => {
  if (typeof go19 === 'string') return t.skip(go19);
  const whole = readFileSync(buildDemo({ tc: go19, goarch: 'amd64', stripped: false }));
  assert.throws(() => ElfFile.fromBuffer(whole.subarray(0, 40)), isErr('truncated', /^truncated: ELF header extends past end of file$/));
  const full = ElfFile.fromBuffer(whole);
  const shoff = full.header.sectionHeaderOffset;
  assert.throws(() => ElfFile.fromBuffer(whole.subarray(0, shoff + 100)), isErr('truncated', /^truncated: section header table extends past end of file$/));
  // A file cut inside .gopclntab whose headers are intact: open works, the section read fails.
  const pcln = full.section('.gopclntab');
  assert.ok(pcln !== undefined);
  const cut = Buffer.concat([whole.subarray(0, pcln.offset + 100)]);
  const dir = mkdtempSync(join(tmpdir(), 'elf-'));
  try {
    // keep the header table reachable: put it right after the cut and point e_shoff at it
    const table = whole.subarray(full.header.sectionHeaderOffset, full.header.sectionHeaderOffset + full.sections.length * 64);
    const patched = Buffer.concat([cut, table]);
    patched.writeBigUInt64LE(BigInt(cut.length), 40);
    const path = join(dir, 'cut');
    writeFileSync(path, patched);
    const elf = ElfFile.open(path);
    assert.ok(elf.section('.gopclntab') !== undefined);
    assert.throws(() => elf.sectionData('.gopclntab'), isErr('truncated', /^truncated: section \.gopclntab extends past end of file$/));
    assert.throws(() => elf.functionSymbols(), isErr('truncated', /^truncated: section \.symtab extends past end of file$/));
    assert.ok(elf.textBytes().length > 0); // .text comes before the cut
    assert.throws(() => elf.sectionData('.nope'), isErr('missing-section', /no section \.nope/));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('random bytes after an ELF magic fail with ElfError, never another error', () => {
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) & 0xff;
  for (let i = 0; i < 300; i++) {
    const buf = Buffer.alloc(64 + (i % 5) * 200);
    for (let j = 0; j < buf.length; j++) buf[j] = rnd();
    buf.write('\x7fELF', 0, 'latin1');
    buf[4] = 1 + (i % 2);
    buf[5] = 1 + ((i >> 1) % 2);
    try {
      const elf = ElfFile.fromBuffer(buf);
      elf.functionSymbols();
      elf.notes();
    } catch (e) {
      assert.ok(e instanceof ElfError, `iteration ${i}: ${String(e)}`);
    }
  }
});
