// The one place the language server touches src/symbols: objdump listings (open documents or
// files on disk) and ELF binaries behind a single SymbolSource interface, so the rest of the
// server does not depend on the details of those readers.

import { openSync, readSync, closeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { loadBinarySymbols, type BinarySymbols } from '../symbols/binarySymbols';
import { ObjdumpIndex, parseInstructionLine, type ObjdumpFunction, type ObjdumpInstruction, type ObjdumpWarning } from '../symbols/objdumpIndex';
import { functionDocumentUri } from '../protocol/languageMessages';

export { parseInstructionLine, type ObjdumpInstruction };
import { goObjdumpFunction } from './goObjdump';

/** A place in a text document (0-based line). */
export interface TextLocation {
  uri: string;
  line: number;
  endLine?: number;
}

export interface FunctionEntry {
  name: string;
  start: number;
  size: number;
  /** The function's TEXT line (dumps) or its virtual document (binaries). */
  location: TextLocation;
  /** Source path of the entry, '' when unknown. */
  path: string;
}

export interface InstructionInfo {
  address: number;
  encoding: string;
  text: string;
  /** For dumps: where the instruction line is. */
  location?: TextLocation;
}

export interface ResolvedAddress {
  address: number;
  name: string;
  start: number;
  offset: number;
  /** Source file (full path when known, else the base name); '' when unknown. */
  file: string;
  /** Source line; 0 when unknown. */
  line: number;
  instruction?: InstructionInfo;
  /** `objdump -S` listings: the Go source line printed above the instruction. */
  sourceText?: string;
  /** Where the answer came from, for the hover footer. */
  sourceLabel: string;
}

export interface SymbolSource {
  readonly label: string;
  readonly functionCount: number;
  functionByName(name: string): FunctionEntry | undefined;
  /** Function whose range holds addr. */
  functionAt(addr: number): FunctionEntry | undefined;
  search(query: string, limit: number): FunctionEntry[];
  functions(): FunctionEntry[];
  resolve(addr: number): Promise<ResolvedAddress | undefined>;
}

export type SourceWarning = ObjdumpWarning;

/** A virtual document shows one function; real ones are far smaller. */
const MAX_BLOCK_TEXT = 16 * 1024 * 1024;

/** A Go disassembly listing: an open document (uri) or a file on disk (uri = file URL). */
export class DumpSource implements SymbolSource {
  private constructor(
    readonly index: ObjdumpIndex,
    readonly uri: string,
    readonly label: string,
    /** Set when the listing is a file on disk. */
    readonly filePath?: string,
  ) {}

  static fromText(text: string, uri: string, label: string): DumpSource {
    return new DumpSource(ObjdumpIndex.fromText(text), uri, label);
  }

  static async fromFile(path: string, signal?: AbortSignal): Promise<DumpSource> {
    const index = await ObjdumpIndex.fromFile(path, { signal });
    return new DumpSource(index, pathToFileURL(path).href, path, path);
  }

  /** The exact text of one TEXT block of a dump on disk (for the function's virtual document). */
  async blockText(name: string): Promise<string | undefined> {
    const fn = this.index.functionByName(name);
    if (fn === undefined || this.filePath === undefined) return undefined;
    const length = Math.min(fn.endOffset - fn.offset, MAX_BLOCK_TEXT);
    const fh = await open(this.filePath, 'r');
    try {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, fn.offset);
      return buf.toString('utf8', 0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  get functionCount(): number {
    return this.index.functions.length;
  }

  /** Functions that have at least one instruction (an address range). */
  get addressedFunctionCount(): number {
    return this.index.table.size;
  }

  get warnings(): readonly SourceWarning[] {
    return this.index.warnings;
  }

  /** TEXT blocks in listing order with their line ranges (document symbols, folding). */
  blocks(): readonly ObjdumpFunction[] {
    return this.index.functions;
  }

  functionByName(name: string): FunctionEntry | undefined {
    const fn = this.index.functionByName(name);
    return fn === undefined ? undefined : this.entry(fn);
  }

  functionAt(addr: number): FunctionEntry | undefined {
    const hit = this.index.lookup(addr);
    return hit === undefined ? undefined : this.entry(hit.symbol);
  }

  search(query: string, limit: number): FunctionEntry[] {
    return this.index.table.search(query, { limit }).map((f) => this.entry(f));
  }

  functions(): FunctionEntry[] {
    return this.index.functions.map((f) => this.entry(f));
  }

  async resolve(addr: number): Promise<ResolvedAddress | undefined> {
    const hit = await this.index.resolve(addr);
    if (hit === undefined) return undefined;
    const fn = hit.symbol;
    const insn = hit.instruction;
    const out: ResolvedAddress = {
      address: addr,
      name: fn.name,
      start: fn.start,
      offset: hit.offset,
      file: '',
      line: 0,
      sourceLabel: this.label,
    };
    if (insn !== undefined) {
      out.instruction = {
        address: insn.address,
        encoding: insn.encoding,
        text: insn.text,
        location: { uri: this.uri, line: insn.line },
      };
      if (insn.source !== undefined && insn.source.trim() !== '') out.sourceText = insn.source.trim();
      if (insn.file !== undefined && insn.file !== '') {
        out.file = fullPathOf(insn.file, fn.path);
        out.line = insn.sourceLine ?? 0;
      }
    }
    return out;
  }

  /** The instruction that starts exactly at addr (branch targets). */
  async instructionAt(addr: number): Promise<InstructionInfo | undefined> {
    const hit = this.index.lookup(addr);
    if (hit === undefined) return undefined;
    for (const i of await this.index.instructions(hit.symbol)) {
      if (i.address === addr) {
        return { address: i.address, encoding: i.encoding, text: i.text, location: { uri: this.uri, line: i.line } };
      }
    }
    return undefined;
  }

  private entry(fn: ObjdumpFunction): FunctionEntry {
    return {
      name: fn.name,
      start: fn.start,
      size: fn.size,
      path: fn.path,
      location: { uri: this.uri, line: fn.line, endLine: fn.endLine },
    };
  }
}

/** An ELF binary: .symtab / .gopclntab through src/symbols. */
export class BinarySource implements SymbolSource {
  readonly label: string;
  /** Instruction listings by function, from `go tool objdump -s` (a binary has no text to show). */
  private readonly listings = new Map<string, Promise<ObjdumpInstruction[] | undefined>>();

  private constructor(
    private readonly symbols: BinarySymbols,
    readonly path: string,
  ) {
    this.label = path;
  }

  /** Throws an Error with a readable message when the file is not a usable ELF binary. */
  static load(path: string): BinarySource {
    return new BinarySource(loadBinarySymbols(path), path);
  }

  get functionCount(): number {
    return this.symbols.table.size;
  }

  /** What is missing from the binary (e.g. no pclntab → no file:line), or undefined. */
  get problem(): string | undefined {
    return this.symbols.pclntabProblem;
  }

  functionByName(name: string): FunctionEntry | undefined {
    const s = this.symbols.table.byName(name);
    return s === undefined ? undefined : this.entry(s.name, s.start, s.size);
  }

  functionAt(addr: number): FunctionEntry | undefined {
    const hit = this.symbols.table.lookup(addr);
    return hit === undefined ? undefined : this.entry(hit.symbol.name, hit.symbol.start, hit.symbol.size);
  }

  search(query: string, limit: number): FunctionEntry[] {
    return this.symbols.table.search(query, { limit }).map((s) => this.entry(s.name, s.start, s.size));
  }

  functions(): FunctionEntry[] {
    return this.symbols.table.symbols().map((s) => this.entry(s.name, s.start, s.size));
  }

  resolve(addr: number): Promise<ResolvedAddress | undefined> {
    const pos = this.symbols.symbolize(addr);
    if (pos === undefined) return Promise.resolve(undefined);
    return Promise.resolve({
      address: addr,
      name: pos.symbol.name,
      start: pos.symbol.start,
      offset: pos.offset,
      file: pos.file,
      line: Math.max(pos.line, 0),
      sourceLabel: this.label,
    });
  }

  /**
   * The instruction that starts at addr, disassembled by `go tool objdump -s '^name$'` once per
   * function (undefined when Go is not installed or the address is not an instruction start).
   * Waits at most `waitMs`: a hover must not hang on a large binary; the next one finds it ready.
   */
  async instructionAt(addr: number, waitMs = 3_000, goPath?: string): Promise<InstructionInfo | undefined> {
    const fn = this.symbols.table.lookup(addr)?.symbol;
    if (fn === undefined) return undefined;
    let listing = this.listings.get(fn.name);
    if (listing === undefined) {
      listing = goObjdumpFunction(this.path, fn.name, { goPath, timeoutMs: 120_000 }).then(
        (text) => text.split('\n').flatMap((l, i) => parseInstructionLine(l, i) ?? []),
        () => undefined,
      );
      this.listings.set(fn.name, listing);
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), waitMs)));
    const insns = await Promise.race([listing, late]).finally(() => clearTimeout(timer));
    const i = insns?.find((x) => x.address === addr);
    return i === undefined ? undefined : { address: i.address, encoding: i.encoding, text: i.text };
  }

  private entry(name: string, start: number, size: number): FunctionEntry {
    return { name, start, size, path: '', location: { uri: functionDocumentUri({ file: this.path, name }), line: 0 } };
  }
}

/** `main.go` printed in the column, `/src/x/main.go` on the TEXT line → the full path. */
function fullPathOf(base: string, textPath: string): string {
  if (textPath === '') return base;
  const slash = textPath.lastIndexOf('/');
  return textPath.slice(slash + 1) === base ? textPath : base;
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

/** True when the file starts with the ELF magic (binaries in bluepill.symbolFiles). */
export function isElfFile(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(4);
    const n = readSync(fd, b, 0, 4, 0);
    return n === 4 && ELF_MAGIC.every((m, i) => b[i] === m);
  } finally {
    closeSync(fd);
  }
}
