// Engine hops (bigint registers, symbol refs) → the JSON shapes the views receive.
import type { ArchProfile } from '../bluepill/archProfile';
import { diffContexts } from '../bluepill/contextDiff';
import { locationText, type CodeLocation, type Hop } from '../bluepill/hop';
import type { MachineContext } from '../bluepill/machineContext';
import { formatSymbol, shortFunctionName, type SymbolRef } from '../bluepill/symbolizer';
import type { UnfinishedHop } from '../bluepill/stepOverBluepill';
import type { WireContext, WireHop, WireLocation, WireUnfinishedHop } from '../protocol/bluepillMessages';

/** Symbols of register values, looked up by the caller (one map per context). */
export type RegisterSymbols = ReadonlyMap<string, SymbolRef>;

function hex(v: bigint | number): string {
  return '0x' + v.toString(16);
}

export function locationToWire(loc: CodeLocation): WireLocation {
  return { pc: hex(loc.pc), text: locationText(loc), ...(loc.instruction ? { instruction: loc.instruction } : {}) };
}

export function contextToWire(
  title: string,
  ctx: MachineContext,
  other: MachineContext | undefined,
  arch: ArchProfile,
  symbols: RegisterSymbols = new Map(),
): WireContext {
  const diff = new Map(diffContexts(ctx, other).map((r) => [r.name, r]));
  return {
    title,
    pc: hex(ctx.pc),
    sp: hex(ctx.sp),
    ...(ctx.lr !== undefined ? { lr: hex(ctx.lr) } : {}),
    flags: hex(ctx.flags),
    flagsText: arch.decodeFlags(ctx.flags).text,
    registers: ctx.registers.map((r) => {
      const sym = symbols.get(r.name);
      return {
        name: r.name,
        value: hex(r.value),
        ...(sym ? { symbol: formatSymbol(Number(r.value), { name: shortFunctionName(sym.name), offset: sym.offset }) } : {}),
        changed: other !== undefined && (diff.get(r.name)?.differs ?? false),
      };
    }),
  };
}

export function unfinishedToWire(hop: UnfinishedHop, arch: ArchProfile, hostSymbols?: RegisterSymbols): WireUnfinishedHop {
  return {
    threadId: hop.threadId,
    signal: `${hop.signalName} (${hop.signalNumber})`,
    ...(hop.fault ? { fault: locationToWire(hop.fault) } : {}),
    ...(hop.handler ? { handler: locationToWire(hop.handler) } : {}),
    ...(hop.trampoline ? { trampoline: locationToWire(hop.trampoline) } : {}),
    ucontext: hex(hop.ucontextAddress),
    ...(hop.hostContext ? { host: contextToWire('Host context (at the fault)', hop.hostContext, undefined, arch, hostSymbols) } : {}),
  };
}

export function hopToWire(hop: Hop, index: number, arch: ArchProfile, symbols: { host?: RegisterSymbols; guest?: RegisterSymbols } = {}): WireHop {
  return {
    index,
    threadId: hop.threadId,
    signal: `${hop.signalName} (${hop.signalNumber})`,
    ...(hop.fault ? { fault: locationToWire(hop.fault) } : {}),
    ...(hop.handler ? { handler: locationToWire(hop.handler) } : {}),
    trampoline: locationToWire(hop.trampoline),
    landing: locationToWire(hop.landing),
    ucontext: hex(hop.ucontextAddress),
    guestMs: hop.guestMs,
    foreignHits: hop.foreignHits,
    ...(hop.hostContext ? { host: contextToWire('Host context (at the fault)', hop.hostContext, hop.guestContext, arch, symbols.host) } : {}),
    guest: contextToWire('Guest context (after the guest exit)', hop.guestContext, hop.hostContext, arch, symbols.guest),
  };
}
