// A small ELF reader: header, section headers, sections by name, .symtab function symbols,
// build ids. Hand-written because the npm ELF readers we measured either parse no symbol
// table (elfy, elf-tools) or are a single unmaintained beta (elfinfo); this one is ~300
// lines, has no dependencies, reads ELF32/ELF64 in both byte orders, reads only the parts it
// is asked for (a 100 MB runsc is never loaded whole) and fails with typed errors.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { SymbolInfo } from './symbolTable';

export type ElfErrorCode = 'not-elf' | 'truncated' | 'unsupported' | 'missing-section';

export class ElfError extends Error {
  constructor(
    readonly code: ElfErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ElfError';
  }
}

export interface ElfHeader {
  elfClass: 32 | 64;
  endian: 'little' | 'big';
  /** e_type: 2 executable, 3 shared object / PIE, 1 relocatable, 4 core. */
  type: number;
  machine: number;
  machineName: string;
  entry: number;
  sectionHeaderOffset: number;
  sectionHeaderCount: number;
  sectionNameIndex: number;
}

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

export const SHT_SYMTAB = 2;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHF_ALLOC = 0x2;
/** The section holds an Elf_Chdr and compressed data (how Go 1.19 ships DWARF; older linkers wrote .zdebug_*). */
export const SHF_COMPRESSED = 0x800;
const STT_FUNC = 2;

const MACHINES: Record<number, string> = {
  3: '386',
  8: 'mips',
  20: 'ppc',
  21: 'ppc64',
  22: 's390x',
  40: 'arm',
  62: 'amd64',
  183: 'arm64',
  243: 'riscv64',
  258: 'loong64',
};

/** Random access to the bytes of a file or a buffer (or of the ranges of a remote file read so far). */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Buffer;
}

class BufferSource implements ByteSource {
  constructor(private readonly buf: Buffer) {}
  get size(): number {
    return this.buf.length;
  }
  read(offset: number, length: number): Buffer {
    return this.buf.subarray(offset, offset + length);
  }
}

/** Opens the file for each read, so an ElfFile needs no close(). */
class FileSource implements ByteSource {
  readonly size: number;
  constructor(private readonly path: string) {
    const fd = openSync(path, 'r');
    try {
      this.size = fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
  }
  read(offset: number, length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    const fd = openSync(this.path, 'r');
    try {
      let done = 0;
      while (done < length) {
        const n = readSync(fd, out, done, length - done, offset + done);
        if (n === 0) break;
        done += n;
      }
      return out.subarray(0, done);
    } finally {
      closeSync(fd);
    }
  }
}

/** Reads fixed-size fields of one byte order; 64-bit values must fit in a double exactly. */
class FieldReader {
  constructor(
    readonly buf: Buffer,
    private readonly little: boolean,
  ) {}
  u8(off: number): number {
    return this.buf[off];
  }
  u16(off: number): number {
    return this.little ? this.buf.readUInt16LE(off) : this.buf.readUInt16BE(off);
  }
  u32(off: number): number {
    return this.little ? this.buf.readUInt32LE(off) : this.buf.readUInt32BE(off);
  }
  u64(off: number): number {
    const lo = this.little ? this.buf.readUInt32LE(off) : this.buf.readUInt32BE(off + 4);
    const hi = this.little ? this.buf.readUInt32LE(off + 4) : this.buf.readUInt32BE(off);
    if (hi >= 0x200000) {
      throw new ElfError('unsupported', `value 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} at 0x${off.toString(16)} is above 2^53`);
    }
    return hi * 0x100000000 + lo;
  }
}

export class ElfFile {
  readonly header: ElfHeader;
  readonly sections: readonly ElfSection[];
  private readonly little: boolean;

