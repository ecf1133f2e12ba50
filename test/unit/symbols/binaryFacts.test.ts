import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BinaryFactsError, readBinaryFacts } from '../../../src/symbols/binaryFacts';
import { GoBuildInfoError, parseGoBuildInfo } from '../../../src/symbols/goBuildInfo';
import { FIXTURES, buildDemo, buildLabel, systemGo, trixieGo, type DemoBuild, type GoToolchain } from '../../support/goTools';

const toolchains = [systemGo(), trixieGo()].filter((t): t is GoToolchain => typeof t !== 'string');
const builds: DemoBuild[] = toolchains.flatMap((tc) => ['amd64', 'arm64'].flatMap((goarch) => [false, true].map((stripped) => ({ tc, goarch, stripped }))));
const demoModule = /^module\s+(\S+)/m.exec(readFileSync(join(FIXTURES, 'demo/go.mod'), 'utf8'))?.[1];

/** `go version -m`: the Go version, then "\tkey\tvalue…" lines. */
function goVersionM(tc: GoToolchain, binary: string): { version: string; lines: string[][] } {
  const out = execFileSync(tc.go, ['version', '-m', binary], { env: { ...process.env, GOTOOLCHAIN: 'local', GOROOT: tc.goroot }, encoding: 'utf8' });
  const [first, ...rest] = out.trimEnd().split('\n');
  return { version: first.slice(first.indexOf(': ') + 2), lines: rest.map((l) => l.trim().split('\t')) };
}

for (const b of builds) {
  test(`facts of the demo, ${buildLabel(b)}, agree with go version -m, go tool buildid and readelf`, () => {
    const binary = buildDemo(b);
    const f = readBinaryFacts(binary);
    const vm = goVersionM(b.tc, binary);
    assert.equal(f.arch, b.goarch);
    assert.equal(f.goVersion, vm.version);
    assert.equal(f.goVersion, b.tc.version);
    assert.equal(f.mainModule, demoModule);
    assert.equal(f.mainModule, vm.lines.find((l) => l[0] === 'mod')?.[1]);
    assert.equal(f.mainPackage, vm.lines.find((l) => l[0] === 'path')?.[1]);
    // go version -m prints values as stored: quoted (Go syntax) when they hold spaces
    const unquote = (v: string): string => (v.startsWith('"') ? (JSON.parse(v) as string) : v);
    const settings = vm.lines.filter((l) => l[0] === 'build').map((l) => [l[1].slice(0, l[1].indexOf('=')), unquote(l[1].slice(l[1].indexOf('=') + 1))]);
    assert.deepEqual(f.buildSettings, Object.fromEntries(settings));
    if (b.stripped) assert.equal(f.buildSettings['-ldflags'], '-s -w');
    assert.equal(f.buildSettings.GOARCH, b.goarch);
    const buildId = execFileSync(b.tc.go, ['tool', 'buildid', binary], {
      env: { ...process.env, GOTOOLCHAIN: 'local', GOROOT: b.tc.goroot },
      encoding: 'utf8',
    }).trim();
    assert.equal(f.buildId, buildId);
    const sections = execFileSync('readelf', ['-SW', binary], { encoding: 'utf8' });
    assert.equal(f.hasDwarf, /\s\.z?debug_info\s/.test(sections));
    assert.equal(f.hasDwarf, !b.stripped);
    assert.equal(f.stripped, b.stripped);
    assert.equal(f.hasSymtab, !b.stripped);
    assert.equal(f.hasPclntab, true);
    assert.equal(f.pclntabVersion, b.tc.version.startsWith('go1.19') ? '1.18' : '1.20');
    assert.equal(f.dwarfCompressed, !b.stripped);
    assert.equal(f.buildInfoProblem, undefined);
  });
}

test('facts: clear errors for a file that is not ELF, an ELF that is not Go, and a missing file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'facts-'));
  try {
    writeFileSync(join(dir, 'text'), 'hello\n');
    assert.throws(
      () => readBinaryFacts(join(dir, 'text')),
      (e: unknown) => e instanceof BinaryFactsError && e.code === 'not-elf' && /not an ELF file/.test(e.message),
    );
    assert.throws(
      () => readBinaryFacts(process.execPath),
      (e: unknown) => e instanceof BinaryFactsError && e.code === 'not-go' && /not a Go binary/.test(e.message),
    );
    assert.throws(
      () => readBinaryFacts(join(dir, 'missing')),
      (e: unknown) => e instanceof BinaryFactsError && e.code === 'unreadable' && /ENOENT/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true });
  }
});

