// Every symbol source the server knows, in the order questions are asked: the document the
// question comes from, other open go-objdump documents, files from disk (dumps, then
// binaries), and last the live debug session.

import { unwatchFile, watchFile } from 'node:fs';
import { fileStamp, loadSymbolFile, type LoadedFile } from './symbolFiles';
import {
  BinarySource,
  DumpSource,
  type FunctionEntry,
  type InstructionInfo,
  type ResolvedAddress,
  type SymbolSource,
  type TextLocation,
} from './symbolSources';
import type { LiveSymbol, SymbolFileInfo } from '../protocol/languageMessages';

/** Asks the debug session; undefined when there is none or it did not answer. */
export type LiveSymbolizer = (addresses: number[]) => Promise<(LiveSymbol | null)[] | undefined>;

/** How often files on disk are checked for changes (a dump rewritten by a new objdump run). */
const WATCH_INTERVAL_MS = 2000;
/** A file must stop changing this long before it is reloaded (objdump writes for seconds). */
const SETTLE_MS = 1500;

export class SymbolStore {
  private readonly documents = new Map<string, DumpSource>();
  private readonly files = new Map<string, LoadedFile>();
  private readonly loading = new Map<string, Promise<LoadedFile>>();
  private readonly watched = new Map<string, ReturnType<typeof setTimeout> | undefined>();
  live: LiveSymbolizer | undefined;
  /** Told about files reloaded because they changed on disk (or appeared). */
  onReload: ((info: SymbolFileInfo) => void) | undefined;

  setDocument(uri: string, source: DumpSource | undefined): void {
    if (source === undefined) this.documents.delete(uri);
    else this.documents.set(uri, source);
  }

  document(uri: string): DumpSource | undefined {
    return this.documents.get(uri);
  }

  /**
   * Makes the loaded files exactly `paths` (plus `keep`): loads new ones, reloads changed
   * ones, drops the rest. Returns the infos of the files this call (re)loaded, so a file is
   * reported once even when settings arrive twice (initializationOptions, then the push).
   */
  async setFiles(paths: string[], keep: ReadonlySet<string> = new Set()): Promise<SymbolFileInfo[]> {
    const wanted = new Set(paths);
    for (const p of [...this.files.keys()]) {
      if (!wanted.has(p) && !keep.has(p)) {
        this.files.delete(p);
        this.unwatch(p);
      }
    }
    const loads = await Promise.all([...wanted].map((p) => this.ensureFile(p)));
    return loads.filter((l) => l.fresh).map((l) => l.file.info);
  }

  /** Loads (or reloads when changed on disk) one file; returns its info. */
  async addFile(path: string): Promise<SymbolFileInfo> {
    return (await this.ensureFile(path)).file.info;
  }

  /** fresh: loaded by this call (not already loaded and unchanged, nor loaded by another call). */
  private async ensureFile(path: string): Promise<{ file: LoadedFile; fresh: boolean }> {
    const pending = this.loading.get(path);
    if (pending !== undefined) return { file: await pending, fresh: false };
    const current = this.files.get(path);
    if (current !== undefined && current.stamp !== '' && current.stamp === (await fileStamp(path))) return { file: current, fresh: false };
    const again = this.loading.get(path); // started while we looked at the file
    if (again !== undefined) return { file: await again, fresh: false };
    const p = loadSymbolFile(path).then((l) => {
      this.files.set(path, l);
      this.loading.delete(path);
      return l;
    });
    this.loading.set(path, p);
    this.watch(path);
    return { file: await p, fresh: true };
  }

  private watch(path: string): void {
    if (this.watched.has(path)) return;
    this.watched.set(path, undefined);
    watchFile(path, { interval: WATCH_INTERVAL_MS, persistent: false }, () => {
      if (!this.watched.has(path)) return;
      clearTimeout(this.watched.get(path));
      this.watched.set(
        path,
        setTimeout(() => {
          if (!this.watched.has(path)) return;
          this.watched.set(path, undefined);
          void this.ensureFile(path).then((r) => {
            if (r.fresh) this.onReload?.(r.file.info);
          });
        }, SETTLE_MS),
      );
    });
  }

  private unwatch(path: string): void {
    if (!this.watched.has(path)) return;
    clearTimeout(this.watched.get(path));
    this.watched.delete(path);
    unwatchFile(path);
  }

  /** Stops watching files (server shutdown). */
  dispose(): void {
    for (const p of [...this.watched.keys()]) this.unwatch(p);
  }

  fileInfos(): SymbolFileInfo[] {
    return [...this.files.values()].map((f) => f.info);
  }

