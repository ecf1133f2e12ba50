// Trampoline-aware instruction step: one instruction on one thread, told in bluepill terms.
// - the trampoline's rt_sigreturn syscall: single-stepped (the one syscall that is safe to), and
//   the result says where the thread landed and whether that is the PC the signal interrupted;
// - a faulting privileged instruction: the step enters the handler; the result says so and that
//   step over bluepill is available;
// - anything else goes through the safe step (syscalls and vDSO calls by breakpoint, timeouts).
import type { ArchProfile, Instruction } from './archProfile';
import { profileOfRegisters } from './archOf';
import type { BluepillDelve } from './bluepillDelve';
import { CodeReader } from './codeReader';
import { DelveSymbolizer } from './delveSymbolizer';
import type { MachineContext } from './machineContext';
import { hex } from './machineContext';
import { safeStepInstruction, stepWithTimeout, type SafeStepKind, type SafeStepOptions } from './safeStep';
import { ResumeGate } from './resumeGate';
import { frameAtHandlerEntry, frameAtTrampoline, isTrampolineAt } from './signalFrame';
import { formatSymbol, shortFunctionName } from './symbolizer';
import { ThreadRegisters } from './threadRegisters';

/** What the session learned at handler entries: ucontext address → the PC the signal interrupted. */
export class SignalFrameMemory {
  private readonly interrupted = new Map<string, number>();

  remember(threadId: number, ucontextAddress: number, pc: number): void {
    this.interrupted.set(`${threadId}:${ucontextAddress}`, pc);
  }

  interruptedPc(threadId: number, ucontextAddress: number): number | undefined {
    return this.interrupted.get(`${threadId}:${ucontextAddress}`);
  }

  forget(threadId: number, ucontextAddress: number): void {
    this.interrupted.delete(`${threadId}:${ucontextAddress}`);
  }
}

export interface SigreturnReport {
  ucontextAddress: number;
  landedPc: number;
  /** The PC rt_sigreturn was told to restore (the ucontext's). */
  ucontextPc: number;
  /** The PC the signal interrupted, when this session saw the handler entry. */
  interruptedPc: number | undefined;
  /** landed ≠ interrupted (the handler rewrote the ucontext: a bluepill). Undefined when not known. */
  differsFromInterrupted: boolean | undefined;
  guestContext: MachineContext;
}

export interface HandlerEntryReport {
  faultPc: number;
  instruction: string;
  signalNumber: number;
  signalName: string;
  ucontextAddress: number;
  trampoline: number;
  hostContext: MachineContext;
  /** Always true: the thread is where step over bluepill starts from. */
  stepOverBluepillAvailable: true;
}

export type InstructionStepKind = SafeStepKind | 'rt_sigreturn' | 'entered-handler';

export interface InstructionStepResult {
  threadId: number;
  fromPc: number;
  pc: number;
  kind: InstructionStepKind;
  description: string;
  instruction?: Instruction;
  sigreturn?: SigreturnReport;
  handlerEntry?: HandlerEntryReport;
  /** The syscall stepped over (safe step). */
  syscall?: { number: number; name: string };
  foreignHits: number;
}

export interface InstructionStepOptions extends SafeStepOptions {
  memory?: SignalFrameMemory;
}

