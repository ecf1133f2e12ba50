// Reader of Go's .gopclntab (the runtime's own pc → function/file/line table). It survives
// `-ldflags=-s -w`, so it symbolizes stripped binaries such as a distribution's runsc.
// Hand-written: no npm package parses pclntab. Written from the format as Go's
// src/debug/gosym/pclntab.go and src/runtime/symtab.go describe it (no code copied).
//
// Layouts (magic → Go versions):
//   0xfffffffb Go 1.2–1.15   functab of (entry uintptr, funcoff uintptr) in the table itself;
//                             file numbers index a file table of string offsets.
//   0xfffffffa Go 1.16–1.17  header of uintptr words: nfunc, nfiles, then offsets of
//                             funcnametab, cutab, filetab, pctab, functab; functab entries are
//                             uintptr pairs; _func starts with the entry PC (uintptr).
//   0xfffffff0 Go 1.18–1.19  header adds textStart; functab entries and _func.entry become
//                             uint32 offsets from textStart.
//   0xfffffff1 Go 1.20–1.24+ as 1.18, and _func gains startLine after cuOffset.
// Limits: one text section (Go splits .text only past 128 MB on arm64/ppc64); no inline
// frames (like `go tool addr2line`, the function is the physical one and file:line the
// innermost inlined position).

import { AddressIndex } from './addressIndex';
import type { SymbolInfo } from './symbolTable';

export type PclntabVersion = '1.2' | '1.16' | '1.18' | '1.20';

export class PclntabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PclntabError';
  }
}

export interface GoFunction {
  name: string;
  entry: number;
  /** Entry of the next function (functab order), i.e. the end of this one including padding. */
  end: number;
  /** Line of the `func` keyword (Go ≥ 1.20 tables only). */
  startLine?: number;
}

export interface GoSourcePosition {
  function: string;
  entry: number;
  /** '' when the table has no file for this pc (addr2line prints an empty name too). */
  file: string;
  /** -1 when the table has no line for this pc. */
  line: number;
  startLine?: number;
}

/** A pc range [start, end) of one function whose instructions all belong to file:line. */
export interface GoLineRange {
  start: number;
  end: number;
  /** '' when the table has no file there. */
  file: string;
  /** -1 when the table has no line there. */
  line: number;
}

const MAGICS: Record<number, PclntabVersion> = {
  0xfffffffb: '1.2',
  0xfffffffa: '1.16',
  0xfffffff0: '1.18',
  0xfffffff1: '1.20',
};

export class GoPclntab {
  readonly version: PclntabVersion;
  readonly littleEndian: boolean;
  readonly quantum: number;
  readonly ptrSize: number;
  readonly functionCount: number;
  /** Base of entry offsets (Go ≥ 1.18): the .text address if given, else the header's. */
  readonly textStart: number;

  private readonly data: Buffer;
  /** Entry PCs of the functab, functionCount + 1 values (the last one is the end of text). */
  private readonly entries: Float64Array;
  /** Offset of each function's _func from funcdataBase. */
  private readonly funcOffsets: Float64Array;
  private readonly funcdataBase: number;
  private readonly funcnameBase: number;
  private readonly cutabBase: number;
  private readonly filetabBase: number;
  private readonly pctabBase: number;
  private readonly nfiles: number;
  private readonly names: (string | undefined)[];
  private readonly index: AddressIndex;