  private constructor(private readonly source: ByteSource) {
    const ident = source.read(0, 64);
    if (ident.length < 4 || ident[0] !== 0x7f || ident[1] !== 0x45 || ident[2] !== 0x4c || ident[3] !== 0x46) {
      throw new ElfError('not-elf', 'not an ELF file');
    }
    if (ident.length < 6) throw new ElfError('truncated', 'truncated: ELF header extends past end of file');
    const elfClass = ident[4] === 1 ? 32 : ident[4] === 2 ? 64 : undefined;
    const endian = ident[5] === 1 ? 'little' : ident[5] === 2 ? 'big' : undefined;
    if (elfClass === undefined) throw new ElfError('unsupported', `unsupported ELF class ${ident[4]}`);
    if (endian === undefined) throw new ElfError('unsupported', `unsupported ELF data encoding ${ident[5]}`);
    const headerSize = elfClass === 64 ? 64 : 52;
    if (ident.length < headerSize) throw new ElfError('truncated', 'truncated: ELF header extends past end of file');
    this.little = endian === 'little';
    const f = new FieldReader(ident, this.little);
    const is64 = elfClass === 64;
    const machine = f.u16(18);
    this.header = {
      elfClass,
      endian,
      type: f.u16(16),
      machine,
      machineName: MACHINES[machine] ?? `machine ${machine}`,
      entry: is64 ? f.u64(24) : f.u32(24),
      sectionHeaderOffset: is64 ? f.u64(40) : f.u32(32),
      sectionHeaderCount: f.u16(is64 ? 60 : 48),
      sectionNameIndex: f.u16(is64 ? 62 : 50),
    };
    this.sections = this.readSections(f.u16(is64 ? 58 : 46));
  }

  /** Parses an ELF image held in memory. Throws ElfError. */
  static fromBuffer(buf: Buffer): ElfFile {
    return new ElfFile(new BufferSource(buf));
  }

  /** Parses an ELF image read through `source`; only the headers are read now. Throws ElfError or the source's own error. */
  static fromSource(source: ByteSource): ElfFile {
    return new ElfFile(source);
  }

  /** Opens an ELF file on disk; only the headers are read now, sections when asked for. */
  static open(path: string): ElfFile {
    return new ElfFile(new FileSource(path));
  }

  get fileSize(): number {
    return this.source.size;
  }

  private readSections(entrySize: number): ElfSection[] {
    const { sectionHeaderOffset: shoff, elfClass } = this.header;
    let count = this.header.sectionHeaderCount;
    if (shoff === 0) return [];
    const minEntry = elfClass === 64 ? 64 : 40;
    if (entrySize < minEntry) throw new ElfError('unsupported', `section header entry size ${entrySize} is too small`);
    // More than 0xff00 sections: the real count is in section 0's size field.
    if (count === 0) {
      const first = this.readChecked(shoff, entrySize, 'section header table');
      count = new FieldReader(first, this.little)[elfClass === 64 ? 'u64' : 'u32'](elfClass === 64 ? 32 : 20);
    }
    const table = this.readChecked(shoff, count * entrySize, 'section header table');
    const f = new FieldReader(table, this.little);
    const raw: (ElfSection & { nameOffset: number })[] = [];
    for (let i = 0; i < count; i++) {
      const o = i * entrySize;
      raw.push(
        elfClass === 64
          ? {
              index: i,
              name: '',
              nameOffset: f.u32(o),
              type: f.u32(o + 4),
              flags: f.u64(o + 8),
              addr: f.u64(o + 16),
              offset: f.u64(o + 24),
              size: f.u64(o + 32),
              link: f.u32(o + 40),
              entsize: f.u64(o + 56),
            }
          : {
              index: i,
              name: '',
              nameOffset: f.u32(o),
              type: f.u32(o + 4),
              flags: f.u32(o + 8),
              addr: f.u32(o + 12),
              offset: f.u32(o + 16),
              size: f.u32(o + 20),
              link: f.u32(o + 24),
              entsize: f.u32(o + 36),
            },
      );
    }
    const shstr = raw[this.header.sectionNameIndex];
    const names = shstr === undefined ? undefined : this.readChecked(shstr.offset, shstr.size, 'section .shstrtab');
    return raw.map(({ nameOffset, ...s }) => ({ ...s, name: names === undefined ? '' : cString(names, nameOffset) }));
  }

