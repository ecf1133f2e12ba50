// file:line → PCs from a Go pclntab, for line breakpoints in binaries without DWARF (a stripped
// runsc): Delve ≥ 1.21 attaches to them but resolves no file:line. Semantics of Go's
// src/debug/gosym/pclntab.go (LineTable.LineToPC, the inverse of PCToLine), widened to every
// place the line starts: the pclntab has no is_stmt, so where Delve would choose one PC per
// function from DWARF we return the first PC of every maximal run of instructions at that
// file:line and let the caller choose.
//
// The file → functions index is built on the first query (decoding every function's pc-file
// table; see indexBuildMs) and kept; each query then decodes only the functions of its file.

import type { GoPclntab } from './gopclntab';

export interface LinePc {
  /** First PC of a run of instructions at the requested file:line. */
  pc: number;
  /** Function (physical, not inlined) holding pc, and its entry. */
  function: string;
  entry: number;
}

export interface FileMatch {
  /** The binary's file name, when exactly one matched best. */
  file: string | undefined;
  /** Every binary file with the longest common trailing path (several: ambiguous). */
  candidates: string[];
  /** Trailing path components shared with each candidate (0: not even the base name). */
  matchedComponents: number;
  ambiguous: boolean;
}

export class GoLineTable {
  private byFile: Map<string, number[]> | undefined;
  private readonly lineCache = new Map<string, number[]>();
  /** Milliseconds the file → functions index took to build (undefined until it is built). */
  indexBuildMs: number | undefined;

  constructor(private readonly tab: GoPclntab) {}

  private index(): Map<string, number[]> {
    if (this.byFile === undefined) {
      const t0 = performance.now();
      const byFile = new Map<string, number[]>();
      for (let i = 0; i < this.tab.functionCount; i++) {
        for (const f of this.tab.filesOf(i)) {
          let list = byFile.get(f);
          if (list === undefined) byFile.set(f, (list = []));
          list.push(i);
        }
      }
      this.byFile = byFile;
      this.indexBuildMs = performance.now() - t0;
    }
    return this.byFile;
  }

  /** Files that have code (in some function or inlined call), as the binary names them. */
  files(): string[] {
    return [...this.index().keys()].filter((f) => f !== '').sort();
  }

  hasFile(file: string): boolean {
    return this.index().has(file);
  }

  /**
   * Every PC where a run of instructions at file:line starts (file as the binary names it, see
   * resolveFile), ascending. [] when the line has no code; see nextLineWithCode.
   */
  pcsForLine(file: string, line: number): LinePc[] {
    const out: LinePc[] = [];
    for (const i of this.index().get(file) ?? []) {
      let inRun = false;
      for (const r of this.tab.lineRanges(i)) {
        const here = r.line === line && r.file === file;
        if (here && !inRun) out.push({ pc: r.start, function: this.tab.name(i), entry: this.tab.entry(i) });
        inRun = here;
      }
    }
    return out.sort((a, b) => a.pc - b.pc);
  }

  /** The lines of file that have code, ascending. */
  linesOfFile(file: string): number[] {
    let lines = this.lineCache.get(file);
    if (lines === undefined) {
      const seen = new Set<number>();
      for (const i of this.index().get(file) ?? []) {
        for (const r of this.tab.lineRanges(i)) if (r.file === file && r.line > 0) seen.add(r.line);
      }
      lines = [...seen].sort((a, b) => a - b);
      this.lineCache.set(file, lines);
    }
    return lines;
  }

  /**
   * line itself when it has code, else the first line below it that has: where Delve moves a
   * breakpoint set on a comment or blank line. undefined past the file's last line with code.
   */
  nextLineWithCode(file: string, line: number): number | undefined {
    const lines = this.linesOfFile(file);
    let lo = 0;
    let hi = lines.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (lines[mid] < line) lo = mid + 1;
      else hi = mid;
    }
    return lines[lo];
  }

  /** The binary's name for a local source path: the exact name, else the best suffix match. */
  resolveFile(localPath: string): FileMatch {
    if (this.index().has(localPath)) {
      return { file: localPath, candidates: [localPath], matchedComponents: components(localPath).length, ambiguous: false };
    }
    return matchFileBySuffix(localPath, this.files());
  }
}

function components(path: string): string[] {
  return path.split(/[\\/]+/).filter((c) => c !== '' && c !== '.');
}

/**
 * Matches a local path against a binary's file names by the longest run of equal trailing
 * path components (the build path differs: GOPATH, module cache, -trimpath, another user's
 * checkout). The base name must match; ties are reported as ambiguous, not guessed.
 */
export function matchFileBySuffix(localPath: string, binaryFiles: readonly string[]): FileMatch {
  const want = components(localPath);
  let best = 0;
  let candidates: string[] = [];
  for (const f of binaryFiles) {
    const have = components(f);
    let n = 0;
    while (n < want.length && n < have.length && want[want.length - 1 - n] === have[have.length - 1 - n]) n++;
    if (n === 0 || n < best) continue;
    if (n > best) {
      best = n;
      candidates = [];
    }
    candidates.push(f);
  }
  const ambiguous = candidates.length > 1;
  return { file: candidates.length === 1 ? candidates[0] : undefined, candidates, matchedComponents: best, ambiguous };
}