  private constructor(data: Buffer, textStart: number | undefined) {
    if (data.length < 16) throw new PclntabError('truncated pclntab: shorter than its header');
    const le = data.readUInt32LE(0);
    const be = data.readUInt32BE(0);
    const version = MAGICS[le] ?? MAGICS[be];
    if (version === undefined || data[4] !== 0 || data[5] !== 0) {
      throw new PclntabError(`not a Go pclntab (magic 0x${le.toString(16)})`);
    }
    this.version = version;
    this.littleEndian = MAGICS[le] !== undefined;
    this.quantum = data[6];
    this.ptrSize = data[7];
    if (![1, 2, 4].includes(this.quantum) || ![4, 8].includes(this.ptrSize)) {
      throw new PclntabError(`not a Go pclntab (pc quantum ${this.quantum}, pointer size ${this.ptrSize})`);
    }
    this.data = data;
    const word = (i: number): number => this.uintptr(8 + i * this.ptrSize);
    let functabOffset: number;
    let fieldSize: number;
    switch (version) {
      case '1.18':
      case '1.20':
        this.functionCount = word(0);
        this.nfiles = word(1);
        this.textStart = textStart ?? word(2);
        this.funcnameBase = word(3);
        this.cutabBase = word(4);
        this.filetabBase = word(5);
        this.pctabBase = word(6);
        functabOffset = word(7);
        this.funcdataBase = functabOffset;
        fieldSize = 4;
        break;
      case '1.16':
        this.functionCount = word(0);
        this.nfiles = word(1);
        this.textStart = textStart ?? 0;
        this.funcnameBase = word(2);
        this.cutabBase = word(3);
        this.filetabBase = word(4);
        this.pctabBase = word(5);
        functabOffset = word(6);
        this.funcdataBase = functabOffset;
        fieldSize = this.ptrSize;
        break;
      case '1.2': {
        this.functionCount = word(0);
        this.textStart = textStart ?? 0;
        this.funcnameBase = 0;
        this.cutabBase = 0;
        this.pctabBase = 0;
        this.funcdataBase = 0;
        functabOffset = 8 + this.ptrSize;
        fieldSize = this.ptrSize;
        const filetabOff = functabOffset + (this.functionCount * 2 + 1) * fieldSize;
        this.check(filetabOff + 4, 'file table offset');
        this.filetabBase = this.u32(filetabOff);
        this.check(this.filetabBase + 4, 'file table');
        this.nfiles = this.u32(this.filetabBase);
        break;
      }
    }
    const n = this.functionCount;
    this.check(functabOffset + (n * 2 + 1) * fieldSize, 'functab');
    this.entries = new Float64Array(n + 1);
    this.funcOffsets = new Float64Array(n);
    const base = version === '1.18' || version === '1.20' ? this.textStart : 0;
    for (let i = 0; i <= n; i++) {
      const at = functabOffset + 2 * i * fieldSize;
      this.entries[i] = base + (fieldSize === 4 ? this.u32(at) : this.uintptr(at));
      if (i < n) this.funcOffsets[i] = fieldSize === 4 ? this.u32(at + fieldSize) : this.uintptr(at + fieldSize);
    }
    // Every _func's fixed part (entry and the 8 fields read here) must be inside the table.
    const fixed = (version === '1.18' || version === '1.20' ? 4 : this.ptrSize) + 9 * 4;
    for (let i = 0; i < n; i++) this.check(this.funcdataBase + this.funcOffsets[i] + fixed, `_func of function ${i}`);
    this.index = new AddressIndex(this.entries.subarray(0, n));
    this.names = new Array<string | undefined>(n);
    this.decoded = new Array<Int32Array | undefined>(n);
  }

  /**
   * Parses a pclntab. textStart: address of .text (Go ≥ 1.18 tables store entries relative
   * to it; the header copy may be unrelocated in PIE binaries, so pass the section's).
   */
  static parse(data: Buffer, options: { textStart?: number } = {}): GoPclntab {
    try {
      return new GoPclntab(data, options.textStart);
    } catch (e) {
      if (e instanceof RangeError) throw new PclntabError(`truncated pclntab: ${e.message}`);
      throw e;
    }
  }

  private check(end: number, what: string): void {
    if (end > this.data.length) throw new PclntabError(`truncated pclntab: ${what} extends past end of table`);
  }

  private u32(off: number): number {
    return this.littleEndian ? this.data.readUInt32LE(off) : this.data.readUInt32BE(off);
  }

  private uintptr(off: number): number {
    if (this.ptrSize === 4) return this.u32(off);
    const lo = this.littleEndian ? this.data.readUInt32LE(off) : this.data.readUInt32BE(off + 4);
    const hi = this.littleEndian ? this.data.readUInt32LE(off + 4) : this.data.readUInt32BE(off);
    return hi * 0x100000000 + lo;
  }

  private cString(off: number): string {
    const end = this.data.indexOf(0, off);
    return this.data.toString('utf8', off, end < 0 ? this.data.length : end);
  }

  /** The n-th 32-bit field of function i's _func (field 0 is the entry). */
  private funcField(i: number, n: number): number {
    const entrySize = this.version === '1.18' || this.version === '1.20' ? 4 : this.ptrSize;
    return this.u32(this.funcdataBase + this.funcOffsets[i] + entrySize + (n - 1) * 4);
  }

  entry(i: number): number {
    return this.entries[i];
  }

  end(i: number): number {
    return this.entries[i + 1];
  }

  name(i: number): string {
    let s = this.names[i];
    if (s === undefined) {
      s = this.cString(this.funcnameBase + this.funcField(i, 1));
      this.names[i] = s;
    }
    return s;
  }

  startLine(i: number): number | undefined {
    if (this.version !== '1.20') return undefined;
    return this.funcField(i, 9) | 0;
  }

