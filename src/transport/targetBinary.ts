// What the target's binary (the sandbox's /proc/PID/exe) is, without copying the file: ElfFile and
// binaryFactsOf read through a source that holds only the byte ranges fetched so far. A read
// outside them names the range, which one `dd` on the target fetches before the parse starts
// again. The header, the section table and the section names take three round trips; the few
// small sections the facts need (build ids, .go.buildinfo, the .gopclntab header) a fourth.
import { binaryFactsOf, type BinaryFacts } from '../symbols/binaryFacts';
import { ElfFile, SHT_NOBITS, type ByteSource } from '../symbols/elfFile';
import type { CommandRunner } from './commandRunner';
import { readBytes } from './readBytes';

export interface TargetBinary {
  facts: BinaryFacts;
  /** The file's path on the target (where /proc/PID/exe points). */
  path: string;
}

/** Sections whose first bytes binaryFactsOf reads, and how many of them. */
const FACT_SECTIONS: Record<string, number> = {
  '.note.go.buildid': 4096,
  '.note.gnu.build-id': 4096,
  '.go.buildinfo': 64 * 1024,
  '.gopclntab': 8,
  '.data.rel.ro.gopclntab': 8,
};

class MissingRange extends Error {
  constructor(
    readonly offset: number,
    readonly length: number,
  ) {
    super(`bytes ${offset}+${length} not read yet`);
  }
}

class RangesSource implements ByteSource {
  private readonly ranges: Array<{ offset: number; data: Buffer }> = [];
  constructor(readonly size: number) {}
  add(offset: number, data: Buffer): void {
    this.ranges.push({ offset, data });
  }
  read(offset: number, length: number): Buffer {
    const end = Math.min(offset + length, this.size);
    const r = this.ranges.find((x) => x.offset <= offset && x.offset + x.data.length >= end);
    if (!r) throw new MissingRange(offset, end - offset);
    return r.data.subarray(offset - r.offset, end - r.offset);
  }
}

// Prints the link target and the size on two lines, then the first 64 bytes (GNU dd: byte offsets).
const HEAD_SCRIPT = 'readlink "$1" && stat -L -c %s "$1" && dd if="$1" bs=64 count=1 status=none';
// Prints the byte ranges given as OFFSET LENGTH pairs, one after the other.
const RANGES_SCRIPT =
  'f=$1; shift; while [ $# -gt 1 ]; do dd if="$f" iflag=skip_bytes,count_bytes skip="$1" count="$2" bs=65536 status=none || exit 1; shift 2; done';

async function fetchRanges(
  runner: CommandRunner,
  file: string,
  asRoot: boolean,
  source: RangesSource,
  ranges: Array<{ offset: number; length: number }>,
): Promise<void> {
  const clamped = ranges.map((r) => ({ offset: r.offset, length: Math.max(0, Math.min(r.length, source.size - r.offset)) })).filter((r) => r.length > 0);
  if (!clamped.length) return;
  const data = await readBytes(runner, ['sh', '-c', RANGES_SCRIPT, 'sh', file, ...clamped.flatMap((r) => [String(r.offset), String(r.length)])], asRoot);
  let at = 0;
  for (const r of clamped) {
    source.add(r.offset, data.subarray(at, at + r.length));
    at += r.length;
  }
}

/** Runs `parse` on the source, fetching each range it misses (a bounded number of times). */
async function withRanges<T>(runner: CommandRunner, file: string, asRoot: boolean, source: RangesSource, parse: () => T): Promise<T> {
  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      return parse();
    } catch (err) {
      if (!(err instanceof MissingRange)) throw err;
      await fetchRanges(runner, file, asRoot, source, [{ offset: err.offset, length: err.length }]);
    }
  }
  throw new Error(`reading ${file} on ${runner.where} needs more reads than expected`);
}

/** What `file` on the target is, read as root when `asRoot`. Throws when it is unreadable, not ELF or not Go. */
export async function readTargetBinary(runner: CommandRunner, file: string, asRoot: boolean): Promise<TargetBinary> {
  const head = await readBytes(runner, ['sh', '-c', HEAD_SCRIPT, 'sh', file], asRoot);
  const first = head.indexOf(0x0a);
  const second = head.indexOf(0x0a, first + 1);
  const size = Number(head.subarray(first + 1, second).toString('latin1'));
  if (first < 0 || second < 0 || !Number.isSafeInteger(size)) throw new Error(`could not read ${file} on ${runner.where}`);
  const source = new RangesSource(size);
  source.add(0, head.subarray(second + 1));
  const elf = await withRanges(runner, file, asRoot, source, () => ElfFile.fromSource(source));
  const wanted = elf.sections
    .filter((s) => s.name in FACT_SECTIONS && s.type !== SHT_NOBITS)
    .map((s) => ({ offset: s.offset, length: Math.min(s.size, FACT_SECTIONS[s.name]) }));
  await fetchRanges(runner, file, asRoot, source, wanted);
  const facts = await withRanges(runner, file, asRoot, source, () => binaryFactsOf(elf, file));
  return { facts, path: head.subarray(0, first).toString('utf8') };
}
