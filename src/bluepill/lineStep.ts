// Line-granularity next / step / stepOut made safe. Delve implements them with breakpoints and a
// continue (every thread runs, signals are delivered), which is safe for the seccomp, futex and
// vDSO hazards — checked on the simulator with Delve 1.20 and 1.24: `next` over the seccomp mmap,
// over the futex wait and over time.now's call into the vDSO all complete and the simulator lives.
// Two things remain, decided by the instruction step's plan (safeStep.ts):
// - right after attach (or a halt) a thread sits inside an interrupted syscall; Delve's `next` then
//   stops *on the syscall instruction* (the kernel rewinds the PC to restart the call and hits the
//   line breakpoint there). The syscall is finished on a breakpoint first (stepping rule 5).
// - `step` on a call into code without symbols (the vDSO) stops inside it, where Delve has no
//   source (`next` then fails with "no source for PC"). Such a call is stepped over, and a thread
//   inside such code leaves it by its return address (rule 3).
// On a KVM sandbox Delve's own breakpoints must stay out of code that runs only in guest mode
// (codeKinds.ts): `next` plants one on every line of the function and on its return address,
// `stepOut` on the return address, `step` also on the callees of the current line. Where one of
// those is guest-only (or the function is kvm.bluepill, whose tail is), the step is refused.
import type { DelveClient } from '../delve/delveClient';
import type { DebuggerState } from '../delve/delveTypes';
import { profileOfRegisters } from './archOf';
import type { ArchProfile } from './archProfile';
import type { BluepillDelve } from './bluepillDelve';
import { CodeReader } from './codeReader';
import { DelveSymbolizer } from './delveSymbolizer';
import { hex } from './machineContext';
import { isKnownCode, planStep, type StepPlan } from './safeStep';
import { runToBreakpoint } from './breakpointWait';
import type { CodeClass } from './codeKinds';
import { plainName } from './codeKinds';
import { ResumeGate } from './resumeGate';
import { formatSymbol, type Symbolizer } from './symbolizer';
import { ThreadRegisters } from './threadRegisters';

export type LineStepKind = 'next' | 'step' | 'stepOut';

export type LineStepDelve = BluepillDelve & Pick<DelveClient, 'command' | 'stacktrace'>;

export interface SafeLineStepOptions {
  arch?: ArchProfile;
  code?: CodeReader;
  symbolizer?: Symbolizer;
  /** Pause: halts a breakpoint wait or Delve's own command. */
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
  /** First progress line of a breakpoint wait after this long, then every interval (default 1 s). */
  progressIntervalMs?: number;
  /** The session's resume gate (one halt per resume); default: one of this step's own. */
  gate?: ResumeGate;
  /** Code kinds (codeKinds.ts); without it no code is taken for guest-only. */
  classify?: (addr: number) => Promise<CodeClass>;
}

export interface SafeLineStepResult {
  threadId: number;
  outcome: 'done' | 'cancelled' | 'exited' | 'refused';
  /** What was done besides Delve's own command, e.g. `finished the interrupted syscall futex (202) (ERESTARTSYS) with a breakpoint; then next`. */
  description: string;
  state: DebuggerState;
}

type BreakpointPlan = Extract<StepPlan, { kind: 'breakpoint' }>;