  /** Index of the function holding pc, or -1. */
  findFunction(pc: number): number {
    const e = this.entries;
    const n = this.functionCount;
    if (n === 0 || pc < e[0] || pc >= e[n]) return -1;
    return this.index.indexAt(pc);
  }

  functions(): GoFunction[] {
    const out: GoFunction[] = [];
    for (let i = 0; i < this.functionCount; i++) {
      const f: GoFunction = { name: this.name(i), entry: this.entry(i), end: this.end(i) };
      const sl = this.startLine(i);
      if (sl !== undefined) f.startLine = sl;
      out.push(f);
    }
    return out;
  }

  /** Functions as symbols; size runs to the next function's entry (padding included). */
  symbols(): SymbolInfo[] {
    const out: SymbolInfo[] = [];
    for (let i = 0; i < this.functionCount; i++) {
      out.push({ name: this.name(i), start: this.entry(i), size: this.end(i) - this.entry(i) });
    }
    return out;
  }

  /** Every source file name the table lists. */
  files(): string[] {
    const out: string[] = [];
    if (this.version === '1.2') {
      for (let i = 1; i < this.nfiles; i++) out.push(this.cString(this.u32(this.filetabBase + 4 * i)));
      return out;
    }
    let pos = this.filetabBase;
    for (let i = 0; i < this.nfiles && pos < this.data.length; i++) {
      const s = this.cString(pos);
      out.push(s);
      pos += Buffer.byteLength(s) + 1;
    }
    return out;
  }

  /** Function, file and line of pc, as `go tool addr2line` prints them; undefined outside text. */
  symbolize(pc: number): GoSourcePosition | undefined {
    const i = this.findFunction(pc);
    if (i < 0) return undefined;
    const entry = this.entry(i);
    const t = this.tablesOf(i);
    const r = rowAt(t, pc - entry);
    const fileId = r < 0 ? -1 : t[2 + 3 * r + 2];
    const pos: GoSourcePosition = {
      function: this.name(i),
      entry,
      file: fileId >= 0 ? this.fileList[fileId] : '',
      line: r < 0 ? -1 : t[2 + 3 * r + 1],
    };
    if (t[1] !== NO_START_LINE) pos.startLine = t[1];
    return pos;
  }

  /**
   * Function i's code split into pc ranges of one file:line each, in pc order: its pc-file and
   * pc-line tables walked together (file:line is the innermost inlined position, as in
   * symbolize). Neighbouring ranges may carry the same file:line (a row ends in either table).
   */
  lineRanges(i: number): GoLineRange[] {
    const entry = this.entry(i);
    const t = this.tablesOf(i);
    const out: GoLineRange[] = [];
    let start = 0;
    for (let r = 0; r < t[0]; r++) {
      const end = t[2 + 3 * r];
      const fileId = t[2 + 3 * r + 2];
      if (end > start) {
        out.push({ start: entry + start, end: entry + end, file: fileId >= 0 ? this.fileList[fileId] : '', line: t[2 + 3 * r + 1] });
      }
      start = end;
    }
    return out;
  }

