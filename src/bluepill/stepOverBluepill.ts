// Step over bluepill: from a thread before/at the faulting instruction, in the handler or in the
// trampoline, run until rt_sigreturn resumes it at the guest exit — following chains of hops —
// and record every hop. Rules (each broke a real sandbox; docs/architecture.md §3):
// - no software breakpoint on the faulting instruction, none in code that runs in guest mode:
//   we single-step into the handler and break only on the trampoline (host code), found from
//   the handler's return address, never by name;
// - other vCPU threads hit that breakpoint too: filter by thread id and continue;
// - the guest may run for minutes: progress every second, cancellable (halt, thread left where
//   it is); every breakpoint we create is removed in every outcome.
import { DelveTimeoutError } from '../delve/delveErrors';
import type { DebuggerState } from '../delve/delveTypes';
import type { ArchProfile, Instruction } from './archProfile';
import { profileOfRegisters } from './archOf';
import type { BluepillDelve } from './bluepillDelve';
import { CodeReader } from './codeReader';
import { DelveSymbolizer } from './delveSymbolizer';
import { haltAfterStuckStep } from './safeStep';
import { ResumeGate } from './resumeGate';
import { runToBreakpoint, TemporaryBreakpoint, threadIn } from './breakpointWait';
import { describeHops, locationText, type CodeLocation, type Hop } from './hop';
import type { MachineContext } from './machineContext';
import { hex } from './machineContext';
import { frameAtHandlerEntry, frameAtTrampoline, frameByStackScan, isTrampolineAt, type SignalFrame } from './signalFrame';
import type { Symbolizer } from './symbolizer';
import { ThreadRegisters } from './threadRegisters';

export interface StepOverOptions {
  /** Longest chain followed (default 8). */
  maxHops?: number;
  /** Pause / cancel: halts the target and leaves the thread where it is. */
  signal?: AbortSignal;
  /** Progress lines, e.g. "waiting for the guest to exit on thread 4989: 12 s". */
  onProgress?: (message: string) => void;
  /** Default: told from the thread's register names. */
  arch?: ArchProfile;
  /** Default: a DelveSymbolizer over `delve` (pass one to share its cache between steps). */
  symbolizer?: Symbolizer;
  /** Default: a new one (pass one to share its per-PC cache between steps). */
  code?: CodeReader;
  /** Timeout of each stepInstruction (default 10 s). */
  stepTimeoutMs?: number;
  progressIntervalMs?: number;
  /** Most instructions single-stepped from a pre-fault PC to the fault (default 16). */
  maxStepsToFault?: number;
  /** The session's resume gate (one halt per resume); default: one of this step's own. */
  gate?: ResumeGate;
  /** Delve's current thread, when the caller knows it (saves a switchThread). */
  currentThread?: number;
}

export type StartPoint = 'before-fault' | 'at-fault' | 'handler-entry' | 'in-handler' | 'trampoline';

export type StepOverStopReason =
  /** Landed on an instruction that does not fault. */
  | 'landed'
  /** maxHops reached and the landing instruction faults again. */
  | 'max-hops'
  | 'cancelled'
  | 'not-in-bluepill'
  /** A stepInstruction did not return in time; the target was halted. */
  | 'stuck'
  | 'exited'
  /** Something did not go as the bluepill flow says it must (message in description). */
  | 'unexpected';

export interface StepOverResult {
  threadId: number;
  startedAt: StartPoint | undefined;
  hops: Hop[];
  /** The last landing (where rt_sigreturn resumed the thread). */
  landing: CodeLocation | undefined;
  /** Where the thread is now. */
  pc: number;
  stopReason: StepOverStopReason;
  /** One line for the stopped event. */
  description: string;
  /** Stops of other threads at our breakpoints (and nested signal returns of ours), all ignored. */
  foreignHits: number;
  /** Every landing PC equalled the PC the handler wrote into the ucontext. */
  landingsMatched: boolean;
  /** A hop that did not land (cancelled while the guest ran, stuck…): what was read of it. */
  unfinished?: UnfinishedHop;
}

/** A hop that stopped before rt_sigreturn: the fault and the host context are known, the guest's not. */
export type UnfinishedHop = Omit<Hop, 'guestContext' | 'landing' | 'trampoline'> & { trampoline?: CodeLocation };

class Stop extends Error {
  constructor(
    readonly reason: StepOverStopReason,
    message: string,
    readonly pc: number,
  ) {
    super(message);
  }
}

