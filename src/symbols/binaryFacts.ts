// What a binary is, before any debugging: architecture, which symbol sources it has (DWARF,
// .symtab, .gopclntab), Go version, main module and build ids. Reads headers and a few small
// sections only (the ~50 MB runsc is never loaded whole: no DWARF or pclntab is decompressed
// or parsed here).

import { ElfError, ElfFile, SHF_COMPRESSED, type ElfSection } from './elfFile';
import { GoBuildInfoError, parseGoBuildInfo } from './goBuildInfo';
import type { PclntabVersion } from './gopclntab';

export type BinaryFactsErrorCode = 'not-elf' | 'not-go' | 'unreadable';

export class BinaryFactsError extends Error {
  constructor(
    readonly code: BinaryFactsErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BinaryFactsError';
  }
}

export interface BinaryFacts {
  /** GOARCH-style name of the ELF machine: 'amd64', 'arm64', … */
  arch: string;
  /** No DWARF: Delve can attach but maps no file:line (the pclntab still can). */
  stripped: boolean;
  hasDwarf: boolean;
  /** DWARF in SHF_COMPRESSED sections or .zdebug_* ones. */
  dwarfCompressed: boolean;
  hasSymtab: boolean;
  hasPclntab: boolean;
  pclntabVersion: PclntabVersion | undefined;
  /** From .go.buildinfo, e.g. "go1.19.8"; undefined when the binary has no build info. */
  goVersion: string | undefined;
  /** Main module path ("mod" line); undefined for GOPATH-mode builds such as Debian's runsc. */
  mainModule: string | undefined;
  /** Import path of package main ("path" line), e.g. gvisor.dev/gvisor/runsc. */
  mainPackage: string | undefined;
  /** Build settings (-trimpath, CGO_ENABLED, GOARCH…; Go ≥ 1.18). */
  buildSettings: Record<string, string>;
  /** Go build id (`go tool buildid`). */
  buildId: string | undefined;
  /** GNU build id, hex (Go writes one only when asked to: -ldflags=-B). */
  gnuBuildId: string | undefined;
  /** Why the build info could not be read, when the binary has a .go.buildinfo section. */
  buildInfoProblem: string | undefined;
}

const PCLNTAB_MAGICS: Record<number, PclntabVersion> = {
  0xfffffffb: '1.2',
  0xfffffffa: '1.16',
  0xfffffff0: '1.18',
  0xfffffff1: '1.20',
};

/** Facts about the ELF file at path. Throws BinaryFactsError (not ELF, not Go, unreadable). */
export function readBinaryFacts(path: string): BinaryFacts {
  let elf: ElfFile;
  try {
    elf = ElfFile.open(path);
  } catch (e) {
    if (e instanceof ElfError) throw new BinaryFactsError(e.code === 'not-elf' ? 'not-elf' : 'unreadable', `${path}: ${e.message}`);
    if (e instanceof Error && 'code' in e) throw new BinaryFactsError('unreadable', `${path}: ${e.message}`);
    throw e;
  }
  try {
    return binaryFactsOf(elf, path);
  } catch (e) {
    if (e instanceof ElfError) throw new BinaryFactsError('unreadable', `${path}: ${e.message}`);
    throw e;
  }
}

export function binaryFactsOf(elf: ElfFile, label = 'binary'): BinaryFacts {
  const debugInfo = elf.section('.debug_info') ?? elf.section('.zdebug_info');
  const hasDwarf = debugInfo !== undefined && debugInfo.size > 0;
  const pclntab = elf.section('.gopclntab') ?? elf.section('.data.rel.ro.gopclntab');
  const pclntabVersion = pclntab === undefined ? undefined : pclntabMagic(elf, pclntab);
  const buildInfoSection = elf.section('.go.buildinfo');
  const buildId = elf.goBuildId();
  if (pclntabVersion === undefined && buildInfoSection === undefined && buildId === undefined) {
    throw new BinaryFactsError('not-go', `${label}: not a Go binary (no .gopclntab, .go.buildinfo or Go build id)`);
  }
  let info: ReturnType<typeof parseGoBuildInfo> | undefined;
  let buildInfoProblem: string | undefined;
  if (buildInfoSection !== undefined) {
    try {
      // Go ≥ 1.18 keeps both strings inline: version + modinfo rarely pass a few KiB
      const head = elf.sectionBytes(buildInfoSection, 0, Math.min(buildInfoSection.size, 64 * 1024));
      info = parseGoBuildInfo(head, (addr, length) => elf.readVirtual(addr, length));
    } catch (e) {
      if (!(e instanceof GoBuildInfoError) && !(e instanceof ElfError)) throw e;
      buildInfoProblem = e.message;
    }
  }
  return {
    arch: elf.header.machineName,
    stripped: !hasDwarf,
    hasDwarf,
    dwarfCompressed: debugInfo !== undefined && (debugInfo.name.startsWith('.zdebug') || (debugInfo.flags & SHF_COMPRESSED) !== 0),
    hasSymtab: elf.section('.symtab') !== undefined,
    hasPclntab: pclntabVersion !== undefined,
    pclntabVersion,
    goVersion: info?.goVersion,
    mainModule: info?.mainModule,
    mainPackage: info?.mainPackage,
    buildSettings: info?.settings ?? {},
    buildId,
    gnuBuildId: elf.buildId(),
    buildInfoProblem,
  };
}

/** The pclntab version from its first 8 bytes, undefined when they are no pclntab header. */
function pclntabMagic(elf: ElfFile, s: ElfSection): PclntabVersion | undefined {
  const head = elf.sectionBytes(s, 0, 8);
  if (head.length < 8 || head[4] !== 0 || head[5] !== 0) return undefined;
  return PCLNTAB_MAGICS[head.readUInt32LE(0)] ?? PCLNTAB_MAGICS[head.readUInt32BE(0)];
}
