// Hover latency of the go-objdump language server over LSP (a real server process on stdio),
// against grep finding the same address in the same file, measured in the same run:
//  - a > 300 MB dump named in bluepill.symbolFiles and never opened (3 copies of the
//    `go tool objdump` of cmd/compile built here; VS Code would never sync such a file);
//  - loading that dump + the first hover, vs `grep -c '^TEXT'` over the file;
//  - an open 7 MB go-objdump document (the dump of a small program).
// Standalone: node --import tsx bench/hover.ts

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, openSync, readSync, rmSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListSymbolFilesRequest, type ListSymbolFilesResult } from '../src/protocol/languageMessages';
import { hoverText, LanguageServerProcess } from '../test/support/languageServerProcess';
import { formatTable, median, type BenchRow } from './benchTable';

const GO = 'go';
const COPIES = 3;
const HOVERS = 200;
const GREPS = 15;

function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0' };
}

function cacheDir(recipe: string): string {
  const hash = createHash('sha256').update(recipe).digest('hex').slice(0, 12);
  const dir = join(process.env.BLUEPILL_CACHE ?? join(homedir(), '.cache', 'bluepill-debug'), `hover-bench-${hash}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** `go tool objdump` of a program built with the installed Go, cached by recipe. */
function dumpOf(pkg: string, copies: number): string {
  const version = execFileSync(GO, ['env', 'GOVERSION'], { env: goEnv(), encoding: 'utf8' }).trim();
  const dir = cacheDir(`${pkg}|${version}|x${copies}|v1`);
  const dump = join(dir, 'big.objdump');
  if (existsSync(dump)) return dump;
  const binary = join(dir, 'prog');
  execFileSync(GO, ['build', '-o', binary, pkg], { env: goEnv(), cwd: tmpdir(), stdio: 'inherit' });
  const once = join(dir, 'once.objdump');
  const out = spawnSync(GO, ['tool', 'objdump', binary], { env: goEnv(), maxBuffer: 1 << 30 });
  if (out.status !== 0) throw new Error(`go tool objdump failed: ${String(out.stderr)}`);
  writeFileSync(once, out.stdout);
  const tmp = `${dump}.tmp`;
  writeFileSync(tmp, '');
  for (let i = 0; i < copies; i++) appendFileSync(tmp, readFileSync(once));
  renameSync(tmp, dump);
  rmSync(once);
  return dump;
}

/** Instruction addresses picked evenly through the first copy of the dump. */
function sampleAddresses(dump: string, count: number, limitBytes: number): number[] {
  const fd = openSync(dump, 'r');
  const buf = Buffer.alloc(limitBytes);
  const n = readSync(fd, buf, 0, limitBytes, 0);
  closeSync(fd);
  const all = [...buf.toString('latin1', 0, n).matchAll(/^ {2}[^\t]*:\d+\t+0x([0-9a-f]+)\t/gm)].map((m) => parseInt(m[1], 16));
  const step = Math.max(1, Math.floor(all.length / count));
  return Array.from({ length: count }, (_, i) => all[(i * step) % all.length]);
}

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function grepMs(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('grep', args, { maxBuffer: 1 << 30 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`grep failed: ${String(r.stderr)}`);
  return ms(t0);
}

/** Median hover latency over the addresses, each on its own line of a Markdown note. */
async function hoverLatency(server: LanguageServerProcess, addresses: number[]): Promise<number> {
  const uri = `file:///bench/notes-${Math.random().toString(36).slice(2)}.md`;
  await server.open(uri, 'markdown', addresses.map((a) => `crash at 0x${a.toString(16)}`).join('\n'));
  const times: number[] = [];
  for (let i = 0; i < addresses.length; i++) {
    const t0 = process.hrtime.bigint();
    const h = await server.hover(uri, i, 12);
    times.push(ms(t0));
    if (!hoverText(h).includes('+0x') && !hoverText(h).includes('**`')) throw new Error(`no hover for 0x${addresses[i].toString(16)}`);
  }
  return median(times);
}

async function bigDumpRows(): Promise<BenchRow[]> {
  const dump = dumpOf('cmd/compile', COPIES);
  const size = statSync(dump).size;
  const mb = size / 1e6;
  const addresses = sampleAddresses(dump, HOVERS, Math.floor(size / COPIES));
  spawnSync('cat', [dump], { stdio: 'ignore' }); // page cache warm for everyone alike

  const server = await LanguageServerProcess.start();
  try {
    const t0 = process.hrtime.bigint();
    await server.configure({ bluepill: { symbolFiles: [dump] } });
    await server.connection.sendRequest<ListSymbolFilesResult>(ListSymbolFilesRequest.method);
    await server.open('file:///bench/first.md', 'markdown', `at 0x${addresses[0].toString(16)}`);
    await server.hover('file:///bench/first.md', 0, 5);
    const loadAndFirst = ms(t0);
    const hover = await hoverLatency(server, addresses);
    const grepOne = median(addresses.slice(0, GREPS).map((a) => grepMs(['-F', '-m1', '-n', `\t0x${a.toString(16)}\t`, dump])));
    const grepText = median([0, 1, 2].map(() => grepMs(['-c', '^TEXT', dump])));
    const what = `${mb.toFixed(0)} MB dump in bluepill.symbolFiles, never opened`;
    return [
      {
        name: `hover an address, ${what} (median of ${HOVERS}; lower is better)`,
        value: hover,
        unit: 'ms',
        baselineName: 'grep -F -m1 the address',
        baseline: grepOne,
        ratio: grepOne / hover,
      },
      {
        name: `load the ${what} + first hover (lower is better)`,
        value: loadAndFirst,
        unit: 'ms',
        baselineName: "grep -c '^TEXT'",
        baseline: grepText,
        ratio: grepText / loadAndFirst,
      },
    ];
  } finally {
    await server.stop();
  }
}

async function openDocumentRows(): Promise<BenchRow[]> {
  const dump = dumpOf('cmd/gofmt', 1);
  const mb = statSync(dump).size / 1e6;
  const addresses = sampleAddresses(dump, HOVERS, statSync(dump).size);
  const server = await LanguageServerProcess.start();
  try {
    await server.open('file:///bench/gofmt.objdump', 'go-objdump', readFileSync(dump, 'utf8'));
    const hover = await hoverLatency(server, addresses);
    const grepOne = median(addresses.slice(0, GREPS).map((a) => grepMs(['-F', '-m1', '-n', `\t0x${a.toString(16)}\t`, dump])));
    return [
      {
        name: `hover an address, open ${mb.toFixed(0)} MB go-objdump document (median of ${HOVERS}; lower is better)`,
        value: hover,
        unit: 'ms',
        baselineName: 'grep -F -m1 the address',
        baseline: grepOne,
        ratio: grepOne / hover,
      },
    ];
  } finally {
    await server.stop();
  }
}

export async function run(): Promise<BenchRow[]> {
  return [...(await openDocumentRows()), ...(await bigDumpRows())];
}

if (require.main === module) {
  void run().then((rows) => console.log(formatTable(rows)));
}
