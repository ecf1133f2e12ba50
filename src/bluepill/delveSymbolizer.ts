// Symbolizer over the live Delve session: FindLocation('*0xADDR') gives the function and its
// true entry. Lookups are cached per address, and each function learns the span of addresses
// seen inside it (or its exact range from a disassembly), so nearby PCs cost no round trip.
import type { DelveClient } from '../delve/delveClient';
import type { Symbolizer, SymbolRef } from './symbolizer';

interface KnownFunction {
  name: string;
  file?: string;
  entry: number;
  /** Highest address known to be inside the function (exclusive end when exact). */
  end: number;
}

export class DelveSymbolizer implements Symbolizer {
  private readonly byAddr = new Map<number, SymbolRef | undefined>();
  private functions: KnownFunction[] = [];
  /** Delve calls made (for tests and benchmarks). */
  lookups = 0;

  constructor(
    private readonly delve: Pick<DelveClient, 'findLocation'>,
    /** Asked when Delve knows nothing (e.g. the vDSO named from /proc/PID/maps). */
    private readonly fallback?: Symbolizer,
  ) {}

  /** Teaches an exact function range, e.g. from a whole-function Disassemble. */
  learnRange(name: string, entry: number, end: number, file?: string): void {
    const f = this.functions.find((k) => k.entry === entry);
    if (f) {
      f.end = Math.max(f.end, end);
      f.file ??= file;
    } else this.functions.push({ name, entry, end, ...(file ? { file } : {}) });
  }

  async symbolize(addr: number): Promise<SymbolRef | undefined> {
    if (this.byAddr.has(addr)) return this.byAddr.get(addr);
    const known = this.functions.find((f) => addr >= f.entry && addr < f.end);
    if (known) return { name: known.name, offset: addr - known.entry, ...(known.file ? { file: known.file } : {}) };
    let sym: SymbolRef | undefined;
    try {
      this.lookups++;
      const locs = await this.delve.findLocation(`*0x${addr.toString(16)}`);
      const fn = locs[0]?.function;
      if (fn && fn.name && fn.value <= addr) {
        const file = locs[0].file || undefined;
        sym = { name: fn.name, offset: addr - fn.value, ...(file ? { file } : {}) };
        this.learnRange(fn.name, fn.value, addr + 1, file);
      }
    } catch {
      sym = undefined;
    }
    if (!sym && this.fallback) sym = await this.fallback.symbolize(addr);
    this.byAddr.set(addr, sym);
    return sym;
  }
}
