import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ElfFile } from '../../../src/symbols/elfFile';
import { GoPclntab } from '../../../src/symbols/gopclntab';
import { GoLineTable, matchFileBySuffix, type LinePc } from '../../../src/symbols/lineTable';
import { FIXTURES, buildDemo, buildLabel, goObjdump, systemGo, trixieGo, type DemoBuild, type GoToolchain } from '../../support/goTools';
import { baseName, isPrefixSplit, normalizeName, objdumpRunStarts, type ObjdumpRuns, type RunStart } from '../../support/objdumpRuns';

const go19 = systemGo();
const go124 = trixieGo();
const DEMO_MAIN = join(FIXTURES, 'demo/main.go');

function lineTableOf(binary: string): { tab: GoPclntab; lines: GoLineTable } {
  const elf = ElfFile.open(binary);
  const tab = GoPclntab.parse(elf.sectionData('.gopclntab'), { textStart: elf.section('.text')?.addr });
  return { tab, lines: new GoLineTable(tab) };
}

/** Files of the table whose base name no other file has (objdump prints base names only). */
function uniqueBaseFiles(files: readonly string[]): string[] {
  const count = new Map<string, number>();
  for (const f of files) count.set(baseName(f), (count.get(baseName(f)) ?? 0) + 1);
  return files.filter((f) => count.get(baseName(f)) === 1);
}

function asRuns(pcs: LinePc[]): RunStart[] {
  return pcs.map((p) => ({ pc: p.pc, function: normalizeName(p.function) }));
}

/**
 * Both sides without what objdump cannot show (see objdumpRuns.ts): starts in functions it
 * could not decode (amd64 only: arm64's "?" is a lone word) and starts one byte after a prefix
 * written as its own statement (pclntab side). Keys left empty go too.
 */
function comparable(runs: Map<string, RunStart[]>, listing: ObjdumpRuns, goarch: string, counts: { split: number }): Map<string, RunStart[]> {
  const out = new Map<string, RunStart[]>();
  for (const [key, list] of runs) {
    const kept = list.filter((r) => {
      if (goarch === 'amd64' && listing.undecodable.has(r.function)) return false;
      if (goarch === 'amd64' && isPrefixSplit(listing.instructions, r.pc)) {
        counts.split++;
        return false;
      }
      return true;
    });
    if (kept.length > 0) out.set(key, kept);
  }
  return out;
}

const toolchains: GoToolchain[] = [go19, go124].filter((t): t is GoToolchain => typeof t !== 'string');
const builds: DemoBuild[] = toolchains.flatMap((tc) => ['amd64', 'arm64'].map((goarch) => ({ tc, goarch, stripped: false })));

for (const b of builds) {
  test(`file:line → PCs of ${buildLabel(b)} equal the run starts of go tool objdump for every line of every uniquely named file`, (t) => {
    const binary = buildDemo(b);
    const { lines } = lineTableOf(binary);
    const files = uniqueBaseFiles(lines.files());
    const byBase = new Map(files.map((f) => [baseName(f), f]));
    const listing = objdumpRunStarts(goObjdump(b.tc, binary), new Set(byBase.keys()));
    const counts = { split: 0 };
    const want = comparable(listing.runs, listing, b.goarch, counts);
    assert.ok(want.size > 1000, `objdump gives ${want.size} file:lines`);
    if (b.goarch === 'amd64') assert.ok(listing.undecodable.size < 10, `objdump could not decode ${[...listing.undecodable].join(', ')}`);
    const all = new Map<string, RunStart[]>();
    for (const f of files) {
      for (const line of lines.linesOfFile(f)) all.set(`${baseName(f)}:${line}`, asRuns(lines.pcsForLine(f, line)));
    }
    const got = comparable(all, listing, b.goarch, counts);
    t.diagnostic(
      `${want.size} file:lines compared; left out: ${b.goarch === 'amd64' ? listing.undecodable.size : 0} functions objdump cannot decode, ${counts.split} prefix splits`,
    );
    // same keys: linesOfFile lists exactly the lines objdump shows code for
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [key, runs] of want) assert.deepEqual(got.get(key), runs, key);
    // a line may start several runs (loops, inlined copies): the demo must exercise that
    assert.ok([...want.values()].some((r) => r.length > 1));
    assert.ok(
      [...want.values()].some((r) => new Set(r.map((x) => x.function)).size > 1),
      'some line is inlined into several functions',
    );
  });

  test(`demo main.go of ${buildLabel(b)}: every line, lines without code and the next line with code`, () => {
    const binary = buildDemo(b);
    const { lines } = lineTableOf(binary);
    const match = lines.resolveFile(DEMO_MAIN);
    assert.equal(match.ambiguous, false);
    const file = match.file ?? assert.fail('main.go not found');
    assert.ok(file.endsWith('/demo/main.go'), file);
    const { runs: want } = objdumpRunStarts(goObjdump(b.tc, binary), new Set(['main.go']));
    const withCode = [...want.keys()].map((k) => Number(k.slice('main.go:'.length))).sort((x, y) => x - y);
    assert.ok(withCode.length > 20);
    assert.deepEqual(lines.linesOfFile(file), withCode);
    const last = withCode[withCode.length - 1];
    for (let line = 0; line <= last + 5; line++) {
      assert.deepEqual(asRuns(lines.pcsForLine(file, line)), want.get(`main.go:${line}`) ?? [], `main.go:${line}`);
      assert.equal(
        lines.nextLineWithCode(file, line),
        withCode.find((l) => l >= line),
        `next line with code from ${line}`,
      );
    }
    assert.deepEqual(lines.pcsForLine(`${file}.missing`, withCode[0]), []);
    assert.equal(typeof lines.indexBuildMs, 'number');
  });

  test(`stripped demo of ${buildLabel(b)} maps file:line to the same PCs as the unstripped build`, () => {
    const full = lineTableOf(buildDemo(b)).lines;
    const stripped = lineTableOf(buildDemo({ ...b, stripped: true })).lines;
    const file = full.resolveFile(DEMO_MAIN).file ?? assert.fail('main.go not found');
    assert.equal(stripped.resolveFile(DEMO_MAIN).file, file);
    const lines = full.linesOfFile(file);
    assert.deepEqual(stripped.linesOfFile(file), lines);
    for (const line of lines) assert.deepEqual(stripped.pcsForLine(file, line), full.pcsForLine(file, line), `main.go:${line}`);
  });
}