  fileSource(path: string): SymbolSource | undefined {
    return this.files.get(path)?.source;
  }

  /** Waits for files being loaded, so a hover right after a settings change still finds them. */
  async settled(): Promise<void> {
    await Promise.all([...this.loading.values()]);
  }

  sources(preferUri?: string): SymbolSource[] {
    const out: SymbolSource[] = [];
    const first = preferUri === undefined ? undefined : this.documents.get(preferUri);
    if (first !== undefined) out.push(first);
    for (const [uri, d] of this.documents) if (uri !== preferUri) out.push(d);
    const loaded = [...this.files.values()].map((f) => f.source).filter((s): s is SymbolSource => s !== undefined);
    out.push(...loaded.filter((s) => s instanceof DumpSource), ...loaded.filter((s) => !(s instanceof DumpSource)));
    return out;
  }

  dumps(preferUri?: string): DumpSource[] {
    return this.sources(preferUri).filter((s): s is DumpSource => s instanceof DumpSource);
  }

  functionByName(name: string, preferUri?: string): FunctionEntry | undefined {
    for (const s of this.sources(preferUri)) {
      const f = s.functionByName(name);
      if (f !== undefined && f.start >= 0) return f;
    }
    return undefined;
  }

  /**
   * The best answer for addr: the first source that also knows the instruction, else the
   * first that knows the function; file:line filled in from a later source when missing.
   */
  async resolve(addr: number, preferUri?: string): Promise<ResolvedAddress | undefined> {
    // Sources loaded now answer at once, even while a big dump is still being indexed.
    const quick = await this.resolveIn(addr, this.sources(preferUri));
    if ((quick?.instruction !== undefined && quick.file !== '') || this.loading.size === 0) {
      return quick ?? (this.live === undefined ? undefined : this.resolveLive(addr));
    }
    await this.settled();
    const best = await this.resolveIn(addr, this.sources(preferUri));
    return best ?? (this.live === undefined ? undefined : this.resolveLive(addr));
  }

  private async resolveIn(addr: number, sources: SymbolSource[]): Promise<ResolvedAddress | undefined> {
    let best: ResolvedAddress | undefined;
    for (const s of sources) {
      let r: ResolvedAddress | undefined;
      try {
        r = await s.resolve(addr);
      } catch {
        continue; // a dump deleted or truncated since it was indexed
      }
      if (r === undefined) continue;
      if (best === undefined) best = r;
      else {
        if (best.instruction === undefined && r.instruction !== undefined) best = { ...r, file: best.file || r.file, line: best.line || r.line };
        if (best.file === '' && r.file !== '') best = { ...best, file: r.file, line: r.line };
      }
      if (best.instruction !== undefined && best.file !== '') break;
    }
    return best;
  }

  private async resolveLive(addr: number): Promise<ResolvedAddress | undefined> {
    const answer = (await this.live?.([addr]))?.[0];
    if (answer === undefined || answer === null) return undefined;
    return {
      address: addr,
      name: answer.function,
      start: answer.entry,
      offset: addr - answer.entry,
      file: answer.file,
      line: answer.line,
      sourceLabel: 'debug session',
    };
  }

  /** The instruction at addr from a binary of the symbol files (disassembled on demand), for hovers. */
  async binaryInstruction(addr: number, preferUri?: string): Promise<InstructionInfo | undefined> {
    for (const s of this.sources(preferUri)) {
      if (!(s instanceof BinarySource) || s.functionAt(addr) === undefined) continue;
      const insn = await s.instructionAt(addr).catch(() => undefined);
      if (insn !== undefined) return insn;
    }
    return undefined;
  }

  /** The listing line of the instruction starting at addr, else its function's TEXT line. */
  async instructionLocation(addr: number, preferUri?: string): Promise<TextLocation | undefined> {
    const local = await this.document(preferUri ?? '')
      ?.instructionAt(addr)
      .catch(() => undefined);
    if (local?.location !== undefined) return local.location;
    await this.settled();
    for (const d of this.dumps(preferUri)) {
      try {
        const insn = await d.instructionAt(addr);
        if (insn?.location !== undefined) return insn.location;
      } catch {
        // unreadable dump: try the next
      }
    }
    for (const s of this.sources(preferUri)) {
      const f = s.functionAt(addr);
      if (f !== undefined) return f.location;
    }
    return undefined;
  }

  functionAt(addr: number, preferUri?: string): { entry: FunctionEntry; source: SymbolSource } | undefined {
    for (const source of this.sources(preferUri)) {
      const entry = source.functionAt(addr);
      if (entry !== undefined) return { entry, source };
    }
    return undefined;
  }
}
