// The ELF headers of a file on the target (the sandbox's /proc/PID/exe) without copying the file:
// ElfFile reads through a source that holds only the byte ranges fetched so far. A read outside
// them names the range, which one `dd` on the target fetches before the parse starts again. The
// header, the section table and the section names take three round trips.
import { ElfFile, type ByteSource } from '../symbols/elfFile';
import type { CommandRunner } from './commandRunner';
import { readBytes } from './readBytes';

export interface TargetElf {
  elf: ElfFile;
  /** Where /proc/PID/exe points (the file's path on the target). */
  path: string;
}

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
const RANGE_SCRIPT = 'dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=65536 status=none';

/** Reads the ELF headers of `file` on the target, as root when `asRoot`. Throws when the file is not readable or not ELF. */
export async function readTargetElf(runner: CommandRunner, file: string, asRoot: boolean): Promise<TargetElf> {
  const head = await readBytes(runner, ['sh', '-c', HEAD_SCRIPT, 'sh', file], asRoot);
  const first = head.indexOf(0x0a);
  const second = head.indexOf(0x0a, first + 1);
  const size = Number(head.subarray(first + 1, second).toString('latin1'));
  if (first < 0 || second < 0 || !Number.isSafeInteger(size)) throw new Error(`could not read ${file} on ${runner.where}`);
  const source = new RangesSource(size);
  source.add(0, head.subarray(second + 1));
  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      return { elf: ElfFile.fromSource(source), path: head.subarray(0, first).toString('utf8') };
    } catch (err) {
      if (!(err instanceof MissingRange)) throw err;
      source.add(err.offset, await readBytes(runner, ['sh', '-c', RANGE_SCRIPT, 'sh', file, String(err.offset), String(err.length)], asRoot));
    }
  }
  throw new Error(`the ELF headers of ${file} on ${runner.where} need more reads than expected`);
}
