// Address → symbol, as the engine and the context views need it. Implemented over the live
// Delve session (delveSymbolizer.ts) or any symbol table.

export interface SymbolRef {
  name: string;
  offset: number;
  /** The source file of the function, when known (it tells assembly from Go: `*.s`). */
  file?: string;
}

export interface Symbolizer {
  symbolize(addr: number): Promise<SymbolRef | undefined>;
}

/** `kvm.bluepill+0x18`, `runtime.futex` at offset 0, or the bare address when unknown. */
export function formatSymbol(addr: number, sym: SymbolRef | undefined): string {
  if (!sym) return '0x' + addr.toString(16);
  return sym.offset ? `${sym.name}+0x${sym.offset.toString(16)}` : sym.name;
}

/** Drops the package path: `bluepill.sim/pkg/sentry/platform/kvm.bluepill` → `kvm.bluepill`. */
export function shortFunctionName(name: string): string {
  const slash = name.lastIndexOf('/');
  return slash >= 0 ? name.slice(slash + 1) : name;
}