  /**
   * Names of the files function i's pc-file table mentions: its own and those of the calls
   * inlined into it. Decodes only that table and keeps nothing, so indexing every function
   * of a binary does not fill the decoded-table cache. [] for a function without a pc-file
   * table (offset 0, as the runtime reads it: marker symbols such as go:textfipsstart).
   */
  filesOf(i: number): string[] {
    const rows: number[] = [];
    const ids = new Set<number>();
    try {
      const pcfile = this.funcField(i, 5);
      if (pcfile === 0) return [];
      this.decode(pcfile, this.entry(i), rows);
      for (let k = 1; k < rows.length; k += 2) ids.add(this.fileId(i, rows[k]));
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
    ids.delete(-1);
    return [...ids].map((id) => this.fileList[id]);
  }

  /**
   * The pc-line and pc-file tables of function i merged into one Int32Array (one allocation,
   * one search): [rows, startLine, (end - entry, line, file index)…]; each row holds for
   * offsets below its end and at or above the previous row's. Kept for the functions asked
   * about. A damaged table decodes to what could be read.
   */
  private tablesOf(i: number): Int32Array {
    let t = this.decoded[i];
    if (t === undefined) {
      const entry = this.entry(i);
      const lines: number[] = [];
      const files: number[] = [];
      let startLine = NO_START_LINE;
      try {
        startLine = this.startLine(i) ?? NO_START_LINE;
        this.decode(this.funcField(i, 6), entry, lines);
        this.decode(this.funcField(i, 5), entry, files);
        // file numbers → indexes into fileList, so a lookup does no string work
        for (let k = 1; k < files.length; k += 2) files[k] = this.fileId(i, files[k]);
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
      }
      t = mergeTables(lines, files, startLine);
      if (this.decodedRows > MAX_DECODED_ROWS) {
        this.decoded.fill(undefined);
        this.decodedRows = 0;
      }
      this.decodedRows += t.length;
      this.decoded[i] = t;
    }
    return t;
  }

  private decoded: (Int32Array | undefined)[] = [];
  private decodedRows = 0;
  /** File names met so far, and the index of each by its offset in the table. */
  private readonly fileList: string[] = [];
  private readonly fileIds = new Map<number, number>();

  /** Index in fileList of function i's file number fno, or -1 for no file. */
  private fileId(i: number, fno: number): number {
    let off: number;
    try {
      if (this.version === '1.2') {
        if (fno <= 0 || fno >= this.nfiles) return -1;
        off = this.u32(this.filetabBase + 4 * fno);
      } else {
        if (fno < 0) return -1;
        const cu = this.funcField(i, 8);
        // uint32 arithmetic as in debug/gosym: cuOffset 0xffffffff (linker-made code) wraps
        const rel = this.u32(this.cutabBase + (((cu + fno) * 4) >>> 0));
        if (rel === 0xffffffff) return -1;
        off = this.filetabBase + rel;
      }
    } catch (e) {
      if (e instanceof RangeError) return -1;
      throw e;
    }
    let id = this.fileIds.get(off);
    if (id === undefined) {
      id = this.fileList.length;
      this.fileList.push(this.cString(off));
      this.fileIds.set(off, id);
    }
    return id;
  }

  /**
   * Decodes a pc-value table: pairs of (zig-zag value delta, pc delta / quantum) as varints,
   * starting at the function entry with value -1; a zero value delta after the first pair
   * ends it. Arithmetic is uint32/int32 as in debug/gosym, and offset 0 is read like any
   * other (the runtime treats it as "no table"), so answers equal `go tool addr2line`'s even
   * for marker symbols such as go:textfipsstart.
   */
  private decode(tableOffset: number, entry: number, out: number[]): number {
    const d = this.data;
    let p = this.pctabBase + tableOffset;
    let pc = entry;
    let val = -1;
    let rows = 0;
    for (; rows < MAX_TABLE_ROWS; rows++) {
      const first = pc === entry;
      let uv = 0;
      let shift = 0;
      let b: number;
      do {
        b = d[p++];
        if (b === undefined) return rows;
        if (shift < 32) uv |= (b & 0x7f) << shift;
        shift += 7;
      } while (b & 0x80);
      uv >>>= 0;
      if (uv === 0 && !first) break;
      val = (val + (uv & 1 ? ~(uv >>> 1) : uv >>> 1)) | 0;
      let pd = 0;
      shift = 0;
      do {
        b = d[p++];
        if (b === undefined) return rows;
        if (shift < 32) pd |= (b & 0x7f) << shift;
        shift += 7;
      } while (b & 0x80);
      pc += Math.imul(pd, this.quantum) >>> 0;
      out.push(pc - entry, val);
    }
    return rows;
  }
}

const NO_START_LINE = -0x80000000;

/** Decoded int32s kept before the cache starts over: 32 MB at most. */
const MAX_DECODED_ROWS = 8 * 1024 * 1024;
/** A corrupt table cannot make decoding run forever. */
const MAX_TABLE_ROWS = 1 << 20;

/**
 * Merges two (end, value) row lists into rows of (end, line, file) at every end of either:
 * on [previous end, end) each table's value is that of its first row ending at or after end
 * (-1 past its last row), which is what running each table to the pc gives.
 */
function mergeTables(lines: number[], files: number[], startLine: number): Int32Array {
  const out: number[] = [0, startLine];
  let i = 0;
  let j = 0;
  while (i < lines.length || j < files.length) {
    const endL = i < lines.length ? lines[i] : Infinity;
    const endF = j < files.length ? files[j] : Infinity;
    const end = Math.min(endL, endF);
    out.push(end, i < lines.length ? lines[i + 1] : -1, j < files.length ? files[j + 1] : -1);
    if (endL === end) i += 2;
    if (endF === end) j += 2;
  }
  out[0] = (out.length - 2) / 3;
  return Int32Array.from(out);
}

/** Row of the merged table t holding offset off (pc - entry), or -1 past its end. */
function rowAt(t: Int32Array, off: number): number {
  const rows = t[0];
  let lo = 0;
  let hi = rows;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[2 + 3 * mid] <= off) lo = mid + 1;
    else hi = mid;
  }
  return lo < rows ? lo : -1;
}