interface Located {
  start: StartPoint;
  /** before-fault: the faulting instruction ahead; at-fault: the one at PC. */
  fault?: Instruction;
  stepsToFault?: number[];
  frame?: SignalFrame;
}

/** Where a hop stands once the thread is in the handler with a known signal frame. */
interface HopInProgress {
  fault?: CodeLocation;
  handler?: CodeLocation;
  host?: MachineContext;
  frame: SignalFrame;
  joinedAt?: 'handler' | 'trampoline';
}

export function stepOverBluepill(delve: BluepillDelve, threadId: number, options: StepOverOptions = {}): Promise<StepOverResult> {
  return new StepOverRun(delve, threadId, options).run();
}

/**
 * Where step over bluepill would start from on this thread, without moving it (reads only): for
 * showing the toolbar button. Undefined when the thread is nowhere near a bluepill.
 */
export function bluepillStartPoint(
  delve: BluepillDelve,
  threadId: number,
  options: Pick<StepOverOptions, 'arch' | 'code' | 'symbolizer' | 'maxStepsToFault'> = {},
): Promise<StartPoint | undefined> {
  return new StepOverRun(delve, threadId, options).classify();
}

class StepOverRun {
  private p!: ArchProfile;
  private readonly code: CodeReader;
  private readonly symbolizer: Symbolizer;
  private readonly hops: Hop[] = [];
  /** The breakpoint on the trampoline's syscall, kept for every hop of a chain. */
  private trampolineBreakpoint: TemporaryBreakpoint | undefined;
  private readonly gate: ResumeGate;
  private foreignHits = 0;
  private landingsMatched = true;
  private currentThread: number | undefined;
  private lastPc = 0;
  private startedAt: StartPoint | undefined;
  /** The hop under way, for the result when it does not land. */
  private current: HopInProgress | undefined;

  constructor(
    private readonly delve: BluepillDelve,
    private readonly tid: number,
    private readonly o: StepOverOptions,
  ) {
    this.code = o.code ?? new CodeReader(delve);
    this.symbolizer = o.symbolizer ?? new DelveSymbolizer(delve);
    this.gate = o.gate ?? new ResumeGate(delve);
    this.currentThread = o.currentThread;
  }

  async run(): Promise<StepOverResult> {
    try {
      return await this.body();
    } catch (e) {
      if (e instanceof Stop) return this.result(e.reason, e.message, e.pc);
      const msg = e instanceof Error ? e.message : String(e);
      return this.result('unexpected', `bluepill: step over failed on thread ${this.tid}: ${msg}`, this.lastPc);
    } finally {
      if (this.trampolineBreakpoint && !(await this.trampolineBreakpoint.remove())) {
        this.progress(`could not remove the breakpoint at ${hex(this.trampolineBreakpoint.addr)} (id ${this.trampolineBreakpoint.id})`);
      }
    }
  }

  async classify(): Promise<StartPoint | undefined> {
    const regs = await this.registers();
    this.p = this.o.arch ?? profileOfRegisters(regs.raw);
    return (await this.locate(regs.pc(this.p), regs).catch(() => undefined))?.start;
  }

