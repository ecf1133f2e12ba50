// One instruction step that never breaks a sandbox (docs/architecture.md §3.2, rules 1–4):
// - a syscall other than the trampoline's rt_sigreturn is not single-stepped (seccomp's SIGSYS
//   would be delayed and the call skipped; a blocking call never returns with the other threads
//   stopped): a temporary breakpoint after it, then a continue filtered by thread;
// - a call into code Delve has no symbols for (the vDSO clock functions retry forever under
//   single-step) is stepped over the same way; a thread already inside such code leaves it by
//   its return address;
// - every stepInstruction has a timeout: on expiry the target is halted and the thread reported
//   stuck. Waits show progress after a second and are cancellable; the breakpoint is removed in
//   every outcome.
import { DelveTimeoutError } from '../delve/delveErrors';
import { restartCodeIn } from '../linux/syscallRestart';
import type { DebuggerState } from '../delve/delveTypes';
import { syscallName, type ArchProfile, type Instruction } from './archProfile';
import { profileOfRegisters } from './archOf';
import type { BluepillDelve } from './bluepillDelve';
import { CodeReader } from './codeReader';
import { DelveSymbolizer } from './delveSymbolizer';
import { hex } from './machineContext';
import { ResumeGate } from './resumeGate';
import { runToBreakpoint, threadIn } from './breakpointWait';
import { isTrampolineAt } from './signalFrame';
import { formatSymbol, shortFunctionName, type Symbolizer, type SymbolRef } from './symbolizer';
import { ThreadRegisters } from './threadRegisters';

/** A mapping's name from /proc/PID/maps (`[vdso]+0x…`, the adapter's fallback) is not a symbol of code Delve knows. */
export const isKnownCode = (s: SymbolRef | undefined): boolean => s !== undefined && !s.name.startsWith('[');

export interface SafeStepOptions {
  arch?: ArchProfile;
  code?: CodeReader;
  symbolizer?: Symbolizer;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
  /** Timeout of the stepInstruction (default 10 s). */
  stepTimeoutMs?: number;
  /** First progress line after this long, then every interval (default 1 s). */
  progressIntervalMs?: number;
  /**
   * Where no breakpoint may go (code that only runs in guest mode, a faulting instruction: see
   * codeKinds.ts). When the instruction after a syscall is such code, the breakpoint goes on the
   * return address instead, or the step is refused.
   */
  noBreakpointAt?: (addr: number) => boolean | Promise<boolean>;
  /** The session's resume gate (one halt per resume); default: one of the step's own. */
  gate?: ResumeGate;
}

export type SafeStepKind =
  | 'stepped'
  | 'stepped-over-syscall'
  /** The thread was inside a syscall (PC after it): it returned onto our breakpoint. */
  | 'waited-for-syscall'
  | 'stepped-over-call'
  | 'left-unknown-code'
  | 'refused'
  | 'cancelled'
  | 'stuck'
  | 'exited';

export interface SafeStepResult {
  threadId: number;
  fromPc: number;
  pc: number;
  kind: SafeStepKind;
  /** For the stopped event, e.g. `stepped over syscall futex (202) with a breakpoint`. */
  description: string;
  instruction?: Instruction;
  syscall?: StepSyscall;
  /** Stops of other threads at our breakpoint, ignored. */
  foreignHits: number;
}

/** The decision, before anything runs (also used to tell the user what a step will do). */
export type StepPlan =
  | { kind: 'single-step'; instruction: Instruction | undefined; reason: 'plain' | 'rt_sigreturn' }
  | {
      kind: 'breakpoint';
      instruction: Instruction | undefined;
      at: number;
      why: 'syscall' | 'in-syscall' | 'call-unknown' | 'leave-unknown';
      syscall?: StepSyscall;
      target?: number;
      /** The plain instruction after a syscall that the thread runs before the breakpoint stops it (see syscallReturnStop). */
      past?: Instruction;
    }
  | { kind: 'refuse'; instruction: Instruction | undefined; message: string };

