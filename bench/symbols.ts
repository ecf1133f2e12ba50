// Symbol sources against the tools they stand in for, measured in the same run:
//  - index a ≥ 300 MB `go tool objdump` dump (3 copies of the dump of a 43 MB cmd/compile
//    built here) vs `wc -l` and `grep -c '^TEXT'` on the same file;
//  - symbolize 100k addresses with our pclntab reader vs `addr2line` on the same binary;
//  - read .symtab and .gopclntab of that binary vs `nm -size`.
// The Go tools are run from GOTOOLDIR directly (no `go tool` launcher in the timing).
// Go 1.19 (Debian 12) builds the binary: cmd/compile with uncompressed DWARF, 43 MB.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElfFile } from '../src/symbols/elfFile';
import { GoPclntab } from '../src/symbols/gopclntab';
import { loadBinarySymbols } from '../src/symbols/binarySymbols';
import { formatTable, median, type BenchRow } from './benchTable';
import { repoRoot } from '../test/support/repoRoot';

const GO = '/usr/bin/go';
const ADDRS = 100_000;
const MIN_DUMP_BYTES = 300 * 1000 * 1000;

function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0' };
}

function cacheDir(recipe: string): string {
  const hash = createHash('sha256').update(recipe).digest('hex').slice(0, 12);
  const dir = join(process.env.BLUEPILL_CACHE ?? join(homedir(), '.cache/bluepill-debug'), `symbols-bench-${hash}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** cmd/compile with uncompressed DWARF (43 MB) and its objdump (~120 MB), cached. */
function bigBinary(): { binary: string; dump: string; toolDir: string } {
  const version = execFileSync(GO, ['env', 'GOVERSION'], { env: goEnv(), encoding: 'utf8' }).trim();
  const toolDir = execFileSync(GO, ['env', 'GOTOOLDIR'], { env: goEnv(), encoding: 'utf8' }).trim();
  const dir = cacheDir(`compile|${version}|-ldflags=-compressdwarf=false|v1`);
  const binary = join(dir, 'compile');
  if (!existsSync(binary)) {
    execFileSync(GO, ['build', '-ldflags=-compressdwarf=false', '-o', `${binary}.tmp`, 'cmd/compile'], { env: goEnv(), cwd: tmpdir(), stdio: 'inherit' });
    renameSync(`${binary}.tmp`, binary);
  }
  const dump = join(dir, 'compile.objdump');
  if (!existsSync(dump)) {
    const out = spawnSync(join(toolDir, 'objdump'), [binary], { maxBuffer: 1 << 30 });
    if (out.status !== 0) throw new Error(`objdump failed: ${String(out.stderr)}`);
    writeFileSync(`${dump}.tmp`, out.stdout);
    renameSync(`${dump}.tmp`, dump);
  }
  return { binary, dump, toolDir };
}

/**
 * CPU time (user + system) of a child process, from bash's `times` (10 ms ticks). Output goes
 * through a pipe, not to /dev/null: GNU grep stops at the first match when it sees /dev/null.
 */
function childCpuMs(cmd: string, args: string[], input?: string): number {
  const r = spawnSync('bash', ['-c', 'set -o pipefail; "$@" | cat > /dev/null || exit 1; times', '_', cmd, ...args], {
    input,
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  // second line: children's user and system time, e.g. "0m0.375s 0m0.032s"
  const children = r.stdout.trim().split('\n').pop() ?? '';
  const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (secs.length !== 2) throw new Error(`cannot read times output: ${r.stdout}`);
  return (secs[0] + secs[1]) * 1000;
}

/** CPU time (user + system) of fn in this process. */
function cpuMs(fn: () => void): number {
  const t0 = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
}

/** Peak RSS of the current process image (VmHWM; unlike getrusage it is not inherited from the parent). */
const PEAK_RSS_JS = "Number(/VmHWM:\\s*(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]) / 1024";

/** Indexes in a fresh process, so its peak RSS is the indexer's alone. */
function indexInChild(file: string): { cpuMs: number; peakRssMiB: number; functions: number } {
  const script = `
    const { ObjdumpIndex } = require(${JSON.stringify(join(repoRoot, 'src/symbols/objdumpIndex.ts'))});
    const t0 = process.cpuUsage();
    ObjdumpIndex.fromFile(${JSON.stringify(file)}).then((ix) => {
      const d = process.cpuUsage(t0);
      process.stdout.write(JSON.stringify({ cpuMs: (d.user + d.system) / 1000, peakRssMiB: ${PEAK_RSS_JS}, functions: ix.functions.length }));
    });`;
  return JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: repoRoot, encoding: 'utf8' })) as {
    cpuMs: number;
    peakRssMiB: number;
    functions: number;
  };
}

function idleRssMiB(): number {
  return Number(execFileSync(process.execPath, ['--import', 'tsx', '-e', `process.stdout.write(String(${PEAK_RSS_JS}))`], { cwd: repoRoot, encoding: 'utf8' }));
}

function indexRows(dumpOnce: string): BenchRow[] {
  const dir = mkdtempSync(join(tmpdir(), 'symbols-bench-'));
  try {
    const file = join(dir, 'big.objdump');
    writeFileSync(file, '');
    while (statSync(file).size < MIN_DUMP_BYTES) appendFileSync(file, readFileSync(dumpOnce));
    const mb = statSync(file).size / 1e6;
    // warm the page cache for every contender alike
    childCpuMs('cat', [file]);
    const ours = [0, 1, 2].map(() => indexInChild(file));
    const wc = median([0, 1, 2].map(() => childCpuMs('wc', ['-l', file])));
    const grep = median([0, 1, 2].map(() => childCpuMs('grep', ['-c', '^TEXT', file])));
    const oursMs = median(ours.map((o) => o.cpuMs));
    const rss = median(ours.map((o) => o.peakRssMiB));
    const idle = idleRssMiB();
    const label = `index a ${mb.toFixed(0)} MB objdump dump (${ours[0].functions} TEXT blocks), MB per CPU second (higher is better)`;
    return [
      { name: label, value: mb / (oursMs / 1000), unit: 'MB/s', baselineName: 'wc -l', baseline: mb / (wc / 1000), ratio: wc / oursMs },
      { name: label, value: mb / (oursMs / 1000), unit: 'MB/s', baselineName: "grep -c '^TEXT'", baseline: mb / (grep / 1000), ratio: grep / oursMs },
      {
        name: `index a ${mb.toFixed(0)} MB objdump dump, peak RSS (lower is better)`,
        value: rss,
        unit: 'MiB',
        baselineName: 'node+tsx doing nothing',
        baseline: idle,
        ratio: rss / idle,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function symbolizeRows(binary: string, toolDir: string): BenchRow[] {
  const elf = ElfFile.open(binary);
  const text = elf.section('.text');
  if (text === undefined) throw new Error('no .text');
  let seed = 1;
  const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  const pcs = Array.from({ length: ADDRS }, () => text.addr + Math.floor(rnd() * text.size));
  const input = pcs.map((pc) => `0x${pc.toString(16)}\n`).join('');
  const a2l = median([0, 1, 2].map(() => childCpuMs(join(toolDir, 'addr2line'), [binary], input)));
  let sink = 0;
  // "index reused": a warm-up pass decodes the tables of the functions hit and warms the JIT,
  // as in a language server that has answered hovers before. Measured first: process CPU time
  // also counts V8's background GC threads, busy after the load-from-scratch runs below.
  const syms = loadBinarySymbols(binary);
  for (const pc of pcs) sink += syms.symbolize(pc)?.line ?? 0;
  const reused = median(
    [0, 1, 2, 3, 4].map(() =>
      cpuMs(() => {
        for (const pc of pcs) sink += syms.symbolize(pc)?.line ?? 0;
      }),
    ),
  );
  const loadAndAll = median(
    [0, 1, 2].map(() =>
      cpuMs(() => {
        const fresh = loadBinarySymbols(binary);
        for (const pc of pcs) sink += fresh.symbolize(pc)?.line ?? 0;
      }),
    ),
  );
  if (sink === 0) throw new Error('no lines found');
  const what = `symbolize ${ADDRS / 1000}k random pcs of a ${(elf.fileSize / 1e6).toFixed(0)} MB Go binary (function, file:line), CPU ms`;
  return [
    { name: `${what}, index reused (lower is better)`, value: reused, unit: 'ms', baselineName: 'go tool addr2line', baseline: a2l, ratio: a2l / reused },
    {
      name: `${what}, load + symbolize (lower is better)`,
      value: loadAndAll,
      unit: 'ms',
      baselineName: 'go tool addr2line',
      baseline: a2l,
      ratio: a2l / loadAndAll,
    },
  ];
}

function tableRows(binary: string, toolDir: string): BenchRow[] {
  const nm = median([0, 1, 2].map(() => childCpuMs(join(toolDir, 'nm'), ['-size', binary])));
  let count = 0;
  const symtab = median(
    [0, 1, 2].map(() =>
      cpuMs(() => {
        count = ElfFile.open(binary).functionSymbols().length;
      }),
    ),
  );
  let funcs = 0;
  const pclntab = median(
    [0, 1, 2].map(() =>
      cpuMs(() => {
        const elf = ElfFile.open(binary);
        const tab = GoPclntab.parse(elf.sectionData('.gopclntab'), { textStart: elf.section('.text')?.addr });
        funcs = tab.functions().length;
      }),
    ),
  );
  const mb = (statSync(binary).size / 1e6).toFixed(0);
  return [
    {
      name: `read .symtab of a ${mb} MB Go binary (${count} functions), CPU ms (lower is better)`,
      value: symtab,
      unit: 'ms',
      baselineName: 'go tool nm -size',
      baseline: nm,
      ratio: nm / symtab,
    },
    {
      name: `read .gopclntab of a ${mb} MB Go binary (${funcs} functions with names), CPU ms (lower is better)`,
      value: pclntab,
      unit: 'ms',
      baselineName: 'go tool nm -size',
      baseline: nm,
      ratio: nm / pclntab,
    },
  ];
}

export async function run(): Promise<BenchRow[]> {
  if (!existsSync(GO)) throw new Error(`${GO} missing (apt-get install golang-go)`);
  const { binary, dump, toolDir } = bigBinary();
  return [...tableRows(binary, toolDir), ...symbolizeRows(binary, toolDir), ...indexRows(dump)];
}

if (require.main === module) {
  void run().then((rows) => console.log(formatTable(rows)));
}