  private async body(): Promise<StepOverResult> {
    const regs = await this.registers();
    this.p = this.o.arch ?? profileOfRegisters(regs.raw);
    const pc = regs.pc(this.p);
    this.lastPc = pc;
    const where = await this.locate(pc, regs);
    if (!where) {
      const here = locationText({ pc, symbol: await this.symbolizer.symbolize(pc) });
      throw new Stop(
        'not-in-bluepill',
        `bluepill: thread ${this.tid} at ${here} is not before a faulting instruction, in the bluepill handler or in its trampoline`,
        pc,
      );
    }
    this.startedAt = where.start;
    this.progress(`thread ${this.tid}: starting ${where.start.replace('-', ' ')} at ${hex(pc)}`);

    let hop: HopInProgress;
    if (where.start === 'before-fault' || where.start === 'at-fault') {
      for (const expected of where.stepsToFault ?? []) {
        this.checkCancelled();
        const now = await this.step();
        if (now !== expected)
          throw new Stop('unexpected', `bluepill: stepping towards the fault at ${hex(where.fault!.pc)} went to ${hex(now)} instead of ${hex(expected)}`, now);
      }
      hop = await this.stepFault(where.fault!);
    } else if (where.start === 'handler-entry' || where.start === 'in-handler') {
      hop = await this.joinInHandler(where.frame!, pc, where.start);
    } else {
      hop = { frame: where.frame!, joinedAt: 'trampoline', handler: undefined };
    }

    const maxHops = this.o.maxHops ?? 8;
    for (;;) {
      this.current = hop;
      const done = await this.finishHop(hop, where.start === 'trampoline' && this.hops.length === 0 ? pc : undefined);
      this.current = undefined;
      this.hops.push(done);
      const landing = done.landing;
      const next = await this.code.instructionAt(landing.pc, this.p.maxInstructionLength);
      const faultsAgain = next !== undefined && this.p.privilegedInstruction(next.bytes) !== undefined;
      if (!faultsAgain) return this.result('landed', describeHops(this.hops), landing.pc);
      if (this.hops.length >= maxHops) {
        return this.result(
          'max-hops',
          `${describeHops(this.hops)}; stopped at the hop limit (${maxHops}): ${next.text} at ${hex(landing.pc)} faults again`,
          landing.pc,
        );
      }
      this.checkCancelled();
      this.progress(`thread ${this.tid}: landed on ${next.text} at ${hex(landing.pc)}, which faults again: hop ${this.hops.length + 1}`);
      hop = await this.stepFault(next);
    }
  }

  /** Classifies the start; undefined when the thread is nowhere near a bluepill. */
  private async locate(pc: number, regs: ThreadRegisters): Promise<Located | undefined> {
    const p = this.p;
    const run = await this.code.instructionsFrom(pc, 64);
    const here = run.find((i) => i.pc === pc);
    if (here && (await isTrampolineAt(this.code, p, pc))) {
      return { start: 'trampoline', frame: await this.trampolineFrame(regs, pc) };
    }
    if (here && p.isSyscallInstruction(here.bytes) && (await isTrampolineAt(this.code, p, pc - p.trampolineSyscallOffset))) {
      return { start: 'trampoline', frame: await this.trampolineFrame(regs, pc - p.trampolineSyscallOffset) };
    }
    if (here && p.privilegedInstruction(here.bytes)) return { start: 'at-fault', fault: here, stepsToFault: [] };
    // Straight-line code ahead that reaches a faulting instruction (e.g. the MOV before CLI in kvm.bluepill).
    const steps: number[] = [];
    for (const i of run.filter((x) => x.pc >= pc)) {
      if (p.privilegedInstruction(i.bytes)) {
        if (steps.length === 0) break;
        if (steps.length > (this.o.maxStepsToFault ?? 16)) break;
        return { start: 'before-fault', fault: i, stepsToFault: steps.slice(1).concat(i.pc) };
      }
      if (p.isControlTransfer(i) || p.isSyscallInstruction(i.bytes)) break;
      steps.push(i.pc);
    }
    const entry = await frameAtHandlerEntry(this.delve, this.code, p, regs).catch(() => undefined);
    if (entry) return { start: 'handler-entry', frame: entry };
    const scanned = await frameByStackScan(this.delve, this.code, p, regs);
    if (scanned) return { start: 'in-handler', frame: scanned };
    return undefined;
  }

  private async trampolineFrame(regs: ThreadRegisters, trampoline: number): Promise<SignalFrame> {
    const frame = await frameAtTrampoline(this.delve, this.p, regs, trampoline);
    if (!frame)
      throw new Stop('unexpected', `bluepill: thread ${this.tid} is in a trampoline at ${hex(trampoline)} but no ucontext is at its SP`, regs.pc(this.p));
    return frame;
  }

  /** Single-steps the faulting instruction: Delve re-delivers the signal, the thread stops on the handler's first instruction. */
  private async stepFault(fault: Instruction): Promise<HopInProgress> {
    const now = await this.step();
    const regs = await this.registers();
    const frame = await frameAtHandlerEntry(this.delve, this.code, this.p, regs);
    if (!frame) {
      throw new Stop('unexpected', `bluepill: ${fault.text} at ${hex(fault.pc)} did not enter a signal handler (thread ${this.tid} is at ${hex(now)})`, now);
    }
    if (frame.context.pc !== fault.pc) {
      throw new Stop(
        'unexpected',
        `bluepill: the handler at ${hex(now)} was entered for PC ${hex(frame.context.pc)}, not for the fault at ${hex(fault.pc)}`,
        now,
      );
    }
    return {
      fault: { pc: fault.pc, instruction: fault.text },
      handler: { pc: now },
      host: frame.context,
      frame,
    };
  }