export async function planStep(
  delve: Pick<BluepillDelve, 'listRegisters' | 'examineMemory' | 'disassemble' | 'findLocation'>,
  p: ArchProfile,
  regs: ThreadRegisters,
  code: CodeReader,
  symbolizer: Symbolizer,
  noBreakpointAt: (addr: number) => boolean | Promise<boolean> = () => false,
): Promise<StepPlan> {
  const isGuestCode = async (addr: number): Promise<boolean> => await noBreakpointAt(addr);
  const pc = regs.pc(p);
  const insn = await code.instructionAt(pc, p.maxInstructionLength).catch(() => undefined);
  const here = await symbolizer.symbolize(pc);
  // The vDSO's rt_sigreturn trampoline is single-stepped (the instruction step handles its SVC).
  const atTrampoline = async (): Promise<boolean> => (await isTrampolineAt(code, p, pc)) || (await isTrampolineAt(code, p, pc - p.trampolineSyscallOffset));
  if (!isKnownCode(here) && !(await atTrampoline())) {
    // Inside code Delve knows nothing of (the vDSO): leave by the return address.
    const ret = await returnAddress(delve, p, regs, symbolizer);
    if (ret !== undefined && !(await isGuestCode(ret))) return { kind: 'breakpoint', instruction: insn, at: ret, why: 'leave-unknown' };
    return {
      kind: 'refuse',
      instruction: insn,
      message: `thread is at ${hex(pc)} in code without symbols and no return address is known; not single-stepping it`,
    };
  }
  const inSyscall = await stoppedInSyscall(p, regs, code, pc);
  if (inSyscall) {
    // Stopped inside a syscall (e.g. right after attach, in futex()): a step would wait for it with
    // every other thread stopped. Let it return by itself onto a breakpoint at its return PC.
    const stop = await syscallReturnStop(p, code, pc, isGuestCode);
    if (stop) return { kind: 'breakpoint', instruction: insn, ...stop, why: 'in-syscall', syscall: inSyscall };
    return {
      kind: 'refuse',
      instruction: insn,
      message: `thread is inside syscall ${inSyscall.name} (${inSyscall.number}) returning to guest code at ${hex(pc)}; continue instead`,
    };
  }
  if (!insn) return { kind: 'single-step', instruction: insn, reason: 'plain' };
  const next = pc + insn.bytes.length;
  if (p.isSyscallInstruction(insn.bytes)) {
    if (await isTrampolineAt(code, p, pc - p.trampolineSyscallOffset)) return { kind: 'single-step', instruction: insn, reason: 'rt_sigreturn' };
    const nr = Number(regs.value(p.syscallNumberRegister));
    const syscall = { number: nr, name: syscallName(p, nr) };
    const stop = await syscallReturnStop(p, code, next, isGuestCode);
    if (stop) return { kind: 'breakpoint', instruction: insn, ...stop, why: 'syscall', syscall };
    const ret = await returnAddress(delve, p, regs, symbolizer);
    if (ret !== undefined && !(await isGuestCode(ret))) return { kind: 'breakpoint', instruction: insn, at: ret, why: 'syscall', syscall };
    return {
      kind: 'refuse',
      instruction: insn,
      message: `syscall ${syscall.name} (${nr}) at ${hex(pc)}: the code after it runs in guest mode, so no breakpoint can go there; continue instead`,
    };
  }
  if (p.isCall(insn)) {
    let target = insn.dest;
    const reg = p.indirectCallRegister(insn);
    if (target === undefined && reg) target = Number(regs.value(reg));
    if (target !== undefined && target > 0 && !isKnownCode(await symbolizer.symbolize(target)) && !(await isGuestCode(next))) {
      return { kind: 'breakpoint', instruction: insn, at: next, why: 'call-unknown', target };
    }
  }
  return { kind: 'single-step', instruction: insn, reason: 'plain' };
}

/**
 * Where a wait for a syscall that returns to `ret` puts its breakpoint. Not on `ret` itself where
 * that can be helped: every thread blocked in the same syscall instruction (all of runtime.futex's
 * sleepers) has its PC at `ret`. Delve's halt is a SIGTRAP to the process, which the kernel gives
 * to the main thread, often one of those sleepers; Delve 1.20 then takes that thread for a hit of
 * the breakpoint at its PC and single-steps it on the next resume, back into the blocking call,
 * and never answers again (go-delve/delve pkg/proc/native/proc_linux.go stop1, proc.go resume).
 * One plain instruction later no thread can be parked in a syscall, so the breakpoint goes there
 * and the thread runs that instruction too. A branch or return right after the syscall leaves
 * `ret` (and the wait's check that the thread really returned).
 */
async function syscallReturnStop(
  p: ArchProfile,
  code: CodeReader,
  ret: number,
  isGuestCode: (addr: number) => Promise<boolean>,
): Promise<{ at: number; past?: Instruction } | undefined> {
  if (await isGuestCode(ret)) return undefined;
  const after = await code.instructionAt(ret, p.maxInstructionLength).catch(() => undefined);
  if (after && !p.isControlTransfer(after) && !(await isGuestCode(ret + after.bytes.length))) return { at: ret + after.bytes.length, past: after };
  return { at: ret };
}

