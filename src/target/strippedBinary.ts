// Before Delve starts: is the sandbox's binary stripped, and can this Delve debug it? gVisor's
// release binaries and Debian's runsc have no DWARF and no .symtab, only .gopclntab. Delve 1.21
// added basic support for stripped executables (its CHANGELOG, 1.21.0); an older one fails with
// "could not open debug info … -ldflags='-s -w'" and advises a rebuild, which a user of a distro
// package cannot do. So we ask first, and refuse with the ways out before anything starts.
import { ElfFile } from '../symbols/elfFile';
import type { CommandRunner } from '../transport/commandRunner';
import { readTargetElf, type TargetElf } from '../transport/targetElf';
import { checkDelve } from './delveLauncher';

export interface BinaryCheck {
  delveVersion: string;
  /** undefined when the binary's headers could not be read (then Delve decides). */
  binary: { path: string; stripped: boolean; hasSymtab: boolean; hasPclntab: boolean } | undefined;
}

/** `a` ≥ `b` for dotted versions (1.20.2 < 1.21.0). */
export function versionAtLeast(a: string, b: string): boolean {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

function factsOf(t: TargetElf): NonNullable<BinaryCheck['binary']> {
  const has = (name: string): boolean => t.elf.sections.some((s) => s.name === name);
  return {
    path: t.path,
    stripped: !has('.debug_info') && !has('.zdebug_info'),
    hasSymtab: has('.symtab'),
    hasPclntab: has('.gopclntab') || has('.data.rel.ro.gopclntab'),
  };
}

async function readBinary(runner: CommandRunner, pid: number, sudo: boolean): Promise<TargetElf> {
  const exe = `/proc/${pid}/exe`;
  if (runner.isLocal && !sudo) {
    const { readlink } = await import('node:fs/promises');
    return { elf: ElfFile.open(exe), path: await readlink(exe) };
  }
  return readTargetElf(runner, exe, sudo);
}

/** Delve's version and what the binary is, read together (a few commands on the target, no Delve started). */
export async function checkBinaryAndDelve(runner: CommandRunner, pid: number, dlvPath: string, sudo: boolean): Promise<BinaryCheck> {
  const [delveVersion, elf] = await Promise.all([checkDelve(runner, dlvPath, sudo), readBinary(runner, pid, sudo).catch(() => undefined)]);
  return { delveVersion, binary: elf && factsOf(elf) };
}