  private async joinInHandler(frame: SignalFrame, pc: number, start: StartPoint): Promise<HopInProgress> {
    // Before the guest exit is written, the ucontext still holds the faulting host state.
    const at = await this.code.instructionAt(frame.context.pc, this.p.maxInstructionLength).catch(() => undefined);
    const stillHost = at !== undefined && this.p.privilegedInstruction(at.bytes) !== undefined;
    return {
      fault: stillHost ? { pc: frame.context.pc, instruction: at.text } : undefined,
      handler: { pc },
      host: stillHost ? frame.context : undefined,
      frame,
      joinedAt: start === 'handler-entry' ? undefined : 'handler',
    };
  }

  /** From the handler (or the trampoline) to the landing: wait at the trampoline's syscall, read the guest context, step rt_sigreturn. */
  private async finishHop(h: HopInProgress, pcInTrampoline: number | undefined): Promise<Hop> {
    const p = this.p;
    const trampoline = h.frame.trampoline;
    const syscallPc = trampoline + p.trampolineSyscallOffset;
    let guestMs = 0;
    let foreign = 0;
    let pc = pcInTrampoline;
    let regs: ThreadRegisters | undefined;
    if (pc === undefined) {
      const waited = await this.waitForTrampoline(h.frame, syscallPc);
      guestMs = waited.guestMs;
      foreign = waited.foreignHits;
      regs = waited.regs;
      pc = syscallPc;
    }
    const guest = regs ? await frameAtTrampoline(this.delve, p, regs, trampoline) : h.frame;
    if (!guest || guest.ucontextAddress !== h.frame.ucontextAddress) {
      throw new Stop('unexpected', `bluepill: at the trampoline the ucontext is not the one the handler got (${hex(h.frame.ucontextAddress)})`, pc);
    }
    if (pc === trampoline) pc = await this.step();
    if (pc !== syscallPc)
      throw new Stop('unexpected', `bluepill: expected the rt_sigreturn syscall at ${hex(syscallPc)}, thread ${this.tid} is at ${hex(pc)}`, pc);
    const landingPc = await this.step();
    const matched = landingPc === guest.context.pc;
    if (!matched) this.landingsMatched = false;
    const landingInsn = await this.code.instructionAt(landingPc, p.maxInstructionLength).catch(() => undefined);
    const sym = (loc: CodeLocation | undefined): Promise<CodeLocation | undefined> =>
      loc ? this.symbolizer.symbolize(loc.pc).then((symbol) => ({ ...loc, symbol })) : Promise.resolve(undefined);
    const hop: Hop = {
      threadId: this.tid,
      fault: await sym(h.fault),
      joinedAt: h.joinedAt,
      signalNumber: p.signalNumber,
      signalName: p.signalName,
      handler: await sym(h.handler),
      ucontextAddress: h.frame.ucontextAddress,
      hostContext: h.host,
      guestContext: guest.context,
      trampoline: (await sym({ pc: trampoline }))!,
      landing: (await sym({ pc: landingPc, instruction: landingInsn?.text }))!,
      guestMs,
      foreignHits: foreign,
    };
    this.progress(
      `thread ${this.tid}: hop ${this.hops.length + 1} landed at ${locationText(hop.landing)}${matched ? '' : ` — but the ucontext said ${hex(guest.context.pc)}`}`,
    );
    return hop;
  }

