// The common model of every symbol source (objdump text, ELF .symtab, Go .gopclntab, a live
// session): functions as [start, start+size) ranges, sorted by start, found by binary search.
//
// Addresses are plain `number`s, not `bigint`s. Every address a Go program can run at is a
// user-space address: below 2^47 on amd64 and below 2^48 on arm64 (e.g. the arm64 vDSO at
// 0xffffb00ba7dc), and a double holds every integer up to 2^53 exactly. Numbers keep the
// table in a Float64Array and the binary search free of bigint allocations (lookups are
// ~10x faster than with bigint); the ELF reader refuses values above 2^53 instead of
// rounding them (see elfFile.ts).

import { AddressIndex } from './addressIndex';

export interface SymbolInfo {
  name: string;
  start: number;
  /** Bytes covered; 0 when the source does not know (then the symbol runs to the next one). */
  size: number;
}

export interface SymbolHit<T extends SymbolInfo = SymbolInfo> {
  symbol: T;
  /** addr - symbol.start */
  offset: number;
}

export interface SymbolSearchOptions {
  /** At most this many results (default 100). */
  limit?: number;
}

/** T lets a source keep its own data on each symbol (lookup returns the object it was given). */
export class SymbolTable<T extends SymbolInfo = SymbolInfo> {
  /** Symbols sorted by start; on equal starts the one with a size comes first. */
  private readonly sorted: T[];
  private readonly starts: Float64Array;
  private readonly index: AddressIndex;
  /** Exclusive end of each symbol's range (size 0 → next symbol's start, or start+1 if last). */
  private readonly ends: Float64Array;
  /** Every symbol given to the constructor, aliases included (for byName and search). */
  private readonly allNames: T[];
  private byNameMap: Map<string, T> | undefined;
  private lowerNames: string[] | undefined;

  constructor(symbols: Iterable<T>) {
    const all = Array.from(symbols).filter((s) => Number.isFinite(s.start) && s.start >= 0);
    all.sort((a, b) => a.start - b.start || Number(b.size > 0) - Number(a.size > 0));
    // One symbol per start address: aliases (several names at one address) keep the first.
    const unique: T[] = [];
    for (const s of all) {
      const last = unique[unique.length - 1];
      if (last === undefined || last.start !== s.start) unique.push(s);
    }
    this.sorted = unique;
    this.starts = new Float64Array(unique.length);
    this.ends = new Float64Array(unique.length);
    for (let i = 0; i < unique.length; i++) this.starts[i] = unique[i].start;
    this.index = new AddressIndex(this.starts);
    for (let i = 0; i < unique.length; i++) {
      const s = unique[i];
      const next = i + 1 < unique.length ? unique[i + 1].start : Infinity;
      this.ends[i] = s.size > 0 ? s.start + s.size : next === Infinity ? s.start + 1 : next;
    }
    this.allNames = all;
  }

  get size(): number {
    return this.sorted.length;
  }

  /** Symbols in address order (one per address). */
  symbols(): readonly T[] {
    return this.sorted;
  }

  /** The symbol whose range holds addr, and addr's offset in it. */
  lookup(addr: number): SymbolHit<T> | undefined {
    const i = this.indexAt(addr);
    if (i < 0 || addr >= this.ends[i]) return undefined;
    const symbol = this.sorted[i];
    return { symbol, offset: addr - symbol.start };
  }

  /** Index of the last symbol starting at or below addr, or -1. */
  indexAt(addr: number): number {
    return this.index.indexAt(addr);
  }

  byName(name: string): T | undefined {
    if (this.byNameMap === undefined) {
      const m = new Map<string, T>();
      for (const s of this.allNames) if (!m.has(s.name)) m.set(s.name, s);
      this.byNameMap = m;
    }
    return this.byNameMap.get(name);
  }

  /**
   * Case-insensitive name search for workspace symbols: exact matches first, then prefix
   * matches, then substring matches; each group in address order.
   */
  search(query: string, options: SymbolSearchOptions = {}): T[] {
    const limit = options.limit ?? 100;
    const q = query.toLowerCase();
    if (this.lowerNames === undefined) this.lowerNames = this.allNames.map((s) => s.name.toLowerCase());
    const exact: T[] = [];
    const prefix: T[] = [];
    const substring: T[] = [];
    const names = this.lowerNames;
    for (let i = 0; i < names.length; i++) {
      const at = names[i].indexOf(q);
      if (at < 0) continue;
      const s = this.allNames[i];
      if (at === 0 && names[i].length === q.length) exact.push(s);
      else if (at === 0) prefix.push(s);
      else if (substring.length < limit) substring.push(s);
    }
    return exact.concat(prefix, substring).slice(0, limit);
  }
}

/** `name+0x1f`, the way tracebacks and Delve print a position inside a function. */
export function formatSymbolOffset(hit: SymbolHit): string {
  return hit.offset === 0 ? hit.symbol.name : `${hit.symbol.name}+0x${hit.offset.toString(16)}`;
}
