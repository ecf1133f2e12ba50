import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ElfFile } from '../../../src/symbols/elfFile';
import { GoPclntab, PclntabError, type GoSourcePosition } from '../../../src/symbols/gopclntab';
import {
  FIXTURES,
  addr2line,
  buildDemo,
  buildLabel,
  buildOracle,
  goNm,
  gosymOracle,
  prng,
  systemGo,
  trixieGo,
  type Addr2lineAnswer,
  type DemoBuild,
  type GoToolchain,
  type NmSymbol,
} from '../../support/goTools';

const go19 = systemGo();
const go124 = trixieGo();

/** What addr2line would print for our answer. */
function asAddr2line(pos: GoSourcePosition | undefined): Addr2lineAnswer {
  return pos === undefined ? { function: '?', file: '?', line: 0 } : { function: pos.function, file: pos.file, line: pos.line };
}

/** Every entry, the last byte of every function, 1000+ random pcs in text and a few outside. */
function probePcs(tab: GoPclntab, seed: number): number[] {
  const pcs: number[] = [];
  for (let i = 0; i < tab.functionCount; i++) pcs.push(tab.entry(i), tab.end(i) - 1);
  const lo = tab.entry(0);
  const hi = tab.end(tab.functionCount - 1);
  const rnd = prng(seed);
  for (let i = 0; i < 1500; i++) pcs.push(lo + Math.floor(rnd() * (hi - lo)));
  pcs.push(0, lo - 1, hi, hi + 4096);
  return pcs;
}

function pclntabOf(binary: string): { tab: GoPclntab; elf: ElfFile } {
  const elf = ElfFile.open(binary);
  const tab = GoPclntab.parse(elf.sectionData('.gopclntab'), { textStart: elf.section('.text')?.addr });
  return { tab, elf };
}

function compareWithAddr2line(tc: GoToolchain, binary: string, tab: GoPclntab): number {
  const pcs = probePcs(tab, 42);
  const want = addr2line(tc, binary, pcs);
  let checked = 0;
  for (let i = 0; i < pcs.length; i++) {
    assert.deepEqual(asAddr2line(tab.symbolize(pcs[i])), want[i], `pc 0x${pcs[i].toString(16)}`);
    checked++;
  }
  return checked;
}

function builds(tc: GoToolchain, arches: string[], stripped: boolean[]): DemoBuild[] {
  return arches.flatMap((goarch) => stripped.map((s) => ({ tc, goarch, stripped: s })));
}

const go19Builds = typeof go19 === 'string' ? [] : [...builds(go19, ['amd64', 'arm64'], [false, true]), ...builds(go19, ['386', 'ppc64', 'mips'], [false])];

for (const b of go19Builds) {
  test(`pclntab of ${buildLabel(b)} matches go tool addr2line at every entry and 1500 random pcs`, () => {
    const binary = buildDemo(b);
    const { tab, elf } = pclntabOf(binary);
    assert.equal(tab.version, '1.18');
    assert.equal(tab.ptrSize, b.goarch === '386' || b.goarch === 'mips' ? 4 : 8);
    assert.equal(tab.littleEndian, elf.header.endian === 'little');
    assert.ok(tab.functionCount > 1000, `${tab.functionCount} functions`);
    const n = compareWithAddr2line(b.tc, binary, tab);
    assert.ok(n > tab.functionCount + 1000);
  });
}

test('pclntab function list equals the text symbols of go tool nm -size', (t) => {
  if (typeof go19 === 'string') return t.skip(go19);
  for (const goarch of ['amd64', 'arm64']) {
    const binary = buildDemo({ tc: go19, goarch, stripped: false });
    const { tab } = pclntabOf(binary);
    const nmText = new Map<string, NmSymbol>();
    for (const s of goNm(go19, binary)) if (s.kind === 'T' || s.kind === 't') nmText.set(`${s.start}:${s.name}`, s);
    const nmAt = new Map<number, NmSymbol[]>();
    for (const s of nmText.values()) nmAt.set(s.start, [...(nmAt.get(s.start) ?? []), s]);
    // and the pclntab elides what is in brackets (`type..eq.[...]T`, `main.Sum[...]`)
    const elided = (f: { entry: number; name: string }): NmSymbol | undefined => {
      if (!f.name.includes('[...]')) return undefined;
      const re = new RegExp(
        `^${f.name
          .split('[...]')
          .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('\\[.*\\]')}$`,
      );
      return nmAt.get(f.entry)?.find((s) => re.test(s.name));
    };
    for (const f of tab.functions()) {
      // nm lists assembly functions with their ABI suffix (`internal/cpu.cpuid.abi0`)
      const s = nmText.get(`${f.entry}:${f.name}`) ?? nmText.get(`${f.entry}:${f.name}.abi0`) ?? elided(f);
      assert.ok(s !== undefined, `${f.name} at 0x${f.entry.toString(16)} is a text symbol`);
      // pclntab ranges run to the next function, nm sizes stop before alignment padding
      assert.ok(f.end - f.entry >= s.size, `${f.name}: ${f.end - f.entry} >= ${s.size}`);
    }
  }
});