export async function stepInstructionAware(delve: BluepillDelve, threadId: number, options: InstructionStepOptions = {}): Promise<InstructionStepResult> {
  const regs = new ThreadRegisters(await delve.listRegisters(threadId));
  const p: ArchProfile = options.arch ?? profileOfRegisters(regs.raw);
  const code = options.code ?? new CodeReader(delve);
  const symbolizer = options.symbolizer ?? new DelveSymbolizer(delve);
  const gate = options.gate ?? new ResumeGate(delve);
  const shared = { ...options, arch: p, code, symbolizer, gate };
  const fromPc = regs.pc(p);
  const insn = await code.instructionAt(fromPc, p.maxInstructionLength).catch(() => undefined);
  const where = async (pc: number): Promise<string> => {
    const s = await symbolizer.symbolize(pc);
    return `${hex(pc)} ${formatSymbol(pc, s ? { name: shortFunctionName(s.name), offset: s.offset } : undefined)}`;
  };

  if (insn && p.isSyscallInstruction(insn.bytes) && (await isTrampolineAt(code, p, fromPc - p.trampolineSyscallOffset))) {
    const frame = await frameAtTrampoline(delve, p, regs, fromPc - p.trampolineSyscallOffset);
    const stepped = await stepWithTimeout(delve, threadId, fromPc, options.stepTimeoutMs ?? 10_000, gate);
    if (stepped.kind !== 'stepped')
      return { threadId, fromPc, pc: stepped.pc, kind: stepped.kind, description: stepped.description, instruction: insn, foreignHits: 0 };
    const landed = stepped.pc;
    if (!frame) {
      return {
        threadId,
        fromPc,
        pc: landed,
        kind: 'rt_sigreturn',
        instruction: insn,
        foreignHits: 0,
        description: `rt_sigreturn: landed at ${await where(landed)}`,
      };
    }
    const interrupted = options.memory?.interruptedPc(threadId, frame.ucontextAddress);
    options.memory?.forget(threadId, frame.ucontextAddress);
    const differs = interrupted === undefined ? undefined : interrupted !== landed;
    let description: string;
    if (differs === true)
      description = `rt_sigreturn: landed at ${await where(landed)}, not at the interrupted PC ${await where(interrupted!)} — the handler rewrote the ucontext`;
    else if (differs === false) description = `rt_sigreturn: resumed the interrupted PC ${await where(landed)}`;
    else description = `rt_sigreturn: landed at ${await where(landed)} (the PC in the ucontext)`;
    if (landed !== frame.context.pc) description += `; the ucontext said ${hex(frame.context.pc)}`;
    return {
      threadId,
      fromPc,
      pc: landed,
      kind: 'rt_sigreturn',
      instruction: insn,
      foreignHits: 0,
      description,
      sigreturn: {
        ucontextAddress: frame.ucontextAddress,
        landedPc: landed,
        ucontextPc: frame.context.pc,
        interruptedPc: interrupted,
        differsFromInterrupted: differs,
        guestContext: frame.context,
      },
    };
  }

  if (insn && p.privilegedInstruction(insn.bytes)) {
    const stepped = await stepWithTimeout(delve, threadId, fromPc, options.stepTimeoutMs ?? 10_000, gate);
    if (stepped.kind !== 'stepped')
      return { threadId, fromPc, pc: stepped.pc, kind: stepped.kind, description: stepped.description, instruction: insn, foreignHits: 0 };
    const after = new ThreadRegisters(await delve.listRegisters(threadId));
    const frame = await frameAtHandlerEntry(delve, code, p, after).catch(() => undefined);
    if (frame && frame.context.pc === fromPc) {
      options.memory?.remember(threadId, frame.ucontextAddress, fromPc);
      return {
        threadId,
        fromPc,
        pc: stepped.pc,
        kind: 'entered-handler',
        instruction: insn,
        foreignHits: 0,
        description: `${insn.text} at ${await where(fromPc)} faulted (${p.signalName}) into the handler at ${await where(stepped.pc)}; step over bluepill is available`,
        handlerEntry: {
          faultPc: fromPc,
          instruction: insn.text,
          signalNumber: p.signalNumber,
          signalName: p.signalName,
          ucontextAddress: frame.ucontextAddress,
          trampoline: frame.trampoline,
          hostContext: frame.context,
          stepOverBluepillAvailable: true,
        },
      };
    }
    return {
      threadId,
      fromPc,
      pc: stepped.pc,
      kind: 'stepped',
      instruction: insn,
      foreignHits: 0,
      description: `stepped ${insn.text} at ${hex(fromPc)} → ${hex(stepped.pc)} (it did not fault)`,
    };
  }

  const safe = await safeStepInstruction(delve, threadId, shared);
  return { ...safe };
}