/** Whether a thread stopped at a syscall's return address is still inside the call (a restart code in its return register). */
async function stillInSyscall(delve: Pick<BluepillDelve, 'listRegisters'>, p: ArchProfile, tid: number): Promise<boolean> {
  const regs = new ThreadRegisters(await delve.listRegisters(tid));
  try {
    return restartCodeIn(regs.value(p.name === 'amd64' ? 'Rax' : 'X0')) !== undefined;
  } catch {
    return false;
  }
}

/** A syscall the step is about; `restart` is set for one a stopped thread is inside (ERESTARTSYS…). */
export interface StepSyscall {
  number: number;
  name: string;
  restart?: string;
}

/**
 * A thread stopped inside a syscall (by attach or halt) has its PC just after the syscall
 * instruction and a restart code in the return register (amd64 RAX, arm64 X0); when resumed, the
 * kernel re-executes the syscall. The number: arm64 X8; amd64 from `MOVQ/MOVL $nr, AX` just before
 * the SYSCALL (Delve does not show orig_rax).
 */
async function stoppedInSyscall(p: ArchProfile, regs: ThreadRegisters, code: CodeReader, pc: number): Promise<StepSyscall | undefined> {
  const len = p.name === 'amd64' ? 2 : 4;
  const before = await code.bytesAt(pc - len, len).catch(() => undefined);
  if (!before || !p.isSyscallInstruction(before)) return undefined;
  let restart: string | undefined;
  try {
    restart = restartCodeIn(regs.value(p.name === 'amd64' ? 'Rax' : 'X0'));
  } catch {
    return undefined;
  }
  if (!restart) return undefined;
  let nr = -1;
  if (p.name === 'arm64') nr = Number(regs.value(p.syscallNumberRegister));
  else {
    const mov = await code.bytesAt(pc - 9, 7).catch(() => undefined);
    if (mov && mov[0] === 0x48 && mov[1] === 0xc7 && mov[2] === 0xc0) nr = mov.readInt32LE(3);
    else if (mov && mov[2] === 0xb8) nr = mov.readInt32LE(3);
  }
  return { number: nr, name: nr >= 0 ? syscallName(p, nr) : 'of unknown number', restart };
}

/** Stack words looked at for a return address: the frames of small leaf code such as the vDSO clock functions. */
const RETURN_ADDRESS_SCAN_BYTES = 256;

/**
 * Where the code the thread is in returns to: arm64 LR, else (amd64, or LR already reused) the
 * first word up the stack from SP — at a function's entry that is [SP] itself; deeper inside,
 * after pushes — that points into known code right after a call instruction.
 */
async function returnAddress(
  delve: Pick<BluepillDelve, 'examineMemory'>,
  p: ArchProfile,
  regs: ThreadRegisters,
  symbolizer: Symbolizer,
): Promise<number | undefined> {
  const isReturnAddress = async (addr: number): Promise<boolean> => {
    if (!(addr > 0)) return false;
    const sym = await symbolizer.symbolize(addr);
    if (!isKnownCode(sym) || !(sym!.offset > 0)) return false;
    const before = await delve.examineMemory(addr - 8, 8).catch(() => undefined);
    return before !== undefined && p.endsWithCall(before);
  };
  if (p.lrRegister) {
    const lr = regs.address(p.lrRegister);
    if (await isReturnAddress(lr)) return lr;
  }
  const stack = await delve.examineMemory(regs.sp(p), RETURN_ADDRESS_SCAN_BYTES).catch(() => undefined);
  for (let off = 0; stack && off + 8 <= stack.length; off += 8) {
    const word = Number(stack.readBigUInt64LE(off));
    if (await isReturnAddress(word)) return word;
  }
  return undefined;
}