test('Go 1.24 tables (magic 0xfffffff1) match Go 1.24 addr2line, with startLine', (t) => {
  if (typeof go124 === 'string') return t.skip(`no Go 1.24: ${go124}`);
  const source = readFileSync(join(FIXTURES, 'demo/main.go'), 'utf8').split('\n');
  const classifyLine = source.findIndex((l) => l.startsWith('func classify(')) + 1;
  for (const b of builds(go124, ['amd64', 'arm64'], [false, true])) {
    const binary = buildDemo(b);
    const { tab } = pclntabOf(binary);
    assert.equal(tab.version, '1.20', buildLabel(b));
    compareWithAddr2line(go124, binary, tab);
    const classify = tab.functions().find((f) => f.name === 'main.classify');
    assert.ok(classify !== undefined);
    assert.equal(classify.startLine, classifyLine);
  }
});

// ---------------------------------------------------------------------------------------
// Go 1.16–1.17 (magic 0xfffffffa): no toolchain or Debian package here produces it (bookworm
// has no package built with Go 1.16/1.17; checked with Built-Using in apt's lists). We build
// one, byte by byte, from a real Go 1.19 table following the documented 1.16 layout, then
// let Go's own debug/gosym (whose 1.19 version still reads 1.16 tables) check it against
// addr2line on the original binary before checking our reader against both.

function convert118To116(src: Buffer): Buffer {
  const little = src.readUInt32LE(0) === 0xfffffff0;
  assert.ok(little || src.readUInt32BE(0) === 0xfffffff0, 'a Go 1.18 table');
  const ptr = src[7];
  const rd32 = (b: Buffer, o: number): number => (little ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const rdPtr = (b: Buffer, o: number): number => (ptr === 4 ? rd32(b, o) : little ? Number(b.readBigUInt64LE(o)) : Number(b.readBigUInt64BE(o)));
  const wr32 = (b: Buffer, o: number, v: number): void => void (little ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));
  const wrPtr = (b: Buffer, o: number, v: number): void => {
    if (ptr === 4) wr32(b, o, v);
    else if (little) b.writeBigUInt64LE(BigInt(v), o);
    else b.writeBigUInt64BE(BigInt(v), o);
  };
  const word = (i: number): number => rdPtr(src, 8 + i * ptr);
  const [nfunc, nfiles, textStart, funcnameOff, cuOff, filetabOff, pctabOff, pclnOff] = [0, 1, 2, 3, 4, 5, 6, 7].map(word);
  assert.ok(funcnameOff < cuOff && cuOff < filetabOff && filetabOff < pctabOff && pctabOff < pclnOff, 'tables in header order');
  // 1.16 header: magic, 0, 0, quantum, ptrsize, then 7 words (no textStart).
  const headerSize = 8 + 7 * ptr;
  const delta = headerSize - funcnameOff;
  const tables = src.subarray(funcnameOff, pclnOff); // funcnametab, cutab, filetab, pctab: copied verbatim
  const functabSize = (2 * nfunc + 1) * ptr;
  // 1.18 _func: entryoff u32, 8 u32 fields (nameoff … cuOffset), funcID/flag/_/nfuncdata, pcdata u32[npcdata]
  // 1.16 _func: entry uintptr, the same 8 u32 fields, funcID/_/_/nfuncdata, pcdata u32[npcdata]
  const funcs: Buffer[] = [];
  const funcOffsets: number[] = [];
  let at = functabSize;
  for (let i = 0; i < nfunc; i++) {
    const old = pclnOff + rd32(src, pclnOff + (2 * i + 1) * 4);
    const npcdata = rd32(src, old + 4 + 6 * 4);
    const f = Buffer.alloc(Math.ceil((ptr + 36 + npcdata * 4) / ptr) * ptr);
    wrPtr(f, 0, textStart + rd32(src, old));
    src.copy(f, ptr, old + 4, old + 4 + 8 * 4 + 4); // fields 1..8 and the 4 flag bytes
    f[ptr + 32 + 1] = 0; // 1.16 has no flag byte
    f[ptr + 32 + 3] = 0; // nfuncdata: funcdata not carried over (not read for pc → line)
    src.copy(f, ptr + 36, old + 40, old + 40 + npcdata * 4);
    funcOffsets.push(at);
    funcs.push(f);
    at += f.length;
  }
  const header = Buffer.alloc(headerSize);
  wr32(header, 0, 0xfffffffa);
  header[6] = src[6];
  header[7] = ptr;
  [nfunc, nfiles, funcnameOff + delta, cuOff + delta, filetabOff + delta, pctabOff + delta, pclnOff + delta].forEach((v, i) => wrPtr(header, 8 + i * ptr, v));
  const functab = Buffer.alloc(functabSize);
  for (let i = 0; i <= nfunc; i++) {
    wrPtr(functab, 2 * i * ptr, textStart + rd32(src, pclnOff + 2 * i * 4));
    if (i < nfunc) wrPtr(functab, (2 * i + 1) * ptr, funcOffsets[i]);
  }
  return Buffer.concat([header, tables, functab, ...funcs]);
}