  private readChecked(offset: number, length: number, what: string): Buffer {
    if (offset + length > this.source.size) {
      throw new ElfError('truncated', `truncated: ${what} extends past end of file`);
    }
    return this.source.read(offset, length);
  }

  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** The bytes of a section (empty for SHT_NOBITS such as .bss). Throws ElfError. */
  sectionData(sectionOrName: ElfSection | string): Buffer {
    const s = typeof sectionOrName === 'string' ? this.section(sectionOrName) : sectionOrName;
    if (s === undefined) throw new ElfError('missing-section', `no section ${String(sectionOrName)}`);
    if (s.type === SHT_NOBITS) return Buffer.alloc(0);
    return this.readChecked(s.offset, s.size, `section ${s.name || `#${s.index}`}`);
  }

  /** Up to length bytes of a section from start (fewer at its end; none for SHT_NOBITS). */
  sectionBytes(s: ElfSection, start: number, length: number): Buffer {
    if (s.type === SHT_NOBITS || start >= s.size) return Buffer.alloc(0);
    return this.readChecked(s.offset + start, Math.min(length, s.size - start), `section ${s.name || `#${s.index}`}`);
  }

  /**
   * length bytes at virtual address addr, from the allocated section holding all of them;
   * undefined when none does (or it is .bss-like). For pointers in data, e.g. old Go build info.
   */
  readVirtual(addr: number, length: number): Buffer | undefined {
    const s = this.sections.find((x) => (x.flags & SHF_ALLOC) !== 0 && x.type !== SHT_NOBITS && addr >= x.addr && addr + length <= x.addr + x.size);
    if (s === undefined) return undefined;
    return this.sectionBytes(s, addr - s.addr, length);
  }

  textBytes(): Buffer {
    return this.sectionData('.text');
  }

  /**
   * Function symbols (STT_FUNC) of .symtab, or [] when the binary is stripped.
   * Go's linker marks every text symbol STT_FUNC, with its size.
   */
  functionSymbols(): SymbolInfo[] {
    const symtab = this.sections.find((s) => s.type === SHT_SYMTAB);
    if (symtab === undefined) return [];
    const strtab = this.sections[symtab.link];
    if (strtab === undefined) throw new ElfError('unsupported', `${symtab.name} links to missing string table #${symtab.link}`);
    const data = this.sectionData(symtab);
    const strings = this.sectionData(strtab);
    const is64 = this.header.elfClass === 64;
    const entsize = symtab.entsize || (is64 ? 24 : 16);
    const f = new FieldReader(data, this.little);
    const out: SymbolInfo[] = [];
    for (let o = entsize; o + entsize <= data.length; o += entsize) {
      const info = f.u8(is64 ? o + 4 : o + 12);
      if ((info & 0xf) !== STT_FUNC) continue;
      const shndx = f.u16(is64 ? o + 6 : o + 14);
      if (shndx === 0) continue; // undefined (imported) symbol
      let start: number;
      let size: number;
      try {
        start = is64 ? f.u64(o + 8) : f.u32(o + 4);
        size = is64 ? f.u64(o + 16) : f.u32(o + 8);
      } catch {
        continue;
      }
      out.push({ name: cString(strings, f.u32(o)), start, size });
    }
    return out;
  }

  /** GNU build id (`.note.gnu.build-id`) as lower-case hex. */
  buildId(): string | undefined {
    const note = this.notes().find((n) => n.name === 'GNU' && n.type === 3);
    return note?.desc.toString('hex');
  }

  /** Go build id (`.note.go.buildid`), the string `go tool buildid` prints. */
  goBuildId(): string | undefined {
    const note = this.notes().find((n) => n.name === 'Go' && n.type === 4);
    return note?.desc.toString('latin1');
  }

  /** All ELF notes of SHT_NOTE sections. */
  notes(): { section: string; name: string; type: number; desc: Buffer }[] {
    const out: { section: string; name: string; type: number; desc: Buffer }[] = [];
    for (const s of this.sections) {
      if (s.type !== SHT_NOTE) continue;
      const data = this.sectionData(s);
      const f = new FieldReader(data, this.little);
      let o = 0;
      while (o + 12 <= data.length) {
        const namesz = f.u32(o);
        const descsz = f.u32(o + 4);
        const type = f.u32(o + 8);
        const nameStart = o + 12;
        const descStart = nameStart + align4(namesz);
        if (descStart + descsz > data.length) break;
        const name = data
          .subarray(nameStart, nameStart + namesz)
          .toString('latin1')
          .replace(/\0+$/, '');
        out.push({ section: s.name, name, type, desc: data.subarray(descStart, descStart + descsz) });
        o = descStart + align4(descsz);
      }
    }
    return out;
  }
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function cString(buf: Buffer, offset: number): string {
  if (offset >= buf.length) return '';
  let end = buf.indexOf(0, offset);
  if (end < 0) end = buf.length;
  return buf.toString('utf8', offset, end);
}
