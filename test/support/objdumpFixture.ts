// Reads test/fixtures/stepping/objdump-<arch>.txt: `go tool objdump` lines as (pc, bytes, text).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ArchName } from '../../src/bluepill/archProfile';
import { repoRoot } from './repoRoot';

export interface ObjdumpLine {
  fn: string;
  pc: number;
  bytes: Buffer;
  text: string;
}

export const steppingFixtures = join(repoRoot, 'test', 'fixtures', 'stepping');

export function objdumpLines(arch: ArchName): ObjdumpLine[] {
  const out: ObjdumpLine[] = [];
  let fn = '';
  for (const line of readFileSync(join(steppingFixtures, `objdump-${arch}.txt`), 'utf8').split('\n')) {
    const t = /^TEXT (\S+)\(SB\)/.exec(line);
    if (t) {
      fn = t[1];
      continue;
    }
    const m = /^\s+\S+:\d+\s+0x([0-9a-f]+)\s+([0-9a-f]+)\s+(.*?)\s*$/.exec(line);
    if (!m) continue;
    // amd64 lists bytes in memory order; arm64 lists the 32-bit word, stored little-endian.
    let bytes = Buffer.from(m[2], 'hex');
    if (arch === 'arm64') {
      bytes = Buffer.alloc(4);
      bytes.writeUInt32LE(parseInt(m[2], 16), 0);
    }
    out.push({ fn, pc: parseInt(m[1], 16), bytes, text: m[3] });
  }
  return out;
}

/** First instruction address of each function in the fixture. */
export function functionEntries(arch: ArchName): Map<string, number> {
  const entries = new Map<string, number>();
  for (const l of objdumpLines(arch)) if (!entries.has(l.fn)) entries.set(l.fn, l.pc);
  return entries;
}
