// The one way to move a thread or plant a breakpoint of ours (docs/architecture.md, "Safety"):
// continue, the instruction and line steps, step over bluepill, N instruction steps, run to an
// address. Each goes through the same guards (the step plan of safeStep.ts, the code kinds of
// codeKinds.ts) and the same resume gate (one halt per resume), and shares one code reader and
// one symbolizer. The DAP session, the Debug Console and every command reach Delve's execution
// through here; only user breakpoints are created elsewhere (the adapter's breakpoint book), and
// those ask breakpointVerdict first.
import type { DelveClient } from '../delve/delveClient';
import type { DebuggerState } from '../delve/delveTypes';
import { profileOfRegisters } from './archOf';
import type { ArchProfile } from './archProfile';
import type { BluepillDelve } from './bluepillDelve';
import { runToBreakpoint, threadIn } from './breakpointWait';
import { CodeKinds, type BreakpointVerdict } from './codeKinds';
import { CodeReader } from './codeReader';
import { DelveSymbolizer } from './delveSymbolizer';
import { SignalFrameMemory, stepInstructionAware, type InstructionStepResult } from './instructionStep';
import { safeLineStep, type LineStepKind } from './lineStep';
import { hex } from './machineContext';
import { ResumeGate } from './resumeGate';
import { bluepillStartPoint, stepOverBluepill, type StartPoint, type StepOverResult } from './stepOverBluepill';
import type { Symbolizer } from './symbolizer';
import { ThreadRegisters } from './threadRegisters';

export type EngineDelve = BluepillDelve & Pick<DelveClient, 'command' | 'stacktrace'>;

export interface EngineOptions {
  /** Progress of long waits, per thread. */
  onProgress?: (threadId: number, message: string) => void;
  /** Names what Delve cannot (the vDSO, from /proc/PID/maps). */
  symbolFallback?: Symbolizer;
  /**
   * The pending-signal masks of the target (ShdPnd and every thread's SigPnd from /proc), to see
   * whether a SIGTRAP of a halt is still pending before detach.
   */
  pendingSignals?: () => Promise<bigint[]>;
}

/** What a step reports: the state to show, on which thread, and one line saying what was done. */
export interface EngineStepResult {
  threadId: number;
  state: DebuggerState;
  description: string;
  outcome: 'done' | 'cancelled' | 'refused' | 'stuck' | 'exited';
}

/** SIGTRAP (5) in a /proc/PID/status signal mask. */
const SIGTRAP_BIT = 1n << 4n;

export class GuardedEngine {
  readonly gate: ResumeGate;
  readonly code: CodeReader;
  readonly symbolizer: DelveSymbolizer;
  private readonly memory = new SignalFrameMemory();
  private arch: ArchProfile | undefined;
  private kinds: CodeKinds | undefined;

  constructor(
    private readonly delve: EngineDelve,
    private readonly o: EngineOptions = {},
  ) {
    this.gate = new ResumeGate(delve);
    this.code = new CodeReader(delve);
    this.symbolizer = new DelveSymbolizer(delve, o.symbolFallback);
  }

  /** A resume is in flight. */
  get running(): boolean {
    return this.gate.running;
  }

  async archOf(threadId: number): Promise<ArchProfile> {
    this.arch ??= profileOfRegisters(await this.delve.listRegisters(threadId));
    return this.arch;
  }

  async codeKinds(threadId: number): Promise<CodeKinds> {
    this.kinds ??= new CodeKinds(await this.archOf(threadId), this.code, this.symbolizer);
    return this.kinds;
  }

  /** Whether a software breakpoint may go at `addr` (the user's breakpoints ask this too). */
  async breakpointVerdict(addr: number, threadId: number): Promise<BreakpointVerdict> {
    return (await this.codeKinds(threadId)).breakpointVerdict(addr);
  }

  /** Pause: halts the resume in flight, once; false when nothing runs. */
  halt(): Promise<boolean> {
    return this.gate.halt();
  }

