// Index of a Go disassembly listing: `go tool objdump` (plain, -S, -gnu) and Delve's
// `disassemble`. It keeps, per function, the TEXT line's position and the address range,
// and nothing else: a 500 MB runsc dump is streamed through a fixed buffer, so memory grows
// with the number of functions, not the size of the file. Instructions are parsed on demand
// from the function's slice of the file.
//
// Hand-written because no npm package reads Go objdump output. Lines are scanned with
// Buffer.indexOf (native memchr), and only the first and last instruction of each function
// are parsed while indexing.

import { open } from 'node:fs/promises';
import { SymbolTable, type SymbolHit, type SymbolInfo } from './symbolTable';

export interface ObjdumpFunction extends SymbolInfo {
  /** Position in `functions`. */
  index: number;
  /** Source path printed after `(SB) ` on the TEXT line ('' when absent). */
  path: string;
  /** 0-based line number of the TEXT line. */
  line: number;
  /** 0-based line number of the last line of the block (before the next TEXT line). */
  endLine: number;
  /** Byte offset of the TEXT line. */
  offset: number;
  /** Byte offset just past the block. */
  endOffset: number;
  /** First instruction's address; -1 when the block has no instruction (size is then 0). */
  start: number;
}

export interface ObjdumpInstruction {
  address: number;
  /** Encoding length in bytes. */
  size: number;
  /** Encoding as printed (hex; 32-bit words separated by spaces on arm64). */
  encoding: string;
  /** Instruction text (relocations and the -gnu `// …` part included). */
  text: string;
  /** From the file:line column (absent in `objdump -S` listings). */
  file?: string;
  sourceLine?: number;
  /** `-S` listings: the Go source line printed above this instruction. */
  source?: string;
  /** Delve: `=>` marks the current PC, `*` a breakpoint. */
  atPC?: boolean;
  breakpoint?: boolean;
  /** 0-based line number in the listing, and byte offset of that line. */
  line: number;
  offset: number;
}

export interface ObjdumpWarning {
  code: 'wrong-toolchain' | 'long-line' | 'binary-data';
  /** 0-based line the warning is about. */
  line: number;
  message: string;
}

export interface ObjdumpHit extends SymbolHit<ObjdumpFunction> {
  /** The instruction holding the address, when it is in the listing. */
  instruction?: ObjdumpInstruction;
}

export interface ObjdumpFileOptions {
  /** Read buffer size in bytes (default 4 MiB); also the longest line that is looked at. */
  chunkSize?: number;
  signal?: AbortSignal;
}

/** Reads byte ranges of the indexed listing (the document in memory, or the file on disk). */
interface ListingSource {
  read(offset: number, length: number): Promise<Buffer>;
}

const NL = 0x0a;
const CR = 0x0d;
const TAB = 0x09;
const SPACE = 0x20;

// Instruction lines (docs/objdump-formats.md). `go tool objdump`: two
// spaces, `file:line` (absent with -S), address, encoding, text, trailing tabs. Delve:
// optional `=>`, tab, file:line, address with optional `*`, encoding, text.
const OBJDUMP_LINE = /^ {2}(?:([^\t]*):(-?\d+)\t+)?0x([0-9a-fA-F]+)\t+([0-9a-fA-F]+(?: [0-9a-fA-F]+)*)\t+(.*?)[\t\r]*$/;
const DELVE_LINE = /^(=>)?\t([^\t]*):(-?\d+)\t+0x([0-9a-fA-F]+)(\*)?\t+([0-9a-fA-F]*)\t+(.*?)\r?$/;
const MAX_NAME_BYTES = 64 * 1024;
const MAX_FIRST_TRIES = 256;
/** A block is read back whole for a lookup; real functions are far smaller. */
const MAX_BLOCK_BYTES = 32 * 1024 * 1024;