export async function safeLineStep(delve: LineStepDelve, threadId: number, kind: LineStepKind, options: SafeLineStepOptions = {}): Promise<SafeLineStepResult> {
  let regs = new ThreadRegisters(await delve.listRegisters(threadId));
  const p = options.arch ?? profileOfRegisters(regs.raw);
  const code = options.code ?? new CodeReader(delve);
  const symbolizer = options.symbolizer ?? new DelveSymbolizer(delve);
  const gate = options.gate ?? new ResumeGate(delve);
  const actions: string[] = [];
  const finish = async (outcome: SafeLineStepResult['outcome'], state?: DebuggerState): Promise<SafeLineStepResult> => ({
    threadId,
    outcome,
    description: actions.join('; then '),
    state: state ?? (await delve.state(false)),
  });
  const plan = async (): Promise<StepPlan> => {
    regs = new ThreadRegisters(await delve.listRegisters(threadId));
    return planStep(delve, p, regs, code, symbolizer);
  };
  const where = async (addr: number): Promise<string> => {
    const sym = await symbolizer.symbolize(addr);
    return sym?.name === '[vdso]' ? `the vDSO (${formatSymbol(addr, sym)})` : `code without symbols at ${hex(addr)}`;
  };
  /** Runs the thread onto the plan's breakpoint; a result to return unless it arrived. */
  const viaBreakpoint = async (b: BreakpointPlan, waitingFor: string, done: string): Promise<SafeLineStepResult | undefined> => {
    const r = await runToBreakpoint(delve, threadId, b.at, {
      gate,
      waitingFor,
      signal: options.signal,
      onProgress: options.onProgress,
      progressIntervalMs: options.progressIntervalMs,
    });
    if (r.outcome === 'arrived') {
      actions.push(done);
      return undefined;
    }
    actions.push(r.message);
    return finish(r.outcome);
  };
  /** A thread in code without symbols leaves it by its return address (or is refused). */
  const leave = async (b: StepPlan): Promise<SafeLineStepResult | undefined> => {
    // (The plan's other refusals are about single-stepping a syscall, which a line step leaves to Delve.)
    if (b.kind === 'refuse' && !isKnownCode(await symbolizer.symbolize(regs.pc(p)))) throw new Error(`thread ${threadId}: ${b.message}`);
    if (b.kind !== 'breakpoint' || b.why !== 'leave-unknown') return undefined;
    const from = await where(regs.pc(p));
    return (
      (await viaBreakpoint(b, `thread ${threadId} to leave ${from}`, `left ${from} by its return address ${hex(b.at)} with a breakpoint`)) ?? finish('done')
    );
  };

  let first = await plan();
  if (first.kind === 'breakpoint' && first.why === 'in-syscall') {
    const sc = first.syscall!;
    const stopped = await viaBreakpoint(
      first,
      `thread ${threadId} to return from syscall ${sc.name} (${sc.number})`,
      `finished the interrupted syscall ${sc.name} (${sc.number})${sc.restart ? ` (${sc.restart})` : ''} with a breakpoint`,
    );
    if (stopped) return stopped;
    first = await plan();
  }
  const left = await leave(first);
  if (left) return left;
  if (kind === 'step' && first.kind === 'breakpoint' && first.why === 'call-unknown') {
    const into = await where(first.target!);
    return (
      (await viaBreakpoint(first, `the call into ${into} to return on thread ${threadId}`, `stepped over the call into ${into} with a breakpoint`)) ??
      finish('done')
    );
  }

  if (options.classify) {
    const refusal = await guestModeRefusal(delve, threadId, kind, regs.pc(p), options.classify);
    if (refusal) {
      actions.push(refusal);
      return finish('refused');
    }
  }
  const st = await cancellableCommand(delve, gate, threadId, kind, options.signal);
  actions.push(st.paused === 'before' ? `paused before ${kind}` : st.paused === 'during' ? `${kind} paused` : kind);
  if (st.paused) return finish('cancelled', st.state);
  if (st.state.exited) return finish('exited', st.state);
  // Delve's step can still end in code without symbols (a call it did not see as one).
  const after = st.state.Threads?.find((t) => t.id === threadId)?.pc;
  if (after !== undefined && !isKnownCode(await symbolizer.symbolize(after))) {
    const out = await leave(await plan());
    if (out) return out;
  }
  return finish('done', st.state);
}

/** Delve's next/step/stepOut on one thread; an abort halts it once (Delve then answers the command). */
async function cancellableCommand(
  delve: LineStepDelve,
  gate: ResumeGate,
  threadId: number,
  kind: LineStepKind,
  signal: AbortSignal | undefined,
): Promise<{ state: DebuggerState; paused?: 'before' | 'during' }> {
  await delve.switchThread(threadId);
  if (signal?.aborted) return { state: await delve.state(false), paused: 'before' };
  const ran = await gate.resume(() => delve.command(kind, { timeoutMs: 0 }), signal);
  return { state: ran.state, paused: ran.halted ? 'during' : undefined };
}

/**
 * Why Delve's own `kind` on this thread would put a breakpoint where none may go, or undefined.
 * next: every line of the function and the return address; stepOut: the return address; step:
 * also the callees of the current line.
 */
async function guestModeRefusal(
  delve: LineStepDelve,
  threadId: number,
  kind: LineStepKind,
  pc: number,
  classify: (addr: number) => Promise<CodeClass>,
): Promise<string | undefined> {
  const refuse = (c: CodeClass, what: string): string =>
    `${kind} refused on thread ${threadId}: ${what} ${c.why}, where no breakpoint may go; step by instruction (each one is checked), use Step over bluepill, or continue`;
  const here = await classify(pc);
  if (kind !== 'stepOut') {
    if (here.kind === 'guest-only' || here.kind === 'faulting') return refuse(here, 'the thread is at');
    if (here.symbol && /^kvm\.bluepill$/.test(plainName(here.symbol.name))) {
      return `${kind} refused on thread ${threadId}: Delve would plant breakpoints on every line of kvm.bluepill, whose code after the faulting instruction runs only in guest mode; use Step over bluepill`;
    }
  }
  await delve.switchThread(threadId);
  const caller = (await delve.stacktrace(-1, 1).catch(() => []))[1];
  if (caller && caller.pc > 0) {
    const ret = await classify(caller.pc);
    if (ret.kind === 'guest-only' || ret.kind === 'faulting') return refuse(ret, 'the function returns to');
  }
  if (kind === 'step') {
    const insns = await delve.disassemble(pc, 0).catch(() => []);
    const line = insns.find((i) => i.Loc.pc === pc)?.Loc.line;
    for (const i of insns) {
      if (i.Loc.line !== line || !i.DestLoc?.pc || !/^(CALL|BL)\b/.test(i.Text)) continue;
      const callee = await classify(i.DestLoc.pc);
      if (callee.kind === 'guest-only' || callee.kind === 'faulting') return refuse(callee, 'the current line calls');
    }
  }
  return undefined;
}
