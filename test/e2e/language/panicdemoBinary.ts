// Test support: the panicdemo program (test/fixtures/language/panicdemo_main.go.txt) built with
// the installed Go, cached outside the repo by a hash of its recipe.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES } from '../../support/languageServerProcess';

export interface BuiltBinary {
  path: string;
  goVersion: string;
}

/** Undefined when no Go toolchain is installed (the caller skips with that reason). */
export function goVersion(): string | undefined {
  const r = spawnSync('go', ['version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

export function buildPanicdemo(): BuiltBinary {
  const version = goVersion();
  if (version === undefined) throw new Error('go is not installed');
  const source = readFileSync(join(FIXTURES, 'panicdemo_main.go.txt'), 'utf8');
  const recipe = JSON.stringify({ source, version, flags: ['CGO_ENABLED=0'] });
  const hash = createHash('sha256').update(recipe).digest('hex').slice(0, 16);
  const dir = join(process.env.BLUEPILL_CACHE ?? join(homedir(), '.cache', 'bluepill-debug'), `lsp-panicdemo-${hash}`);
  const path = join(dir, 'panicdemo');
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'main.go'), source);
    writeFileSync(join(dir, 'go.mod'), 'module example.com/panicdemo\n\ngo 1.19\n');
    const tmp = `${path}.tmp${process.pid}`;
    execFileSync('go', ['build', '-o', tmp, '.'], { cwd: dir, env: { ...process.env, CGO_ENABLED: '0' }, stdio: 'pipe' });
    renameSync(tmp, path);
  }
  return { path, goVersion: version };
}

/** `go tool nm` as the oracle of a function's address. */
export function nmAddress(binary: string, name: string): number {
  const out = execFileSync('go', ['tool', 'nm', binary], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 3 && f[2] === name) return parseInt(f[0], 16);
  }
  throw new Error(`${name} not in go tool nm output`);
}

/** `go tool addr2line` as the oracle of file:line. */
export function addr2line(binary: string, addr: number): { func: string; file: string; line: number } {
  const out = execFileSync('go', ['tool', 'addr2line', binary], { input: `0x${addr.toString(16)}\n`, encoding: 'utf8' }).split('\n');
  const colon = out[1].lastIndexOf(':');
  return { func: out[0], file: out[1].slice(0, colon), line: Number(out[1].slice(colon + 1)) };
}

/** `go tool objdump -s '^name$'` of the binary, as produced for the virtual documents. */
export function objdumpOf(binary: string, regexp: string): string {
  return execFileSync('go', ['tool', 'objdump', '-s', regexp, binary], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}