  /**
   * Until our thread stops on the trampoline's rt_sigreturn syscall with our ucontext at SP (the
   * breakpoint is on the syscall: one single step less per hop than on the trampoline's entry).
   */
  private async waitForTrampoline(frame: SignalFrame, syscallPc: number): Promise<{ guestMs: number; foreignHits: number; regs: ThreadRegisters }> {
    if (this.trampolineBreakpoint?.addr !== syscallPc) {
      if (this.trampolineBreakpoint && !(await this.trampolineBreakpoint.remove()))
        this.progress(`could not remove the breakpoint at ${hex(this.trampolineBreakpoint.addr)}`);
      this.trampolineBreakpoint = await TemporaryBreakpoint.create(this.delve, syscallPc, `bluepillTrampoline${this.tid}x${Date.now()}`);
    }
    let regs: ThreadRegisters | undefined;
    const waited = await runToBreakpoint(this.delve, this.tid, syscallPc, {
      gate: this.gate,
      breakpoint: this.trampolineBreakpoint,
      signal: this.o.signal,
      onProgress: (m) => this.progress(m),
      progressIntervalMs: this.o.progressIntervalMs,
      waitingFor: `the guest to exit on thread ${this.tid}`,
      breakpointText: 'the trampoline breakpoint',
      // The return of another signal on our thread goes through the same trampoline.
      accept: async () => {
        regs = await this.registers();
        return this.p.ucontextAtTrampoline(regs.sp(this.p)) === frame.ucontextAddress;
      },
    });
    this.currentThread = waited.state?.currentThread?.id;
    this.foreignHits += waited.foreignHits;
    if (waited.outcome === 'exited') throw new Stop('exited', `bluepill: the process exited while thread ${this.tid} was in the guest`, this.lastPc);
    if (waited.outcome === 'cancelled') {
      const pc = Number.isNaN(waited.pc) ? this.lastPc : waited.pc;
      this.lastPc = pc;
      const here = locationText({ pc, symbol: await this.symbolizer.symbolize(pc) });
      const secs = (waited.waitedMs / 1000).toFixed(1);
      throw new Stop(
        'cancelled',
        `bluepill: cancelled after ${secs} s waiting for the guest to exit on thread ${this.tid}; the thread is left stopped at ${here} (in the handler), our breakpoints are removed`,
        pc,
      );
    }
    return { guestMs: waited.waitedMs, foreignHits: waited.foreignHits, regs: regs! };
  }

  /** One instruction on our thread; on timeout the target is halted (once) and the step reported stuck. */
  private async step(): Promise<number> {
    if (this.currentThread !== this.tid) {
      const st = await this.delve.switchThread(this.tid);
      this.currentThread = st.currentThread?.id ?? this.tid;
    }
    const timeoutMs = this.o.stepTimeoutMs ?? 10_000;
    let st: DebuggerState;
    let stuck: string | undefined;
    try {
      ({ state: st } = await this.gate.resume(async () => {
        try {
          return await this.delve.stepInstruction({ threadID: this.tid, timeoutMs });
        } catch (e) {
          if (e instanceof DelveTimeoutError) stuck = await haltAfterStuckStep(this.gate, this.tid, this.lastPc, timeoutMs);
          throw e;
        }
      }));
    } catch (e) {
      if (stuck !== undefined) throw new Stop('stuck', stuck, this.lastPc);
      throw e;
    }
    if (st.exited) throw new Stop('exited', `bluepill: the process exited during a step of thread ${this.tid}`, this.lastPc);
    const th = threadIn(st, this.tid) ?? st.currentThread;
    if (!th || th.id !== this.tid) throw new Stop('unexpected', `bluepill: after a step Delve's current thread is ${th?.id}, not ${this.tid}`, this.lastPc);
    this.currentThread = th.id;
    this.lastPc = th.pc;
    return th.pc;
  }

  private async registers(): Promise<ThreadRegisters> {
    return new ThreadRegisters(await this.delve.listRegisters(this.tid));
  }

  private checkCancelled(): void {
    if (this.o.signal?.aborted) {
      throw new Stop('cancelled', `bluepill: cancelled; thread ${this.tid} is left stopped at ${hex(this.lastPc)}, our breakpoints are removed`, this.lastPc);
    }
  }

  private progress(message: string): void {
    this.o.onProgress?.(message);
  }

  private result(stopReason: StepOverStopReason, description: string, pc: number): StepOverResult {
    return {
      threadId: this.tid,
      startedAt: this.startedAt,
      hops: this.hops,
      landing: this.hops[this.hops.length - 1]?.landing,
      pc,
      stopReason,
      description,
      foreignHits: this.foreignHits,
      landingsMatched: this.landingsMatched,
      ...(this.current && stopReason !== 'landed' && stopReason !== 'max-hops' ? { unfinished: this.unfinishedHop(this.current) } : {}),
    };
  }

  private unfinishedHop(h: HopInProgress): UnfinishedHop {
    return {
      threadId: this.tid,
      fault: h.fault,
      joinedAt: h.joinedAt,
      signalNumber: this.p.signalNumber,
      signalName: this.p.signalName,
      handler: h.handler,
      ucontextAddress: h.frame.ucontextAddress,
      hostContext: h.host,
      trampoline: { pc: h.frame.trampoline },
      guestMs: 0,
      foreignHits: 0,
    };
  }
}
