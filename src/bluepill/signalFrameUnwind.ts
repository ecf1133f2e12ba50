// The call stack through the signal frame, which Delve cannot walk (its trace stops at the
// handler, or goes on with garbage): a `<signal handler called>` frame, then the interrupted
// frame from the ucontext's PC, then its callers by frame pointer (amd64 RBP chain, arm64 X29
// chain), with the leaf's return address from [SP] (amd64) or LR (arm64) when it has no frame.
import type { ArchProfile } from './archProfile';
import { profileOfRegisters } from './archOf';
import type { BluepillDelve } from './bluepillDelve';
import { CodeReader } from './codeReader';
import { DelveSymbolizer } from './delveSymbolizer';
import type { MachineContext } from './machineContext';
import { frameAtHandlerEntry, frameAtTrampoline, frameByStackScan, isTrampolineAt, type SignalFrame } from './signalFrame';
import type { Symbolizer, SymbolRef } from './symbolizer';
import { ThreadRegisters } from './threadRegisters';

export type UnwoundFrameKind = 'signal-handler-called' | 'interrupted' | 'caller';

export interface UnwoundFrame {
  kind: UnwoundFrameKind;
  /** For the handler frame: the trampoline address. */
  pc: number;
  sp?: number;
  fp?: number;
  symbol?: SymbolRef;
  /** How the caller's PC was found. */
  source?: 'ucontext' | 'link-register' | 'stack-top' | 'frame-pointer';
  /** Display name: `<signal handler called>` or the symbol. */
  name: string;
}

export interface SignalFrameStack {
  frame: SignalFrame;
  frames: UnwoundFrame[];
  /** The interrupted registers (host context while the handler runs; guest context once rewritten). */
  context: MachineContext;
}

export interface UnwindOptions {
  arch?: ArchProfile;
  code?: CodeReader;
  symbolizer?: Symbolizer;
  /** Most caller frames after the interrupted one (default 32). */
  maxFrames?: number;
}

export const SIGNAL_HANDLER_CALLED = '<signal handler called>';

/**
 * For a thread inside the bluepill handler (or in its trampoline): the frames below the handler.
 * Undefined when no signal frame is found.
 */
export async function unwindThroughSignalFrame(
  delve: Pick<BluepillDelve, 'listRegisters' | 'examineMemory' | 'disassemble' | 'findLocation'>,
  threadId: number,
  options: UnwindOptions = {},
): Promise<SignalFrameStack | undefined> {
  const regs = new ThreadRegisters(await delve.listRegisters(threadId));
  const p = options.arch ?? profileOfRegisters(regs.raw);
  const code = options.code ?? new CodeReader(delve);
  const symbolizer = options.symbolizer ?? new DelveSymbolizer(delve);
  const pc = regs.pc(p);
  let frame: SignalFrame | undefined;
  if (await isTrampolineAt(code, p, pc)) frame = await frameAtTrampoline(delve, p, regs, pc);
  else if (await isTrampolineAt(code, p, pc - p.trampolineSyscallOffset)) frame = await frameAtTrampoline(delve, p, regs, pc - p.trampolineSyscallOffset);
  frame ??= await frameAtHandlerEntry(delve, code, p, regs).catch(() => undefined);
  frame ??= await frameByStackScan(delve, code, p, regs);
  if (!frame) return undefined;

  const ctx = frame.context;
  const frames: UnwoundFrame[] = [];
  const named = async (f: Omit<UnwoundFrame, 'name' | 'symbol'>): Promise<UnwoundFrame> => {
    const symbol = await symbolizer.symbolize(f.pc);
    return { ...f, symbol, name: symbol ? symbol.name : `0x${f.pc.toString(16)}` };
  };
  frames.push({ ...(await named({ kind: 'signal-handler-called', pc: frame.trampoline })), name: SIGNAL_HANDLER_CALLED });
  frames.push(await named({ kind: 'interrupted', pc: ctx.pc, sp: ctx.sp, fp: ctx.fp, source: 'ucontext' }));

  // Callers by frame pointer: [fp] = caller's fp, [fp+8] = return address (Go on amd64 and arm64 alike).
  const chain: Array<{ pc: number; fp: number }> = [];
  let fp = ctx.fp;
  const max = options.maxFrames ?? 32;
  while (chain.length < max && fp > 0 && Number.isFinite(fp) && fp % 8 === 0) {
    const mem = await delve.examineMemory(fp, 16).catch(() => undefined);
    if (!mem) break;
    const nextFp = Number(mem.readBigUInt64LE(0));
    const ret = Number(mem.readBigUInt64LE(8));
    if (ret === 0) break;
    chain.push({ pc: ret, fp });
    if (nextFp <= fp) break;
    fp = nextFp;
  }

  // A leaf without a frame (kvm.bluepill is NOFRAME): its return address is in LR / at [SP].
  let leafReturn: number | undefined;
  if (p.returnAddressAtEntry === 'lr') leafReturn = ctx.lr;
  else if (ctx.sp > 0) {
    const top = await delve.examineMemory(ctx.sp, 8).catch(() => undefined);
    if (top) leafReturn = Number(top.readBigUInt64LE(0));
  }
  if (leafReturn !== undefined && leafReturn > 0 && leafReturn !== chain[0]?.pc) {
    const sym = await symbolizer.symbolize(leafReturn);
    const interrupted = frames[1].symbol?.name;
    if (sym && sym.offset > 0 && sym.name !== interrupted) {
      frames.push({ kind: 'caller', pc: leafReturn, symbol: sym, name: sym.name, source: p.returnAddressAtEntry === 'lr' ? 'link-register' : 'stack-top' });
    }
  }
  for (const c of chain) frames.push(await named({ kind: 'caller', pc: c.pc, fp: c.fp, source: 'frame-pointer' }));
  return { frame, frames, context: ctx };
}
