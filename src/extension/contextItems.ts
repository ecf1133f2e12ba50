// Rows of the Host / Guest context views, built from the wire shape. Pure (no vscode import) so
// the labels and markings are unit-tested.
import type { WireContext, WireHop } from '../protocol/bluepillMessages';

export interface ContextRow {
  /** Register name or field label (PC, SP, LR, flags). */
  label: string;
  value: string;
  /** `0x4c24e5 · kvm.bluepill+0x5 · changed`. */
  description: string;
  tooltip: string;
  changed: boolean;
  /** Address-like values get "Open Disassembly". */
  isAddress: boolean;
}

export function contextRows(ctx: WireContext | undefined): ContextRow[] {
  if (!ctx) return [];
  const rows: ContextRow[] = [];
  const byName = new Map(ctx.registers.map((r) => [r.name, r]));
  const named = (label: string, value: string, regNames: string[]): ContextRow => {
    const reg = regNames.map((n) => byName.get(n)).find((r) => r !== undefined);
    const changed = reg?.changed ?? false;
    const parts = [value, reg?.symbol, changed ? 'changed' : undefined].filter(Boolean);
    return {
      label,
      value,
      description: parts.join(' · '),
      tooltip: `${label} = ${value}${reg?.symbol ? ` (${reg.symbol})` : ''}${changed ? '\nDiffers between host and guest context' : ''}`,
      changed,
      isAddress: true,
    };
  };
  rows.push(named('PC', ctx.pc, ['Rip', 'PC']));
  rows.push(named('SP', ctx.sp, ['Rsp', 'SP']));
  if (ctx.lr) rows.push(named('LR', ctx.lr, ['X30']));
  const flagsReg = byName.get('Rflags') ?? byName.get('PSTATE');
  rows.push({
    label: 'flags',
    value: ctx.flags,
    description: `${ctx.flags} ${ctx.flagsText}${flagsReg?.changed ? ' · changed' : ''}`,
    tooltip: `${flagsReg?.name ?? 'flags'} = ${ctx.flags}\n${ctx.flagsText}`,
    changed: flagsReg?.changed ?? false,
    isAddress: false,
  });
  for (const r of ctx.registers) {
    if (['Rip', 'PC', 'Rsp', 'SP', 'Rflags', 'PSTATE'].includes(r.name)) continue;
    const parts = [r.value, r.symbol, r.changed ? 'changed' : undefined].filter(Boolean);
    rows.push({
      label: r.name,
      value: r.value,
      description: parts.join(' · '),
      tooltip: `${r.name} = ${r.value}${r.symbol ? ` (${r.symbol})` : ''}${r.changed ? '\nDiffers between host and guest context' : ''}`,
      changed: r.changed,
      isAddress: r.symbol !== undefined,
    });
  }
  return rows;
}

export interface HopRow {
  label: string;
  description: string;
  children: Array<{ label: string; description: string; address?: string }>;
}

export function hopRow(hop: WireHop): HopRow {
  const from = hop.fault ?? hop.handler ?? hop.trampoline;
  const children: HopRow['children'] = [];
  if (hop.fault)
    children.push({
      label: 'fault',
      description: `${hop.fault.text}${hop.fault.instruction ? `  ${hop.fault.instruction}` : ''} → ${hop.signal}`,
      address: hop.fault.pc,
    });
  if (hop.handler) children.push({ label: 'handler', description: hop.handler.text, address: hop.handler.pc });
  children.push({ label: 'ucontext', description: hop.ucontext });
  children.push({
    label: 'guest ran',
    description: `${hop.guestMs.toFixed(1)} ms${hop.foreignHits ? ` · ${hop.foreignHits} other-thread hit(s) ignored` : ''}`,
  });
  children.push({ label: 'trampoline', description: `${hop.trampoline.text} (rt_sigreturn)`, address: hop.trampoline.pc });
  children.push({
    label: 'landing',
    description: `${hop.landing.text}${hop.landing.instruction ? `  ${hop.landing.instruction}` : ''}`,
    address: hop.landing.pc,
  });
  return {
    label: `#${hop.index} thread ${hop.threadId}`,
    description: `${from.text} → ${hop.landing.text}`,
    children,
  };
}