/** Parses one listing line; undefined when it is not an instruction line. */
export function parseInstructionLine(text: string, line = 0, offset = 0): ObjdumpInstruction | undefined {
  const c0 = text.charCodeAt(0);
  if (c0 === SPACE) {
    const m = OBJDUMP_LINE.exec(text);
    if (m === null) return undefined;
    const insn: ObjdumpInstruction = {
      address: parseInt(m[3], 16),
      size: hexByteCount(m[4]),
      encoding: m[4],
      text: m[5],
      line,
      offset,
    };
    if (m[2] !== undefined) {
      insn.file = m[1];
      insn.sourceLine = Number(m[2]);
    }
    return insn;
  }
  if (c0 === TAB || c0 === 0x3d /* = */) {
    const m = DELVE_LINE.exec(text);
    if (m === null) return undefined;
    const insn: ObjdumpInstruction = {
      address: parseInt(m[4], 16),
      size: hexByteCount(m[6]),
      encoding: m[6],
      text: m[7],
      file: m[2],
      sourceLine: Number(m[3]),
      line,
      offset,
    };
    if (m[1] !== undefined) insn.atPC = true;
    if (m[5] !== undefined) insn.breakpoint = true;
    return insn;
  }
  return undefined;
}

function hexByteCount(encoding: string): number {
  let digits = 0;
  for (let i = 0; i < encoding.length; i++) if (encoding.charCodeAt(i) !== SPACE) digits++;
  return digits >> 1;
}

/** Per-function facts gathered while scanning, before the block is closed. */
interface OpenFunction {
  fn: ObjdumpFunction;
  firstInsn: ObjdumpInstruction | undefined;
  lastInsn: ObjdumpInstruction | undefined;
  /** Lines tried as the first instruction (source lines of -S come first; garbage never ends). */
  firstTries: number;
}

/**
 * Consumes the listing chunk by chunk (each chunk holds whole lines only) and builds the
 * function list. Shared by the in-memory and the streaming entry points.
 */
class ListingScanner {
  readonly functions: ObjdumpFunction[] = [];
  readonly warnings: ObjdumpWarning[] = [];
  lineCount = 0;
  private open: OpenFunction | undefined;
  /** Last non-blank line of the open block inside the current chunk (not yet parsed). */
  private lastStart = -1;
  private lastEnd = -1;
  private lastLine = 0;
  private chunk: Buffer = Buffer.alloc(0);
  private chunkOffset = 0;
  private wrongToolchain: ObjdumpFunction[] = [];
  private sawBinary = false;
  private sawLongLine = false;

  /** Scans the lines of buf[start, end), which begins at byte `fileOffset` of the listing. */
  scan(buf: Buffer, start: number, end: number, fileOffset: number): void {
    this.chunk = buf;
    this.chunkOffset = fileOffset - start;
    if (!this.sawBinary) {
      const nul = buf.indexOf(0, start);
      if (nul >= 0 && nul < end) {
        this.sawBinary = true;
        this.warnings.push({
          code: 'binary-data',
          line: this.lineCount + countNewlines(buf, start, nul),
          message: 'This file contains binary data (NUL bytes): it is not a Go disassembly listing, or it is damaged.',
        });
      }
    }
    let line = this.lineCount;
    let s = start;
    while (s < end) {
      if (this.open !== undefined && this.open.firstInsn !== undefined) {
        // Inside a function whose start is known: jump to the next TEXT line natively,
        // counting lines on the way; the last line before it is parsed later (settleLast).
        const h = s > start ? buf.indexOf('\nTEXT ', s - 1) : buf[s] === 0x54 ? -2 : buf.indexOf('\nTEXT ', s);
        if (h !== -2) {
          const target = h < 0 || h + 1 >= end ? end : h + 1;
          if (target > s) {
            const lines = countNewlines(buf, s, target) + (buf[target - 1] === NL ? 0 : 1);
            let e = buf[target - 1] === NL ? target - 1 : target;
            if (e < s) e = s;
            this.lastStart = e > 0 ? buf.lastIndexOf(NL, e - 1) + 1 : 0;
            if (this.lastStart < s) this.lastStart = s;
            this.lastEnd = e;
            this.lastLine = line + lines - 1;
            line += lines;
            s = target;
            continue;
          }
        }
      }
      let e = buf.indexOf(NL, s);
      if (e < 0 || e > end) e = end;
      const b0 = buf[s];
      if (b0 === 0x54 /* T */ && buf[s + 1] === 0x45 && buf[s + 2] === 0x58 && buf[s + 3] === 0x54 && buf[s + 4] === SPACE) {
        this.header(buf, s, e, line);
      } else if (this.open !== undefined && e > s && !(e === s + 1 && b0 === CR)) {
        if (this.open.firstInsn === undefined && this.open.firstTries++ < MAX_FIRST_TRIES) {
          const insn = this.parseAt(s, e, line);
          if (insn !== undefined) {
            this.open.firstInsn = insn;
            this.open.lastInsn = insn;
          }
        }
        this.lastStart = s;
        this.lastEnd = e;
        this.lastLine = line;
      }
      line++;
      s = e + 1;
    }
    this.lineCount = line;
    // The buffer is about to be reused: resolve the open block's last line now.
    this.settleLast();
  }

