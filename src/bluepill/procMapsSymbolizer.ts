// Names addresses in mappings Delve has no symbols for — the vDSO above all — from
// /proc/PID/maps text: `[vdso]+0x7bc`, `libc.so.6+0x1234`.
import type { Symbolizer, SymbolRef } from './symbolizer';

export interface Mapping {
  start: number;
  end: number;
  name: string;
}

export function parseProcMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+)\s+\S+\s+\S+\s+\S+\s+\S+\s*(.*)$/.exec(line);
    if (!m || !m[3]) continue;
    out.push({ start: parseInt(m[1], 16), end: parseInt(m[2], 16), name: m[3].trim() });
  }
  return out;
}

export class ProcMapsSymbolizer implements Symbolizer {
  constructor(private readonly mappings: readonly Mapping[]) {}

  async symbolize(addr: number): Promise<SymbolRef | undefined> {
    const m = this.mappings.find((x) => addr >= x.start && addr < x.end);
    if (!m) return undefined;
    // A file is named by its base name from the first mapping of that file.
    const first = this.mappings.find((x) => x.name === m.name) ?? m;
    const name = m.name.startsWith('[') ? m.name : m.name.slice(m.name.lastIndexOf('/') + 1);
    return { name, offset: addr - first.start };
  }

  vdso(): Mapping | undefined {
    return this.mappings.find((m) => m.name === '[vdso]');
  }
}
