// The oracle of the line-table tests: run starts computed from a plain `go tool objdump`
// listing (one "  base.go:line\t0xPC\t…" row per instruction, under "TEXT symbol(SB) file"
// headers). objdump prints only the base name of the file, so callers use files whose base
// name is unique in the binary. Two things the listing gets wrong, both reported, not hidden:
// symbol names are the ELF ones (assembly functions end in ".abi0", the pclntab's names do
// not), and Go 1.19's x86 decoder does not know VEX (AVX) instructions, prints "?" and decodes
// from the wrong byte onwards (printing "?" or, silently, other instructions), so instruction
// boundaries in functions with a VEX/EVEX first byte (c4, c5, 62: always VEX/EVEX in 64-bit
// mode) or a "?" are not the real ones (arm64's "?" is one 4-byte word, harmless); and an x86 prefix written as its own assembly
// statement (LOCK on one line, CMPXCHGL on the next) is one instruction to objdump but starts a
// line one byte in to the pclntab. Generic functions are "F[go.shape.int_0]" in the listing and
// "F[...]" in the pclntab: names are compared after normalizeName.

import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export interface RunStart {
  pc: number;
  function: string;
}

export interface ObjdumpRuns {
  /** "base:line" → run starts, in address order. */
  runs: Map<string, RunStart[]>;
  /** Functions (normalized names) with "?" or a VEX/EVEX byte: on amd64 their boundaries may be off. */
  undecodable: Set<string>;
  /** pc → bytes (hex) of the listed instructions of the given files: prefixes are judged by them. */
  instructions: Map<number, string>;
}

/** Type arguments elided as the pclntab stores them. */
export function normalizeName(name: string): string {
  return name
    .replace(/\.abi0$/, '')
    .replace(/\[.*\]/, '[...]')
    .replace(/·/g, '.');
}

/** An x86 LOCK/REP prefix the source wrote as a statement of its own, pc being the byte after it. */
export function isPrefixSplit(instructions: ReadonlyMap<number, string>, pc: number): boolean {
  const hex = instructions.get(pc - 1);
  return hex !== undefined && hex.length > 2 && /^(f0|f2|f3)/.test(hex);
}

/**
 * For every "base:line" of the given base names: the pc of each instruction whose base:line
 * differs from the previous instruction's in the same symbol, in listing (address) order.
 */
export function objdumpRunStarts(dumpPath: string, bases: ReadonlySet<string>): ObjdumpRuns {
  const out = new Map<string, RunStart[]>();
  const undecodable = new Set<string>();
  const instructions = new Map<number, string>();
  let fn = '';
  let prev = '';
  forEachLine(dumpPath, (line) => {
    if (line.startsWith('TEXT ')) {
      fn = normalizeName(/^TEXT (.*)\(SB\)/.exec(line)?.[1] ?? '');
      prev = '';
      return;
    }
    const m = /^ {2}(\S+):(\d+)\t+0x([0-9a-f]+)\t+([0-9a-f]+)\t+(\S*)/.exec(line);
    if (m === null) return;
    if (m[5] === '?' || /^(c4|c5|62)/.test(m[4])) undecodable.add(fn);
    const key = `${m[1]}:${m[2]}`;
    if (bases.has(m[1])) instructions.set(parseInt(m[3], 16), m[4]);
    if (key !== prev && bases.has(m[1])) {
      let list = out.get(key);
      if (list === undefined) out.set(key, (list = []));
      list.push({ pc: parseInt(m[3], 16), function: fn });
    }
    prev = key;
  });
  return { runs: out, undecodable, instructions };
}

/** Calls fn for each line of a (possibly 150 MB) file without holding it in one string. */
function forEachLine(path: string, fn: (line: string) => void): void {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(16 << 20);
    const text = new StringDecoder('utf8'); // a chunk may end inside a character
    let rest = '';
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const lines = (rest + text.write(buf.subarray(0, n))).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) fn(l);
    }
    if (rest !== '') fn(rest);
  } finally {
    closeSync(fd);
  }
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
