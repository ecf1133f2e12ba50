// file:line → PCs and binary facts on real runsc (20221219, Go 1.19): our builds with DWARF
// against `go tool objdump` of the same binary, Debian's stripped builds (.gopclntab only,
// -trimpath names) against their own pclntab. Binaries from `bash scripts/runsc path`.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readBinaryFacts } from '../../../src/symbols/binaryFacts';
import { ElfFile } from '../../../src/symbols/elfFile';
import { GoPclntab } from '../../../src/symbols/gopclntab';
import { GoLineTable } from '../../../src/symbols/lineTable';
import { repoRoot } from '../../support/repoRoot';
import { goObjdump, systemGo, type GoToolchain } from '../../support/goTools';
import { baseName, isPrefixSplit, normalizeName, objdumpRunStarts, type RunStart } from '../../support/objdumpRuns';

const KVM = 'pkg/sentry/platform/kvm';
/** Where a developer's checkout would keep the file: matched by suffix to the build path. */
const LOCAL = '/home/dev/src/gvisor';

function runscPaths(): Record<string, string> | string {
  const r = spawnSync('bash', [join(repoRoot, 'scripts/runsc'), 'path'], { encoding: 'utf8' });
  if (r.status !== 0) return `scripts/runsc path exited ${r.status}: ${(r.stderr || '').trim().split('\n').pop() ?? ''}`;
  return Object.fromEntries(
    r.stdout
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

const paths = runscPaths();
const go = systemGo();

function skipReason(): string | undefined {
  if (typeof paths === 'string') return paths;
  if (typeof go === 'string') return go;
  return undefined;
}

function lineTableOf(binary: string): { tab: GoPclntab; lines: GoLineTable } {
  const elf = ElfFile.open(binary);
  const tab = GoPclntab.parse(elf.sectionData('.gopclntab'), { textStart: elf.section('.text')?.addr });
  return { tab, lines: new GoLineTable(tab) };
}

/** The bluepill files of the kvm package as the binary names them: Go and the generated assembly. */
function bluepillFiles(lines: GoLineTable, arch: string): string[] {
  const names = ['bluepill_unsafe.go', `bluepill_impl_${arch}.s`];
  return names.map((n) => {
    const m = lines.resolveFile(`${LOCAL}/${KVM}/${n}`);
    assert.equal(m.ambiguous, false, `${n}: ${m.candidates.join(', ')}`);
    assert.equal(m.matchedComponents, 6, `${n} matched as ${String(m.file)}`);
    return m.file ?? assert.fail(`${n} is not in the binary`);
  });
}

function ms(t0: number): string {
  return `${(performance.now() - t0).toFixed(1)} ms`;
}

for (const arch of ['amd64', 'arm64']) {
  test(`runsc ${arch} with DWARF: every line of the bluepill files maps to the run starts go tool objdump lists`, (t: TestContext) => {
    const skip = skipReason();
    if (skip !== undefined) return t.skip(skip);
    const binary = (paths as Record<string, string>)[`RUNSC_${arch.toUpperCase()}`];
    const facts = readBinaryFacts(binary);
    assert.equal(facts.arch, arch);
    assert.equal(facts.hasDwarf, true);
    assert.equal(facts.stripped, false);
    assert.equal(facts.hasSymtab, true);
    assert.equal(facts.hasPclntab, true);
    assert.ok(facts.goVersion?.startsWith('go1.19'), facts.goVersion);
    assert.equal(facts.mainPackage, 'gvisor.dev/gvisor/runsc');

    let t0 = performance.now();
    const { lines } = lineTableOf(binary);
    const load = ms(t0);
    t0 = performance.now();
    const files = bluepillFiles(lines, arch);
    const first = ms(t0);
    // objdump prints base names: they must be unique for its listing to be an oracle
    for (const f of files) assert.equal(lines.files().filter((x) => baseName(x) === baseName(f)).length, 1, f);
    // the full listing: bluepill code is inlined into functions outside package kvm too
    const listing = objdumpRunStarts(goObjdump(go as GoToolchain, binary), new Set(files.map(baseName)));
    for (const f of files) {
      const base = baseName(f);
      const max = Math.max(
        ...lines.linesOfFile(f),
        ...[...listing.runs.keys()].filter((k) => k.startsWith(`${base}:`)).map((k) => Number(k.slice(base.length + 1))),
      );
      assert.ok(max > 20, `${base}: last line with code ${max}`);
      let withCode = 0;
      let starts = 0;
      let splits = 0;
      t0 = performance.now();
      for (let line = 1; line <= max + 10; line++) {
        const got: RunStart[] = [];
        for (const p of lines.pcsForLine(f, line)) {
          // a LOCK written on its own line: objdump shows one instruction (see objdumpRuns.ts)
          if (arch === 'amd64' && isPrefixSplit(listing.instructions, p.pc)) splits++;
          else got.push({ pc: p.pc, function: normalizeName(p.function) });
        }
        const want = listing.runs.get(`${base}:${line}`) ?? [];
        if (arch === 'amd64') for (const r of want) assert.ok(!listing.undecodable.has(r.function), `objdump cannot decode ${r.function}`);
        assert.deepEqual(got, want, `${base}:${line}`);
        assert.equal(lines.linesOfFile(f).includes(line), want.length > 0 || got.length > 0, `${base}:${line} has code`);
        if (want.length > 0) withCode++;
        starts += want.length;
      }
      t.diagnostic(
        `${arch} ${base}: lines 1-${max + 10} compared, ${withCode} with code, ${starts} run starts, ${splits} prefix splits; all queries ${ms(t0)}`,
      );
      assert.ok(withCode > 10);
    }
    t.diagnostic(
      `${arch}: pclntab load ${load}; first query (index of ${lines.files().length} files) ${first}, index build ${lines.indexBuildMs?.toFixed(1)} ms`,
    );
  });

  test(`Debian's stripped runsc ${arch}: facts, and file:line → PCs that symbolize back to file:line`, (t: TestContext) => {
    const skip = skipReason();
    if (skip !== undefined) return t.skip(skip);
    const binary = (paths as Record<string, string>)[`RUNSC_DEBIAN_${arch.toUpperCase()}`];
    const t0 = performance.now();
    const facts = readBinaryFacts(binary);
    t.diagnostic(`${arch}: facts in ${ms(t0)}: ${JSON.stringify(facts)}`);
    assert.equal(facts.arch, arch);
    assert.equal(facts.stripped, true);
    assert.equal(facts.hasDwarf, false);
    assert.equal(facts.hasSymtab, false);
    assert.equal(facts.hasPclntab, true);
    assert.ok(facts.goVersion?.startsWith('go1.19'), facts.goVersion);
    assert.equal(facts.mainPackage, 'gvisor.dev/gvisor/runsc');
    assert.equal(facts.buildSettings['-trimpath'], 'true');

    const { tab, lines } = lineTableOf(binary);
    const ours = lineTableOf((paths as Record<string, string>)[`RUNSC_${arch.toUpperCase()}`]).lines;
    const files = bluepillFiles(lines, arch);
    const oursFiles = bluepillFiles(ours, arch);
    for (const [i, f] of files.entries()) {
      assert.ok(f.startsWith('gvisor.dev/gvisor/'), `-trimpath name ${f}`);
      let pcs = 0;
      for (const line of lines.linesOfFile(f)) {
        const found = lines.pcsForLine(f, line);
        assert.ok(found.length > 0, `${f}:${line} is listed with code but has no pc`);
        for (const p of found) {
          const at = tab.symbolize(p.pc);
          assert.deepEqual([at?.file, at?.line, at?.function], [f, line, p.function], `0x${p.pc.toString(16)}`);
          if (p.pc !== p.entry) {
            const before = tab.symbolize(p.pc - 1);
            assert.ok(before?.file !== f || before.line !== line, `0x${p.pc.toString(16)} is inside a run of ${line}`);
          }
          pcs++;
        }
      }
      const a = lines.linesOfFile(f);
      const b = ours.linesOfFile(oursFiles[i]);
      t.diagnostic(
        `${arch} ${baseName(f)}: ${a.length} lines with code, ${pcs} run starts (our build: ${b.length} lines; same lines: ${JSON.stringify(a) === JSON.stringify(b)})`,
      );
      assert.ok(a.length > 10);
      // a line without code moves down to the next one that has
      const gap = a.findIndex((l, k) => k > 0 && l > a[k - 1] + 1);
      assert.equal(lines.pcsForLine(f, a[gap] - 1).length, 0);
      assert.equal(lines.nextLineWithCode(f, a[gap] - 1), a[gap]);
    }
  });
}
