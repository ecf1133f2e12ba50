// One bluepill hop (fault → handler → guest → rt_sigreturn → landing) and how it is told to
// the user: the stopped-event line and a Markdown hop list in the shape a developer writes by hand.
import type { MachineContext } from './machineContext';
import { hex } from './machineContext';
import { formatSymbol, shortFunctionName, type SymbolRef } from './symbolizer';

export interface CodeLocation {
  pc: number;
  symbol?: SymbolRef;
  /** Disassembly text of the instruction at pc, when read. */
  instruction?: string;
}

export interface Hop {
  threadId: number;
  /** The faulting instruction (the ucontext PC at handler entry); unknown when the hop was joined in the trampoline. */
  fault?: CodeLocation;
  /** Where this hop was joined when it did not start with the fault (the first hop of a step only). */
  joinedAt?: 'handler' | 'trampoline';
  signalNumber: number;
  signalName: string;
  /** Handler entry (where the thread was when the host context was read). */
  handler?: CodeLocation;
  ucontextAddress: number;
  /** The ucontext at handler entry: the interrupted host registers. Absent when the hop was joined mid-handler. */
  hostContext?: MachineContext;
  /** The ucontext just before rt_sigreturn: what the guest exit wrote. */
  guestContext: MachineContext;
  trampoline: CodeLocation;
  landing: CodeLocation;
  /** Wall time from resuming the handler until the thread reached the trampoline. */
  guestMs: number;
  /** Times another thread stopped at our breakpoint while this hop waited. */
  foreignHits: number;
}

export function locationText(loc: CodeLocation): string {
  return `${hex(loc.pc)} ${formatSymbol(loc.pc, shortSymbol(loc.symbol))}`;
}

function shortSymbol(sym: SymbolRef | undefined): SymbolRef | undefined {
  return sym ? { name: shortFunctionName(sym.name), offset: sym.offset } : undefined;
}

/** `bluepill: 0x95c6d8 kvm.bluepill+0x18 → 0x7f41c runtime.futex+0x1c (2 hops)`. */
export function describeHops(hops: readonly Hop[]): string {
  if (hops.length === 0) return 'bluepill: no hop';
  const first = hops[0].fault ?? hops[0].handler ?? hops[0].trampoline;
  const last = hops[hops.length - 1].landing;
  return `bluepill: ${locationText(first)} → ${locationText(last)} (${hops.length} hop${hops.length === 1 ? '' : 's'})`;
}

/**
 * The hop list as a developer writes it by hand while stepping:
 * fault, handler, guest exit PC, trampoline, landing — one indented block per hop.
 */
export function hopsToMarkdown(hops: readonly Hop[], title = 'Bluepill hops', unfinished?: UnfinishedHopText): string {
  const lines: string[] = [`## ${title}`, ''];
  if (hops.length === 0 && !unfinished) return [...lines, '(none)', ''].join('\n');
  if (hops.length === 0) return [...lines, ...unfinishedLines(unfinished!), ''].join('\n');
  lines.push(`${describeHops(hops)}, thread ${hops[0].threadId}`, '', '```');
  const pad = (s: string): string => s.padEnd(44) + ' ';
  hops.forEach((h, i) => {
    const joined = h.joinedAt ? `, joined in the ${h.joinedAt}` : '';
    lines.push(
      `// hop ${i + 1}: ${h.signalName} (${h.signalNumber}), ucontext ${hex(h.ucontextAddress)}, guest ran ${h.guestMs.toFixed(1)} ms${h.foreignHits ? `, ${h.foreignHits} foreign hit(s) ignored` : ''}${joined}`,
    );
    if (h.fault) {
      const instr = h.fault.instruction ? ` ${h.fault.instruction}` : '';
      lines.push(`${pad(`${locationText(h.fault)}${instr}`)}// faults: ${h.signalName}`);
    }
    if (h.handler) lines.push(`${pad(`${locationText(h.handler)}`)}// handler${h.hostContext ? `, with PC: ${hex(h.hostContext.pc)}` : ''}`);
    lines.push(`${pad(`    guest exit`)}// ucontext PC now ${hex(h.guestContext.pc)}`);
    lines.push(`${pad(`${locationText(h.trampoline)}`)}// trampoline: rt_sigreturn`);
    const landInstr = h.landing.instruction ? ` ${h.landing.instruction}` : '';
    lines.push(`${pad(`${locationText(h.landing)}${landInstr}`)}// landed (= ucontext PC)`);
    if (i < hops.length - 1) lines.push('');
  });
  lines.push('```', '');
  if (unfinished) lines.push(...unfinishedLines(unfinished), '');
  return lines.join('\n');
}

/** What the Markdown needs of a hop that did not land (stepOverBluepill.ts: UnfinishedHop). */
export type UnfinishedHopText = Pick<Hop, 'threadId' | 'fault' | 'handler' | 'signalName' | 'signalNumber' | 'ucontextAddress' | 'hostContext'>;

function unfinishedLines(h: UnfinishedHopText): string[] {
  const out = [
    `Unfinished hop on thread ${h.threadId} (the guest did not exit): ${h.signalName} (${h.signalNumber}), ucontext ${hex(h.ucontextAddress)}`,
    '',
    '```',
  ];
  if (h.fault) out.push(`${`${locationText(h.fault)}${h.fault.instruction ? ` ${h.fault.instruction}` : ''}`.padEnd(44)} // faults: ${h.signalName}`);
  if (h.handler) out.push(`${locationText(h.handler).padEnd(44)} // handler`);
  if (h.hostContext) {
    for (const r of h.hostContext.registers) out.push(`    ${r.name.padEnd(8)} 0x${r.value.toString(16)}`);
  }
  out.push('```');
  return out;
}
