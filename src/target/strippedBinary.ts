// Before Delve starts: is the sandbox's binary stripped, and can this Delve debug it? gVisor's
// release binaries and Debian's runsc have no DWARF and no .symtab, only .gopclntab. Delve 1.21
// added basic support for stripped executables (its CHANGELOG, 1.21.0); an older one fails with
// "could not open debug info … -ldflags='-s -w'" and advises a rebuild, which a user of a distro
// package cannot do. So we ask first, and refuse with the ways out before anything starts.
import { readlink } from 'node:fs/promises';
import { readBinaryFacts, type BinaryFacts } from '../symbols/binaryFacts';
import type { CommandRunner } from '../transport/commandRunner';
import { readTargetBinary, type TargetBinary } from '../transport/targetBinary';
import { checkDelve } from './delveLauncher';

export interface BinaryCheck {
  delveVersion: string;
  /** undefined when the binary's headers could not be read (then Delve decides). */
  binary: (BinaryFacts & { path: string }) | undefined;
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

async function readBinary(runner: CommandRunner, pid: number, sudo: boolean): Promise<TargetBinary> {
  const exe = `/proc/${pid}/exe`;
  if (runner.isLocal && !sudo) return { facts: readBinaryFacts(exe), path: await readlink(exe) };
  return readTargetBinary(runner, exe, sudo);
}

/** Delve's version and what the binary is, read together (a few commands on the target, no Delve started). */
export async function checkBinaryAndDelve(runner: CommandRunner, pid: number, dlvPath: string, sudo: boolean): Promise<BinaryCheck> {
  const [delveVersion, binary] = await Promise.all([checkDelve(runner, dlvPath, sudo), readBinary(runner, pid, sudo).catch(() => undefined)]);
  return { delveVersion, binary: binary && { ...binary.facts, path: binary.path } };
}