test('pcsForLine returns run starts only, each symbolizing to the requested file:line (Go 1.19 amd64 runtime/proc.go)', (t) => {
  if (typeof go19 === 'string') return t.skip(go19);
  const { tab, lines } = lineTableOf(buildDemo({ tc: go19, goarch: 'amd64', stripped: false }));
  const file = lines.files().find((f) => f.endsWith('/src/runtime/proc.go')) ?? assert.fail('no runtime/proc.go');
  let checked = 0;
  for (const line of lines.linesOfFile(file)) {
    for (const p of lines.pcsForLine(file, line)) {
      const at = tab.symbolize(p.pc);
      assert.equal(at?.file, file);
      assert.equal(at?.line, line);
      assert.equal(at?.function, p.function);
      assert.equal(at?.entry, p.entry);
      if (p.pc !== p.entry) {
        const before = tab.symbolize(p.pc - 1);
        assert.ok(before?.file !== file || before.line !== line, `0x${p.pc.toString(16)} continues a run of ${line}`);
      }
      checked++;
    }
  }
  assert.ok(checked > 1000, `${checked} pcs`);
});

test('matchFileBySuffix: longest common trailing components, ambiguity reported, base name required', () => {
  const files = [
    '/build/gopath/src/gvisor.dev/gvisor/pkg/sentry/platform/kvm/bluepill_unsafe.go',
    '/build/gopath/src/gvisor.dev/gvisor/pkg/sentry/platform/kvm/machine.go',
    '/build/gopath/src/gvisor.dev/gvisor/pkg/sentry/platform/ptrace/machine.go',
    '/usr/lib/go/src/runtime/proc.go',
    'gvisor.dev/gvisor/pkg/sentry/platform/systrap/proc.go',
  ];
  const local = '/home/me/src/gvisor/pkg/sentry/platform/kvm/bluepill_unsafe.go';
  assert.deepEqual(matchFileBySuffix(local, files), { file: files[0], candidates: [files[0]], matchedComponents: 6, ambiguous: false });
  // kvm/machine.go shares one more component than ptrace/machine.go
  assert.equal(matchFileBySuffix('C:\\src\\kvm\\machine.go', files).file, files[1]);
  const amb = matchFileBySuffix('/elsewhere/machine.go', files);
  assert.equal(amb.ambiguous, true);
  assert.equal(amb.file, undefined);
  assert.deepEqual(amb.candidates, [files[1], files[2]]);
  assert.equal(amb.matchedComponents, 1);
  const none = matchFileBySuffix('/home/me/kvm/bluepill.go', files);
  assert.deepEqual(none, { file: undefined, candidates: [], matchedComponents: 0, ambiguous: false });
  // a directory name equal to a base name is no match
  assert.equal(matchFileBySuffix('/x/runtime', files).file, undefined);
});

test('resolveFile prefers the exact name to a longer suffix match', (t) => {
  if (typeof go19 === 'string') return t.skip(go19);
  const { lines } = lineTableOf(buildDemo({ tc: go19, goarch: 'amd64', stripped: false }));
  const file = lines.resolveFile(DEMO_MAIN).file ?? assert.fail('main.go not found');
  assert.deepEqual(lines.resolveFile(file), { file, candidates: [file], matchedComponents: file.split('/').filter(Boolean).length, ambiguous: false });
  assert.ok(lines.hasFile(file));
  assert.equal(lines.hasFile(DEMO_MAIN.replace('/demo/', '/nodemo/')), false);
});
