// Host context vs guest context: which registers the guest exit changed, each value symbolized
// when it points into known code — what the "Host context" / "Guest context" views show.
import type { MachineContext } from './machineContext';
import type { Symbolizer, SymbolRef } from './symbolizer';

export interface RegisterRow {
  name: string;
  host: bigint | undefined;
  guest: bigint | undefined;
  differs: boolean;
}

export function diffContexts(host: MachineContext | undefined, guest: MachineContext | undefined): RegisterRow[] {
  const names: string[] = [];
  for (const ctx of [host, guest]) for (const r of ctx?.registers ?? []) if (!names.includes(r.name)) names.push(r.name);
  return names.map((name) => {
    const h = host?.registers.find((r) => r.name === name)?.value;
    const g = guest?.registers.find((r) => r.name === name)?.value;
    return { name, host: h, guest: g, differs: host !== undefined && guest !== undefined && h !== g };
  });
}

export function changedRegisters(host: MachineContext, guest: MachineContext): string[] {
  return diffContexts(host, guest)
    .filter((r) => r.differs)
    .map((r) => r.name);
}

/** Values worth a symbol lookup: user-space sized and not tiny (0, small integers, flags). */
export function couldBeCodeAddress(v: bigint): boolean {
  return v >= 0x1000n && v < 1n << 48n;
}

/** Symbol of every register value that points into known code (one lookup per distinct value). */
export async function symbolizeContext(ctx: MachineContext, symbolizer: Symbolizer): Promise<Map<string, SymbolRef>> {
  const out = new Map<string, SymbolRef>();
  const byValue = new Map<bigint, SymbolRef | undefined>();
  for (const r of ctx.registers) {
    if (!couldBeCodeAddress(r.value)) continue;
    if (!byValue.has(r.value)) byValue.set(r.value, await symbolizer.symbolize(Number(r.value)));
    const sym = byValue.get(r.value);
    if (sym) out.set(r.name, sym);
  }
  return out;
}