  /** A line longer than the read buffer: counted, not looked at. */
  skipLongLine(line: number): void {
    if (this.sawLongLine) return;
    this.sawLongLine = true;
    this.warnings.push({
      code: 'long-line',
      line,
      message: `Line ${line + 1} is longer than the read buffer and was skipped (not a Go disassembly line).`,
    });
  }

  finish(endOffset: number): void {
    this.close(endOffset, this.lineCount - 1);
    const bad = this.wrongToolchain;
    if (bad.length > 0) {
      this.warnings.unshift({
        code: 'wrong-toolchain',
        line: bad[0].line,
        message:
          `${bad.length} of ${this.functions.length} functions have no source path and line 0 on every instruction: ` +
          'this listing was made by a Go toolchain older than the binary (for example Go 1.19 objdump on a Go ≥ 1.20 binary, ' +
          'whose pclntab it cannot read). Run `go tool objdump` of the Go version that built the binary.',
      });
    }
  }

  /** Source paths repeat for every function of a file: keep one copy. */
  private readonly paths = new Map<string, string>();
  private intern(path: string): string {
    const known = this.paths.get(path);
    if (known !== undefined) return known;
    if (this.paths.size < 1_000_000) this.paths.set(path, path);
    return path;
  }

  private parseAt(s: number, e: number, line: number): ObjdumpInstruction | undefined {
    const b0 = this.chunk[s];
    if (b0 !== SPACE && b0 !== TAB && b0 !== 0x3d) return undefined;
    return parseInstructionLine(this.chunk.toString('utf8', s, e), line, this.chunkOffset + s);
  }

  /** Parses the remembered last line of the open block (or the nearest instruction above it). */
  private settleLast(): void {
    const o = this.open;
    if (o === undefined || this.lastStart < 0) return;
    let s = this.lastStart;
    let e = this.lastEnd;
    let line = this.lastLine;
    const floor = Math.max(o.fn.offset - this.chunkOffset, 0);
    for (let tries = 0; tries < 64 && s >= floor; tries++) {
      const insn = this.parseAt(s, e, line);
      if (insn !== undefined) {
        if (o.lastInsn === undefined || insn.line >= o.lastInsn.line) o.lastInsn = insn;
        break;
      }
      // a source line (-S) or garbage: try the line above
      if (s === 0) break;
      e = s - 1;
      s = this.chunk.lastIndexOf(NL, e - 1) + 1;
      line--;
    }
    this.lastStart = -1;
  }