test('Go 1.16–1.17 layout (0xfffffffa, constructed from a real 1.19 table and checked by debug/gosym) matches addr2line', (t) => {
  if (typeof go19 === 'string') return t.skip(go19);
  const oracle = buildOracle(go19);
  const dir = mkdtempSync(join(tmpdir(), 'pcln116-'));
  try {
    for (const goarch of ['amd64', '386', 'ppc64']) {
      const binary = buildDemo({ tc: go19, goarch, stripped: false });
      const { tab: original, elf } = pclntabOf(binary);
      const converted = convert118To116(elf.sectionData('.gopclntab'));
      const file = join(dir, `${goarch}.pcln116`);
      writeFileSync(file, converted);
      const tab = GoPclntab.parse(converted);
      assert.equal(tab.version, '1.16');
      assert.equal(tab.functionCount, original.functionCount);
      const pcs = probePcs(original, 7);
      const truth = addr2line(go19, binary, pcs);
      const gosym = gosymOracle(oracle, file, 0, pcs);
      for (let i = 0; i < pcs.length; i++) {
        const where = `${goarch} pc 0x${pcs[i].toString(16)}`;
        assert.deepEqual(gosym[i], truth[i], `construction faithful (debug/gosym) at ${where}`);
        assert.deepEqual(asAddr2line(tab.symbolize(pcs[i])), truth[i], where);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Go 1.2–1.15 layout (0xfffffffb): GOROOT testdata pcln115 matches debug/gosym', (t) => {
  if (typeof go19 === 'string') return t.skip(go19);
  const gz = join(go19.goroot, 'src/debug/gosym/testdata/pcln115.gz');
  let data: Buffer;
  try {
    data = gunzipSync(readFileSync(gz));
  } catch {
    return t.skip(`${gz} not installed (apt golang-1.19-src)`);
  }
  const textStart = 0x1001000; // as in Go's own pclntab_test.go for this file
  const tab = GoPclntab.parse(data, { textStart });
  assert.equal(tab.version, '1.2');
  const dir = mkdtempSync(join(tmpdir(), 'pcln115-'));
  try {
    const file = join(dir, 'pcln115');
    writeFileSync(file, data);
    const pcs = probePcs(tab, 3);
    const want = gosymOracle(buildOracle(go19), file, textStart, pcs);
    for (let i = 0; i < pcs.length; i++) assert.deepEqual(asAddr2line(tab.symbolize(pcs[i])), want[i], `pc 0x${pcs[i].toString(16)}`);
    assert.ok(tab.files().includes('<autogenerated>'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('not a pclntab, and a truncated one, fail with PclntabError', (t) => {
  assert.throws(
    () => GoPclntab.parse(Buffer.from('hello, this is not a table')),
    (e: unknown) => e instanceof PclntabError && /not a Go pclntab/.test(e.message),
  );
  assert.throws(() => GoPclntab.parse(Buffer.alloc(4)), PclntabError);
  if (typeof go19 === 'string') return t.skip(go19);
  const { elf } = pclntabOf(buildDemo({ tc: go19, goarch: 'amd64', stripped: false }));
  const data = elf.sectionData('.gopclntab');
  assert.throws(
    () => GoPclntab.parse(data.subarray(0, 200)),
    (e: unknown) => e instanceof PclntabError && /truncated/.test(e.message),
  );
  assert.throws(
    () => GoPclntab.parse(data.subarray(0, Math.floor(data.length * 0.9))),
    (e: unknown) => e instanceof PclntabError && /truncated/.test(e.message),
  );
  // garbage in the pc-value tables: answers may be wrong but symbolize never throws
  const damaged = Buffer.from(data);
  const pctab = Number(damaged.readBigUInt64LE(8 + 6 * 8));
  const functab = Number(damaged.readBigUInt64LE(8 + 7 * 8));
  const rnd = prng(1);
  for (let o = pctab; o < functab; o++) damaged[o] = Math.floor(rnd() * 256);
  const tab = GoPclntab.parse(damaged);
  for (let i = 0; i < tab.functionCount; i++) assert.equal(tab.symbolize(tab.entry(i) + 1)?.entry, tab.entry(i));
});