export async function safeStepInstruction(delve: BluepillDelve, threadId: number, options: SafeStepOptions = {}): Promise<SafeStepResult> {
  const regs = new ThreadRegisters(await delve.listRegisters(threadId));
  const p = options.arch ?? profileOfRegisters(regs.raw);
  const code = options.code ?? new CodeReader(delve);
  const symbolizer = options.symbolizer ?? new DelveSymbolizer(delve);
  const fromPc = regs.pc(p);
  const plan = await planStep(delve, p, regs, code, symbolizer, options.noBreakpointAt);
  const gate = options.gate ?? new ResumeGate(delve);
  const base = { threadId, fromPc, instruction: plan.instruction, foreignHits: 0 };
  if (plan.kind === 'refuse') return { ...base, pc: fromPc, kind: 'refused', description: plan.message };
  if (plan.kind === 'single-step') {
    const stepped = await stepWithTimeout(delve, threadId, fromPc, options.stepTimeoutMs ?? 10_000, gate);
    return { ...base, ...stepped };
  }
  const what =
    plan.why === 'syscall' || plan.why === 'in-syscall'
      ? `syscall ${plan.syscall!.name} (${plan.syscall!.number})`
      : plan.why === 'call-unknown'
        ? `a call into code without symbols (${hex(plan.target!)}, e.g. the vDSO)`
        : `code without symbols at ${hex(fromPc)}`;
  const where = plan.past
    ? ` after the next instruction (${plan.past.text})`
    : plan.at === fromPc + (plan.instruction?.bytes.length ?? 0) || plan.why === 'in-syscall'
      ? ''
      : ` at its return address ${hex(plan.at)}`;
  // On the syscall's own return address a thread still inside the call has its PC there too.
  const atSyscallReturn = plan.syscall !== undefined && !plan.past;
  const ran = await runToBreakpoint(delve, threadId, plan.at, {
    ...options,
    gate,
    waitingFor: plan.why === 'leave-unknown' ? `thread ${threadId} to leave ${what}` : `thread ${threadId} to return from ${what}`,
    ...(atSyscallReturn ? { accept: async (th: { id: number }) => !(await stillInSyscall(delve, p, th.id)) } : {}),
  });
  const kind: SafeStepKind =
    plan.why === 'in-syscall'
      ? 'waited-for-syscall'
      : plan.why === 'syscall'
        ? 'stepped-over-syscall'
        : plan.why === 'call-unknown'
          ? 'stepped-over-call'
          : 'left-unknown-code';
  if (ran.outcome !== 'arrived') {
    // Cancelled before the continue: the thread never moved.
    return {
      ...base,
      syscall: plan.syscall,
      pc: Number.isNaN(ran.pc) ? fromPc : ran.pc,
      kind: ran.outcome,
      description: ran.message,
      foreignHits: ran.foreignHits,
    };
  }
  const verb =
    plan.why === 'leave-unknown'
      ? `left ${what}`
      : plan.why === 'in-syscall'
        ? `the thread was inside ${what}: waited for it to return`
        : `stepped over ${what}`;
  const landed = formatSymbol(ran.pc, shortenSym(await symbolizer.symbolize(ran.pc)));
  return {
    ...base,
    syscall: plan.syscall,
    pc: ran.pc,
    kind,
    description: `${verb} with a breakpoint${where}; now at ${hex(ran.pc)} ${landed}`,
    foreignHits: ran.foreignHits,
  };
}

function shortenSym(s: { name: string; offset: number } | undefined): { name: string; offset: number } | undefined {
  return s ? { name: shortFunctionName(s.name), offset: s.offset } : undefined;
}

/** One Delve single step of `tid` with a timeout; on expiry the target is halted (once) and the step reported stuck. */
export async function stepWithTimeout(
  delve: Pick<BluepillDelve, 'switchThread' | 'stepInstruction' | 'halt'>,
  tid: number,
  fromPc: number,
  timeoutMs: number,
  gate: ResumeGate = new ResumeGate(delve),
): Promise<{ pc: number; kind: SafeStepKind; description: string }> {
  await delve.switchThread(tid);
  let st: DebuggerState;
  let stuck: string | undefined;
  try {
    ({ state: st } = await gate.resume(async () => {
      try {
        return await delve.stepInstruction({ threadID: tid, timeoutMs });
      } catch (e) {
        if (e instanceof DelveTimeoutError) stuck = await haltAfterStuckStep(gate, tid, fromPc, timeoutMs);
        throw e;
      }
    }));
  } catch (e) {
    if (stuck !== undefined) return { pc: fromPc, kind: 'stuck', description: stuck };
    throw e;
  }
  if (st.exited) return { pc: fromPc, kind: 'exited', description: `the process exited during a step of thread ${tid}` };
  const th = threadIn(st, tid);
  const pc = th?.pc ?? fromPc;
  return { pc, kind: 'stepped', description: `stepped one instruction: ${hex(fromPc)} → ${hex(pc)}` };
}

/**
 * After a stepInstruction timed out: halt (through the gate, while the step is still in flight),
 * and say whether Delve is still usable. A step into a blocking syscall keeps Delve 1.20's
 * single-step loop waiting; then halt gets no answer either and only restarting Delve (the target
 * keeps running) brings the session back.
 */
export async function haltAfterStuckStep(gate: Pick<ResumeGate, 'halt'>, tid: number, pc: number, timeoutMs: number): Promise<string> {
  const stuck = `thread ${tid} stuck in the instruction at PC ${hex(pc)} (no answer in ${timeoutMs} ms)`;
  try {
    await gate.halt({ timeoutMs: 3000 });
    return `${stuck}; the target was halted`;
  } catch {
    return `${stuck}; Delve does not answer a halt either: restart the debug session (Delve must be stopped; the sandbox keeps running)`;
  }
}