  /** The user's Continue: all threads run until a breakpoint, a signal Delve stops on, or Pause. */
  async continue(signal?: AbortSignal): Promise<{ state: DebuggerState; halted: boolean }> {
    return this.gate.resume(() => this.delve.continue({ timeoutMs: 0 }), signal);
  }

  /** One instruction; with `overCalls`, a call runs to its return on a breakpoint after it. */
  async instructionStep(threadId: number, overCalls: boolean, signal: AbortSignal): Promise<EngineStepResult> {
    const arch = await this.archOf(threadId);
    const progress = (m: string): void => this.o.onProgress?.(threadId, m);
    if (overCalls) {
      const pc = new ThreadRegisters(await this.delve.listRegisters(threadId)).pc(arch);
      const insn = await this.code.instructionAt(pc, arch.maxInstructionLength).catch(() => undefined);
      if (insn && arch.isCall(insn)) {
        const after = insn.pc + insn.bytes.length;
        const verdict = await this.breakpointVerdict(after, threadId);
        if (!verdict.allowed) return this.finish(threadId, 'refused', `not stepping over ${insn.text}: ${verdict.reason}`);
        const r = await runToBreakpoint(this.delve, threadId, after, {
          gate: this.gate,
          signal,
          onProgress: progress,
          waitingFor: `the call at ${hex(insn.pc)} to return on thread ${threadId}`,
        });
        return this.finish(
          threadId,
          r.outcome === 'arrived' ? 'done' : r.outcome,
          r.outcome === 'arrived' ? `stepped over ${insn.text} with a breakpoint` : r.message,
        );
      }
    }
    const r = await this.guardedInstruction(threadId, signal);
    return this.finish(threadId, outcomeOf(r), r.description);
  }

  /** Line-granularity next, step or stepOut, refused where Delve would plant a breakpoint in guest-only code. */
  async lineStep(threadId: number, kind: LineStepKind, signal: AbortSignal): Promise<EngineStepResult> {
    const kinds = await this.codeKinds(threadId);
    const r = await safeLineStep(this.delve, threadId, kind, {
      arch: await this.archOf(threadId),
      code: this.code,
      symbolizer: this.symbolizer,
      gate: this.gate,
      classify: (a) => kinds.classify(a),
      signal,
      onProgress: (m) => this.o.onProgress?.(threadId, m),
    });
    const state = await this.stateOn(threadId, r.state);
    return { threadId, state, description: r.description, outcome: r.outcome === 'refused' ? 'refused' : r.outcome === 'done' ? 'done' : r.outcome };
  }

  /** Where step over bluepill would start on this thread (reads only); undefined: nowhere near a bluepill. */
  async bluepillStartPoint(threadId: number): Promise<StartPoint | undefined> {
    return bluepillStartPoint(this.delve, threadId, { arch: await this.archOf(threadId), code: this.code, symbolizer: this.symbolizer });
  }

  async stepOverBluepill(threadId: number, options: { maxHops?: number; signal?: AbortSignal }): Promise<StepOverResult & { state: DebuggerState }> {
    const result = await stepOverBluepill(this.delve, threadId, {
      arch: await this.archOf(threadId),
      code: this.code,
      symbolizer: this.symbolizer,
      gate: this.gate,
      maxHops: options.maxHops,
      signal: options.signal,
      onProgress: (m) => this.o.onProgress?.(threadId, m),
    });
    return { ...result, state: await this.stateOn(threadId) };
  }

  /** The Debug Console's `-si N`: N guarded instruction steps as one action; Pause ends it early. */
  async stepInstructions(threadId: number, count: number, signal: AbortSignal): Promise<EngineStepResult> {
    let done = 0;
    let last: InstructionStepResult | undefined;
    while (done < count && !signal.aborted) {
      last = await this.guardedInstruction(threadId, signal);
      if (outcomeOf(last) !== 'done') break;
      done++;
    }
    if (!last) return this.finish(threadId, 'cancelled', `0 of ${count} instruction step(s) on thread ${threadId} (cancelled before the first)`);
    const outcome = outcomeOf(last);
    if (outcome === 'done' && done === count) return this.finish(threadId, 'done', `${count} instruction step(s) on thread ${threadId}`);
    // Ended early: by Pause, or by a step the guards refused or that did not finish; say which.
    return this.finish(
      threadId,
      outcome === 'done' ? 'cancelled' : outcome,
      `${done} of ${count} instruction step(s) on thread ${threadId}${outcome === 'done' ? ' (cancelled)' : `; then: ${last.description}`}`,
    );
  }