const SENTINEL_START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const SENTINEL_END = Buffer.from('f932433186182072008242104116d8f2', 'hex');
const MODINFO = 'path\texample.com/old/cmd\nmod\texample.com/old\t(devel)\t\ndep\tgolang.org/x/sys\tv0.1.0\th1:x=\n';

function header(ptrSize: number, flags: number): Buffer {
  const h = Buffer.alloc(32);
  Buffer.from('\xff Go buildinf:', 'latin1').copy(h);
  h[14] = ptrSize;
  h[15] = flags;
  return h;
}

/** A Go < 1.18 layout: pointers to string headers in a fake address space. */
function pointerLayout(ptrSize: 4 | 8, big: boolean): { section: Buffer; memory: Map<number, Buffer> } {
  const put = (v: number): Buffer => {
    const b = Buffer.alloc(ptrSize);
    if (ptrSize === 4 && big) b.writeUInt32BE(v);
    else if (ptrSize === 4) b.writeUInt32LE(v);
    else if (big) b.writeBigUInt64BE(BigInt(v));
    else b.writeBigUInt64LE(BigInt(v));
    return b;
  };
  const version = Buffer.from('go1.16.15');
  const modinfo = Buffer.concat([SENTINEL_START, Buffer.from(MODINFO), SENTINEL_END]);
  const memory = new Map<number, Buffer>([
    [0x5000, Buffer.concat([put(0x6000), put(version.length)])],
    [0x5100, Buffer.concat([put(0x7000), put(modinfo.length)])],
    [0x6000, version],
    [0x7000, modinfo],
  ]);
  const section = Buffer.concat([header(ptrSize, big ? 1 : 0).subarray(0, 16), put(0x5000), put(0x5100), Buffer.alloc(16)]);
  return { section, memory };
}

function reader(memory: Map<number, Buffer>): (addr: number, length: number) => Buffer | undefined {
  return (addr, length) => {
    const b = memory.get(addr);
    return b === undefined || b.length < length ? undefined : b.subarray(0, length);
  };
}

for (const [ptrSize, big] of [
  [8, false],
  [4, true],
  [4, false],
  [8, true],
] as const) {
  test(`build info of Go < 1.18 (pointers, ${ptrSize * 8}-bit ${big ? 'big' : 'little'}-endian)`, () => {
    const { section, memory } = pointerLayout(ptrSize, big);
    const info = parseGoBuildInfo(section, reader(memory));
    assert.equal(info.goVersion, 'go1.16.15');
    assert.equal(info.mainPackage, 'example.com/old/cmd');
    assert.equal(info.mainModule, 'example.com/old');
    assert.equal(info.mainModuleVersion, '(devel)');
    assert.equal(info.modinfo, MODINFO);
    memory.delete(0x7000);
    assert.throws(() => parseGoBuildInfo(section, reader(memory)), /module info string lies outside the file/);
  });
}

test('build info of Go ≥ 1.18 (inline strings), quoted settings, and damaged sections', () => {
  const modinfo = `${MODINFO}build\t-ldflags="-s -w"\nbuild\tCGO_ENABLED=0\n`;
  const str = (s: string): Buffer => {
    const b = Buffer.from(s);
    const len: number[] = [];
    for (let n = b.length; ; n >>>= 7) {
      len.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      if (n <= 0x7f) break;
    }
    return Buffer.concat([Buffer.from(len), b]);
  };
  // the sentinels are not UTF-8: build the modinfo bytes the way the linker writes them
  const section = Buffer.concat([
    header(8, 2),
    str('go1.21.0'),
    (() => {
      const m = Buffer.concat([SENTINEL_START, Buffer.from(modinfo), SENTINEL_END]);
      return Buffer.concat([Buffer.from([(m.length & 0x7f) | 0x80, m.length >> 7]), m]);
    })(),
  ]);
  const noMemory = (): undefined => undefined;
  const info = parseGoBuildInfo(section, noMemory);
  assert.equal(info.goVersion, 'go1.21.0');
  assert.equal(info.mainModule, 'example.com/old');
  assert.deepEqual(info.settings, { '-ldflags': '-s -w', CGO_ENABLED: '0' });
  assert.throws(() => parseGoBuildInfo(section.subarray(0, 60), noMemory), GoBuildInfoError);
  assert.throws(() => parseGoBuildInfo(Buffer.alloc(64), noMemory), /magic is missing/);
  const bad = Buffer.concat([header(8, 2), str('not-a-version'), str('')]);
  assert.throws(() => parseGoBuildInfo(bad, noMemory), /is not a Go version/);
});