  private header(buf: Buffer, s: number, e: number, line: number): void {
    let lineEnd = e;
    if (lineEnd > s && buf[lineEnd - 1] === CR) lineEnd--;
    // The name may contain spaces and braces: the last `(SB) ` (or a final `(SB)`) ends it.
    let sb = s + buf.subarray(s, lineEnd).lastIndexOf('(SB) ');
    if (sb < s + 5) {
      if (lineEnd - s >= 9 && buf.toString('latin1', lineEnd - 4, lineEnd) === '(SB)') sb = lineEnd - 4;
      else return;
    }
    this.close(this.chunkOffset + s, line - 1);
    const name = buf.toString('utf8', s + 5, Math.min(sb, s + 5 + MAX_NAME_BYTES));
    const path = this.intern(sb + 5 <= lineEnd ? buf.toString('utf8', sb + 5, lineEnd) : '');
    const fn: ObjdumpFunction = {
      index: this.functions.length,
      name,
      path,
      line,
      endLine: line,
      offset: this.chunkOffset + s,
      endOffset: this.chunkOffset + e,
      start: -1,
      size: 0,
    };
    this.functions.push(fn);
    this.open = { fn, firstInsn: undefined, lastInsn: undefined, firstTries: 0 };
    this.lastStart = -1;
  }

  private close(endOffset: number, endLine: number): void {
    this.settleLast();
    const o = this.open;
    if (o === undefined) return;
    this.open = undefined;
    const fn = o.fn;
    fn.endOffset = endOffset;
    fn.endLine = Math.max(endLine, fn.line);
    if (o.firstInsn !== undefined && o.lastInsn !== undefined) {
      fn.start = o.firstInsn.address;
      fn.size = Math.max(o.lastInsn.address + o.lastInsn.size - fn.start, 1);
      const noLines = (i: ObjdumpInstruction): boolean => i.file === undefined || (i.file === '' && i.sourceLine === 0);
      if (fn.path === '' && noLines(o.firstInsn) && noLines(o.lastInsn)) this.wrongToolchain.push(fn);
    }
  }
}

function countNewlines(buf: Buffer, start: number, end: number): number {
  let n = 0;
  for (let p = buf.indexOf(NL, start); p >= 0 && p < end; p = buf.indexOf(NL, p + 1)) n++;
  return n;
}

export class ObjdumpIndex {
  /** Every TEXT block in listing order (also those without instructions). */
  readonly functions: readonly ObjdumpFunction[];
  readonly warnings: readonly ObjdumpWarning[];
  /** Functions that have instructions, by address. */
  readonly table: SymbolTable<ObjdumpFunction>;
  readonly byteLength: number;
  readonly lineCount: number;
  private readonly source: ListingSource;

  private constructor(scanner: ListingScanner, byteLength: number, source: ListingSource) {
    this.functions = scanner.functions;
    this.warnings = scanner.warnings;
    this.lineCount = scanner.lineCount;
    this.byteLength = byteLength;
    this.source = source;
    this.table = new SymbolTable(scanner.functions.filter((f) => f.start >= 0));
  }

  /** Indexes a listing held in memory (an open document). */
  static fromText(text: string): ObjdumpIndex {
    return ObjdumpIndex.fromBuffer(Buffer.from(text, 'utf8'));
  }

  static fromBuffer(buf: Buffer): ObjdumpIndex {
    const scanner = new ListingScanner();
    scanner.scan(buf, 0, buf.length, 0);
    scanner.finish(buf.length);
    return new ObjdumpIndex(scanner, buf.length, {
      read: (offset, length) => Promise.resolve(buf.subarray(offset, offset + length)),
    });
  }