  /** Runs until `threadId` stops at `addr` (on a temporary breakpoint of ours), other threads' stops there ignored. */
  async runToAddress(threadId: number, addr: number, signal: AbortSignal): Promise<EngineStepResult> {
    const verdict = await this.breakpointVerdict(addr, threadId);
    if (!verdict.allowed) return this.finish(threadId, 'refused', `not running to ${hex(addr)}: ${verdict.reason}`);
    const r = await runToBreakpoint(this.delve, threadId, addr, {
      gate: this.gate,
      signal,
      onProgress: (m) => this.o.onProgress?.(threadId, m),
      waitingFor: `thread ${threadId} to reach ${hex(addr)}`,
    });
    return this.finish(threadId, r.outcome === 'arrived' ? 'done' : r.outcome, r.outcome === 'arrived' ? `ran to ${hex(addr)}` : r.message);
  }

  /**
   * Before detach: the target must not be running, and no SIGTRAP of a halt may stay pending (the
   * sandbox would die of it once Delve is gone). A pending one is consumed by a continue (Delve
   * swallows a stray SIGTRAP) ended by one halt. Returns what was done, for the log.
   */
  async quiesceForDetach(): Promise<string | undefined> {
    if (this.gate.running) await this.gate.halt().catch(() => undefined);
    if (!this.o.pendingSignals) return undefined;
    for (let round = 0; round < 3; round++) {
      const masks = await this.o.pendingSignals().catch(() => []);
      if (!masks.some((m) => (m & SIGTRAP_BIT) !== 0n))
        return round ? `consumed a pending SIGTRAP before detach (${round} round${round > 1 ? 's' : ''})` : undefined;
      const ac = new AbortController();
      const consumed = this.continue(ac.signal);
      await new Promise((r) => setTimeout(r, 300));
      ac.abort();
      await consumed.catch(() => undefined);
    }
    return 'a SIGTRAP was still pending before detach after three attempts';
  }

  private async guardedInstruction(threadId: number, signal: AbortSignal): Promise<InstructionStepResult> {
    const kinds = await this.codeKinds(threadId);
    return stepInstructionAware(this.delve, threadId, {
      arch: await this.archOf(threadId),
      code: this.code,
      symbolizer: this.symbolizer,
      memory: this.memory,
      gate: this.gate,
      noBreakpointAt: async (a) => !(await kinds.breakpointVerdict(a)).allowed,
      signal,
      onProgress: (m) => this.o.onProgress?.(threadId, m),
    });
  }

  private async finish(threadId: number, outcome: EngineStepResult['outcome'], description: string): Promise<EngineStepResult> {
    return { threadId, outcome, description, state: await this.stateOn(threadId) };
  }

  /**
   * Delve's state with the stepped thread current: other threads may have stopped in the same
   * stop (a halt names whichever thread Delve saw first), and the stopped event must name ours.
   */
  private async stateOn(threadId: number, known?: DebuggerState): Promise<DebuggerState> {
    const st = known ?? (await this.delve.state(true));
    if (st.exited || st.currentThread?.id === threadId || !threadIn(st, threadId)) return st;
    return this.delve.switchThread(threadId);
  }
}

function outcomeOf(r: InstructionStepResult): EngineStepResult['outcome'] {
  switch (r.kind) {
    case 'cancelled':
    case 'refused':
    case 'stuck':
    case 'exited':
      return r.kind;
    default:
      return 'done';
  }
}
