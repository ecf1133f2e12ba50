// Symbols of an ELF binary: functions from .symtab when the binary has one (exact sizes,
// every assembly symbol), else from .gopclntab (stripped Go binaries); file:line always from
// .gopclntab when the binary is a Go program.

import { ElfError, ElfFile } from './elfFile';
import { GoPclntab, PclntabError } from './gopclntab';
import { SymbolTable, type SymbolHit } from './symbolTable';

export interface BinaryPosition extends SymbolHit {
  /** Source file and line from the pclntab ('' / -1 when unknown or not a Go binary). */
  file: string;
  line: number;
}

export interface BinarySymbols {
  elf: ElfFile;
  table: SymbolTable;
  /** Where the function list came from. */
  source: 'symtab' | 'gopclntab';
  pclntab: GoPclntab | undefined;
  /** Why the pclntab could not be read, when it could not (not a Go binary, damaged…). */
  pclntabProblem: string | undefined;
  goBuildId: string | undefined;
  buildId: string | undefined;
  symbolize(addr: number): BinaryPosition | undefined;
}

/** Loads the symbols of the ELF binary at path. Throws ElfError (not ELF, truncated…). */
export function loadBinarySymbols(path: string): BinarySymbols {
  return fromElf(ElfFile.open(path));
}

export function binarySymbolsFromBuffer(buf: Buffer): BinarySymbols {
  return fromElf(ElfFile.fromBuffer(buf));
}

function fromElf(elf: ElfFile): BinarySymbols {
  let pclntab: GoPclntab | undefined;
  let pclntabProblem: string | undefined;
  const section = elf.section('.gopclntab') ?? elf.section('.data.rel.ro.gopclntab');
  if (section === undefined) {
    pclntabProblem = 'no .gopclntab section (not a Go binary?)';
  } else {
    try {
      pclntab = GoPclntab.parse(elf.sectionData(section), { textStart: elf.section('.text')?.addr });
    } catch (e) {
      if (!(e instanceof PclntabError) && !(e instanceof ElfError)) throw e;
      pclntabProblem = e.message;
    }
  }
  const fromSymtab = elf.functionSymbols();
  const source = fromSymtab.length > 0 || pclntab === undefined ? 'symtab' : 'gopclntab';
  const table = new SymbolTable(source === 'symtab' ? fromSymtab : (pclntab?.symbols() ?? []));
  return {
    elf,
    table,
    source,
    pclntab,
    pclntabProblem,
    goBuildId: elf.goBuildId(),
    buildId: elf.buildId(),
    symbolize(addr: number): BinaryPosition | undefined {
      const hit = table.lookup(addr);
      const pos = pclntab?.symbolize(addr);
      if (hit === undefined && pos === undefined) return undefined;
      const symbol = hit?.symbol ?? { name: pos?.function ?? '?', start: pos?.entry ?? addr, size: 0 };
      return { symbol, offset: addr - symbol.start, file: pos?.file ?? '', line: pos?.line ?? -1 };
    },
  };
}
