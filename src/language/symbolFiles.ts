// Binaries and dumps loaded from disk (the `bluepill.symbolFiles` setting and files added by
// the "Open function…" command). A file is an ELF binary when it starts with the ELF magic,
// else a dump indexed by streaming it from disk, so a dump VS Code will never sync (> 50 MB)
// still answers hovers. Files that cannot be used are kept with the reason and skipped.

import { stat } from 'node:fs/promises';
import { BinarySource, DumpSource, isElfFile, type SymbolSource } from './symbolSources';
import type { SymbolFileInfo } from '../protocol/languageMessages';

export interface LoadedFile {
  info: SymbolFileInfo;
  source: SymbolSource | undefined;
  /** Identity of the file content we loaded: reload when it changes. */
  stamp: string;
}

/** Loads one file; never throws (problems end up in info.problem). */
export async function loadSymbolFile(path: string): Promise<LoadedFile> {
  let stamp = '';
  try {
    const st = await stat(path);
    stamp = `${st.size}:${st.mtimeMs}`;
    if (!st.isFile()) return skipped(path, 'dump', stamp, 'not a regular file');
    if (isElfFile(path)) return loadBinary(path, stamp);
    return await loadDump(path, stamp);
  } catch (e) {
    return skipped(path, 'dump', stamp, messageOf(e));
  }
}

function loadBinary(path: string, stamp: string): LoadedFile {
  let source: BinarySource;
  try {
    source = BinarySource.load(path);
  } catch (e) {
    // Truncated or damaged ELF (ElfError), or a read error.
    return skipped(path, 'binary', stamp, `not a usable ELF binary: ${messageOf(e)}`);
  }
  if (source.functionCount === 0) {
    return skipped(path, 'binary', stamp, `no function symbols (no .symtab and no readable .gopclntab${source.problem ? `: ${source.problem}` : ''})`);
  }
  const info: SymbolFileInfo = { path, kind: 'binary', functionCount: source.functionCount, skipped: false };
  if (source.problem !== undefined) info.problem = `no file:line information (${source.problem})`;
  return { info, source, stamp };
}

async function loadDump(path: string, stamp: string): Promise<LoadedFile> {
  const source = await DumpSource.fromFile(path);
  const binary = source.warnings.find((w) => w.code === 'binary-data');
  if (source.addressedFunctionCount === 0) {
    const why =
      binary !== undefined
        ? 'it holds binary data and is not an ELF file'
        : 'it is neither an ELF binary nor a Go disassembly listing (no `TEXT name(SB)` lines with instructions)';
    return skipped(path, 'dump', stamp, why);
  }
  const info: SymbolFileInfo = { path, kind: 'dump', functionCount: source.functionCount, skipped: false };
  const problems = source.warnings.map((w) => (w.code === 'wrong-toolchain' ? WRONG_TOOLCHAIN_ADVICE : w.message));
  if (problems.length > 0) info.problem = problems.join(' ');
  return { info, source, stamp };
}

/** What the wrong-toolchain diagnostic tells the user. */
export const WRONG_TOOLCHAIN_ADVICE =
  'This dump was made by the wrong toolchain: every function has an empty source path and every instruction `:0` ' +
  '(a `go tool objdump` older than the Go that built the binary cannot read its line table). ' +
  "Rebuild the dump with a Go toolchain at least as new as the binary's (`go version <binary>` tells which).";

function skipped(path: string, kind: SymbolFileInfo['kind'], stamp: string, problem: string): LoadedFile {
  return { info: { path, kind, functionCount: 0, problem, skipped: true }, source: undefined, stamp };
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The current size:mtime of a file ('' when it cannot be read). */
export async function fileStamp(path: string): Promise<string> {
  try {
    const st = await stat(path);
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return '';
  }
}
