// Code bytes of the bluepill simulator's functions, read from an ELF built for one GOARCH: the
// arm64 profile is unit-tested on these bytes (test/fixtures/transcripts/sim-code-<arch>.json).
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElfFile } from '../../../src/symbols/elfFile';

export interface SimFunctionCode {
  name: string;
  entry: number;
  /** hex of the function's bytes. */
  bytes: string;
}

export interface SimCode {
  goarch: 'amd64' | 'arm64';
  goVersion: string;
  functions: SimFunctionCode[];
}

/** Functions the bluepill engine reasons about; names matched by suffix. */
export const SIM_FUNCTIONS = [
  'kvm.bluepill.abi0',
  'kvm.sighandler.abi0',
  'kvm.guestExitSyscall.abi0',
  'ring0.kernelExitToEl0.abi0',
  'runtime.sigreturn.abi0',
  'runtime.sigreturn__sigaction.abi0',
  'kvm.bluepillHandler',
];

export const SIM_DIR = join(__dirname, '../../fixtures/bluepill-sim');

export function buildSimFor(goarch: 'amd64' | 'arm64', goBinary = 'go'): string {
  const out = join(mkdtempSync(join(tmpdir(), 'bluepill-simcode-')), `sim-${goarch}`);
  execFileSync(goBinary, ['build', '-o', out, '.'], { cwd: SIM_DIR, env: { ...process.env, GOARCH: goarch, GOOS: 'linux', CGO_ENABLED: '0' }, stdio: 'pipe' });
  return out;
}

export function readSimCode(path: string, goarch: 'amd64' | 'arm64', goVersion: string): SimCode {
  const elf = ElfFile.open(path);
  const text = elf.section('.text');
  if (!text) throw new Error('no .text');
  const data = elf.sectionData(text);
  const functions: SimFunctionCode[] = [];
  for (const want of SIM_FUNCTIONS) {
    const sym = elf.functionSymbols().find((s) => s.name.endsWith('/' + want) || s.name === want);
    if (!sym) continue;
    const off = sym.start - text.addr;
    functions.push({ name: sym.name, entry: sym.start, bytes: data.subarray(off, off + sym.size).toString('hex') });
  }
  return { goarch, goVersion, functions };
}