  /**
   * Indexes a listing on disk of any size through one fixed buffer: memory is the buffer
   * plus the function list. Instructions are read back from the file on demand.
   */
  static async fromFile(path: string, options: ObjdumpFileOptions = {}): Promise<ObjdumpIndex> {
    const chunkSize = Math.max(options.chunkSize ?? 4 * 1024 * 1024, 256);
    const buf = Buffer.allocUnsafe(chunkSize);
    const scanner = new ListingScanner();
    const fh = await open(path, 'r');
    let fileOffset = 0; // file offset of buf[0]
    let filled = 0;
    let skipping = false; // inside a line longer than the buffer
    try {
      for (;;) {
        options.signal?.throwIfAborted();
        const { bytesRead } = await fh.read(buf, filled, chunkSize - filled, fileOffset + filled);
        filled += bytesRead;
        const eof = bytesRead === 0;
        let start = 0;
        if (skipping) {
          const nl = buf.indexOf(NL, 0);
          if (nl < 0 || nl >= filled) {
            fileOffset += filled;
            filled = 0;
            if (eof) {
              scanner.lineCount++;
              break;
            }
            continue;
          }
          skipping = false;
          scanner.lineCount++;
          start = nl + 1;
        }
        let end = eof ? filled : filled > 0 ? buf.lastIndexOf(NL, filled - 1) + 1 : 0;
        if (end < start) end = start;
        if (end === start && start === 0 && !eof && filled === chunkSize) {
          // No newline in a full buffer: a line too long to be a listing line.
          scanner.skipLongLine(scanner.lineCount);
          skipping = true;
          fileOffset += filled;
          filled = 0;
          continue;
        }
        scanner.scan(buf, start, end, fileOffset + start);
        buf.copy(buf, 0, end, filled);
        fileOffset += end;
        filled -= end;
        if (eof) break;
      }
    } finally {
      await fh.close();
    }
    scanner.finish(fileOffset + filled);
    return new ObjdumpIndex(scanner, fileOffset + filled, {
      read: async (offset, length) => {
        const h = await open(path, 'r');
        try {
          const out = Buffer.allocUnsafe(length);
          const { bytesRead } = await h.read(out, 0, length, offset);
          return out.subarray(0, bytesRead);
        } finally {
          await h.close();
        }
      },
    });
  }

  /** First TEXT block of that name. */
  functionByName(name: string): ObjdumpFunction | undefined {
    return this.table.byName(name) ?? this.functions.find((f) => f.name === name);
  }

  /** The TEXT block a 0-based line of the listing belongs to (for hovers inside a block). */
  functionAtLine(line: number): ObjdumpFunction | undefined {
    const fns = this.functions;
    let lo = 0;
    let hi = fns.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (fns[mid].line <= line) lo = mid + 1;
      else hi = mid;
    }
    const fn = fns[lo - 1];
    return fn !== undefined && line <= fn.endLine ? fn : undefined;
  }

  /** Function holding addr and the offset in it (no file access). */
  lookup(addr: number): SymbolHit<ObjdumpFunction> | undefined {
    return this.table.lookup(addr);
  }

  /** Function, offset and the instruction at addr (reads the function's slice of the listing). */
  async resolve(addr: number): Promise<ObjdumpHit | undefined> {
    const hit = this.lookup(addr);
    if (hit === undefined) return undefined;
    const insns = await this.instructions(hit.symbol);
    let found: ObjdumpInstruction | undefined;
    for (const i of insns) if (i.address <= addr && addr < i.address + Math.max(i.size, 1)) found = i;
    return found === undefined ? hit : { ...hit, instruction: found };
  }

  /** All instruction lines of a block, with `-S` source lines attached. */
  async instructions(fn: ObjdumpFunction): Promise<ObjdumpInstruction[]> {
    const bytes = await this.source.read(fn.offset, Math.min(fn.endOffset - fn.offset, MAX_BLOCK_BYTES));
    const out: ObjdumpInstruction[] = [];
    let line = fn.line;
    let source: string | undefined;
    for (let s = 0; s < bytes.length; line++) {
      let e = bytes.indexOf(NL, s);
      if (e < 0) e = bytes.length;
      if (line > fn.line && e > s) {
        const text = bytes.toString('utf8', s, e);
        const insn = parseInstructionLine(text, line, fn.offset + s);
        if (insn !== undefined) {
          if (source !== undefined) insn.source = source;
          out.push(insn);
        } else if (!/^\s*$/.test(text)) {
          source = text.replace(/\r$/, '');
        }
      }
      s = e + 1;
    }
    return out;
  }
}
