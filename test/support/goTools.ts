// Real Go toolchains for the symbols tests: builds the demo program (cached outside the repo
// by recipe hash) and asks `go tool addr2line` / `go tool nm` / `go tool objdump` for the
// answers our readers must reproduce.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from './repoRoot';

export const FIXTURES = join(repoRoot, 'test/fixtures/symbols');
export const SAMPLES = join(FIXTURES, 'objdump-samples');
const DEMO_DIR = join(FIXTURES, 'demo');

export interface GoToolchain {
  name: string;
  go: string;
  goroot: string;
  version: string;
}

function cacheRoot(): string {
  return process.env.BLUEPILL_CACHE ?? join(homedir(), '.cache/bluepill-debug');
}

/** `${cache}/<name>-<hash of recipe>/`, created. */
export function cacheDir(name: string, recipe: string): string {
  const hash = createHash('sha256').update(recipe).digest('hex').slice(0, 12);
  const dir = join(cacheRoot(), `${name}-${hash}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function toolchainAt(name: string, go: string): GoToolchain {
  const env = { ...process.env, GOTOOLCHAIN: 'local' };
  const goroot = execFileSync(go, ['env', 'GOROOT'], { env, encoding: 'utf8' }).trim();
  const version = execFileSync(go, ['env', 'GOVERSION'], { env: { ...env, GOROOT: goroot }, encoding: 'utf8' }).trim();
  return { name, go, goroot, version };
}

/** Debian 12's Go 1.19 (apt golang-go). */
export function systemGo(): GoToolchain | string {
  const go = ['/usr/bin/go', '/usr/lib/go-1.19/bin/go'].find((p) => existsSync(p));
  if (go === undefined) return 'no system Go (apt-get install golang-go)';
  return toolchainAt('go1.19', go);
}

/** Debian 13's Go 1.24 from scripts/toolchains.sh trixie, or the reason it is not there. */
export function trixieGo(): GoToolchain | string {
  const script = join(repoRoot, 'scripts/toolchains.sh');
  if (!existsSync(script)) return 'scripts/toolchains.sh is missing';
  const r = spawnSync('bash', [script, 'trixie'], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) return `scripts/toolchains.sh trixie failed: ${(r.stderr || r.stdout || '').trim().split('\n').pop()}`;
  const go = /^GO=(.*)$/m.exec(r.stdout)?.[1];
  if (go === undefined || !existsSync(go)) return 'scripts/toolchains.sh trixie printed no GO= path';
  return toolchainAt('go1.24', go);
}

function goEnv(tc: GoToolchain, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, GOTOOLCHAIN: 'local', GOROOT: tc.goroot, CGO_ENABLED: '0', GOFLAGS: '-mod=mod', ...extra };
}

export interface DemoBuild {
  tc: GoToolchain;
  goarch: string;
  stripped: boolean;
  /** -buildmode=pie: .gopclntab becomes .data.rel.ro.gopclntab */
  pie?: boolean;
}

export function buildLabel(b: DemoBuild): string {
  return `${b.tc.version} ${b.goarch}${b.stripped ? ' stripped' : ''}${b.pie ? ' PIE' : ''}`;
}

/** Builds test/fixtures/symbols/demo for one GOARCH (cached); returns the binary's path. */
export function buildDemo(b: DemoBuild): string {
  const sources = readdirSync(DEMO_DIR)
    .sort()
    .map((f) => `${f}\n${readFileSync(join(DEMO_DIR, f), 'utf8')}`)
    .join('\n');
  const ldflags = b.stripped ? '-s -w' : '';
  const mode = b.pie ? ['-buildmode=pie'] : [];
  const recipe = `demo|${b.tc.version}|${b.goarch}|${ldflags}|${mode.join(' ')}|${sources}`;
  const out = join(cacheDir('symbols-demo', recipe), 'demo');
  if (!existsSync(out)) {
    const tmp = `${out}.tmp${process.pid}`;
    execFileSync(b.tc.go, ['build', ...mode, '-ldflags', ldflags, '-o', tmp, '.'], {
      cwd: DEMO_DIR,
      env: goEnv(b.tc, { GOARCH: b.goarch, GOOS: 'linux' }),
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    renameSync(tmp, out);
  }
  return out;
}

/** Builds the gosym oracle (test/fixtures/symbols/gosymoracle) with the given toolchain. */
export function buildOracle(tc: GoToolchain): string {
  const dir = join(FIXTURES, 'gosymoracle');
  const recipe = `oracle|${tc.version}|${readFileSync(join(dir, 'main.go'), 'utf8')}`;
  const out = join(cacheDir('symbols-oracle', recipe), 'gosymoracle');
  if (!existsSync(out)) {
    const tmp = `${out}.tmp${process.pid}`;
    execFileSync(tc.go, ['build', '-o', tmp, '.'], { cwd: dir, env: goEnv(tc), stdio: ['ignore', 'ignore', 'inherit'] });
    renameSync(tmp, out);
  }
  return out;
}

export interface Addr2lineAnswer {
  function: string;
  file: string;
  line: number;
}

/** Parses `name\nfile:line\n` pairs as addr2line prints them. */
export function parseAddr2line(out: string, count: number): Addr2lineAnswer[] {
  const lines = out.split('\n');
  const answers: Addr2lineAnswer[] = [];
  for (let i = 0; i < count; i++) {
    const fileLine = lines[2 * i + 1] ?? '';
    const colon = fileLine.lastIndexOf(':');
    answers.push({ function: lines[2 * i], file: fileLine.slice(0, colon), line: Number(fileLine.slice(colon + 1)) });
  }
  return answers;
}

/** `go tool addr2line` over all pcs in one batch (it flushes only at EOF). */
export function addr2line(tc: GoToolchain, binary: string, pcs: readonly number[]): Addr2lineAnswer[] {
  const input = pcs.map((pc) => `0x${pc.toString(16)}\n`).join('');
  const out = execFileSync(tc.go, ['tool', 'addr2line', binary], { input, env: goEnv(tc), maxBuffer: 1 << 30, encoding: 'utf8' });
  return parseAddr2line(out, pcs.length);
}

/** The gosym oracle over a raw pclntab file. */
export function gosymOracle(oracle: string, pclntabFile: string, textStart: number, pcs: readonly number[]): Addr2lineAnswer[] {
  const input = pcs.map((pc) => `0x${pc.toString(16)}\n`).join('');
  const out = execFileSync(oracle, [pclntabFile, textStart.toString(16)], { input, maxBuffer: 1 << 30, encoding: 'utf8' });
  return parseAddr2line(out, pcs.length);
}

export interface NmSymbol {
  start: number;
  size: number;
  kind: string;
  name: string;
}

/** `go tool nm -size -sort address`. */
export function goNm(tc: GoToolchain, binary: string): NmSymbol[] {
  const out = execFileSync(tc.go, ['tool', 'nm', '-size', '-sort', 'address', binary], { env: goEnv(tc), maxBuffer: 1 << 30, encoding: 'utf8' });
  const syms: NmSymbol[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*([0-9a-f]+)\s+(\d+)\s+(\S)\s+(.*)$/.exec(line);
    if (m !== null) syms.push({ start: parseInt(m[1], 16), size: Number(m[2]), kind: m[3], name: m[4] });
  }
  return syms;
}

/** `go tool objdump [flags] binary` written to a cached file; returns its path. */
export function goObjdump(tc: GoToolchain, binary: string, flags: string[] = []): string {
  const out = join(cacheDir('symbols-objdump', `${tc.version}|${flags.join(' ')}|${binary}|${readFileSync(binary).length}`), 'dump.txt');
  if (!existsSync(out)) {
    const text = execFileSync(tc.go, ['tool', 'objdump', ...flags, binary], { env: goEnv(tc), maxBuffer: 1 << 30 });
    mkdirSync(dirname(out), { recursive: true });
    // test files run in parallel: write aside, then rename into place
    writeFileSync(`${out}.tmp${process.pid}`, text);
    renameSync(`${out}.tmp${process.pid}`, out);
  }
  return out;
}

/** Deterministic pseudo-random numbers (tests must be reproducible). */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
