// Source lines of a binary Delve has no line tables for (a stripped runsc: no DWARF), from the
// binary's own .gopclntab (src/symbols/lineTable.ts). A breakpoint on such a line becomes an
// address breakpoint on every PC where that line's code starts.
import { loadBinarySymbols } from '../symbols/binarySymbols';
import type { GoPclntab } from '../symbols/gopclntab';
import { GoLineTable } from '../symbols/lineTable';
import type { LineAddresses } from './breakpoints';

export class BinaryLines {
  private table: Promise<GoLineTable> | undefined;
  private pclntab: GoPclntab | undefined;

  /** `binaryPath`: a local copy of the sandbox's binary (fetched once, cached by build ID). */
  constructor(private readonly binaryPath: () => Promise<string>) {}

  private lineTable(): Promise<GoLineTable> {
    this.table ??= this.binaryPath().then((path) => {
      const symbols = loadBinarySymbols(path);
      if (!symbols.pclntab) throw new Error(`${path} has no readable .gopclntab (${symbols.pclntabProblem ?? 'not a Go binary'})`);
      this.pclntab = symbols.pclntab;
      return new GoLineTable(symbols.pclntab);
    });
    this.table.catch(() => (this.table = undefined));
    return this.table;
  }

  /** file:line of a PC from the binary's .gopclntab, for a frame Delve left without one. */
  async position(pc: number): Promise<{ file: string; line: number } | undefined> {
    await this.lineTable();
    const pos = this.pclntab?.symbolize(pc);
    return pos && pos.file && pos.line > 0 ? { file: pos.file, line: pos.line } : undefined;
  }

  /**
   * The PCs of `line` (or of the next line below it with code, as Delve moves a breakpoint) in the
   * binary's file that is `remotePath`, or the file whose trailing path components match it best.
   * undefined when the binary has no such file.
   */
  async addresses(remotePath: string, line: number): Promise<LineAddresses | undefined> {
    const table = await this.lineTable();
    let file = table.hasFile(remotePath) ? remotePath : undefined;
    if (!file) {
      const match = table.resolveFile(remotePath);
      if (match.ambiguous)
        return `the binary has several files that end like this one: ${match.candidates.slice(0, 5).join(', ')}; add a "substitutePath" rule to say which`;
      file = match.file;
    }
    if (!file) return undefined;
    const at = table.nextLineWithCode(file, line);
    if (at === undefined) return `no code at or below line ${line} of ${file} in the binary`;
    return { line: at, pcs: table.pcsForLine(file, at).map((p) => p.pc) };
  }
}
