// Line-granularity next / stepIn / stepOut made safe. Delve implements them with breakpoints and
// a continue (every thread runs, signals are delivered), which is safe for hazards 1–3 — checked on
// the simulator with Delve 1.20 and 1.24: `next` over the seccomp mmap and over the futex wait, and
// over time.now's CALL AX into the vDSO, all complete and the simulator lives. Two things remain:
// - right after attach (or a halt) a thread sits inside an interrupted syscall; Delve's `next`
//   then stops *on the syscall instruction* (the kernel rewinds the PC to restart the call and hits
//   the line breakpoint there). The syscall is finished with a breakpoint first (rule 5).
// - `step` on a call into the vDSO stops inside the vDSO, where Delve has no source (`next` fails
//   with "no source for PC"). Such a call is stepped over, and a thread in the vDSO leaves it by its
//   return address.
import type { DebuggerState } from '../delve/delveTypes';
import { instructionAt } from './instructionAt';
import { inRange, vdsoName, type MapsReader } from './processMaps';
import { runThreadTo, threadInState, type StepProgress } from './runThreadTo';
import { cacheFor, interruptedSyscall, isSigreturnTrampoline, labelOfInterrupted, vdsoReturnAddress } from './safeStep';
import { STEP_ARCH_REGISTERS, registerAddress, stepArchOfRegisters } from './stepArch';
import type { SteppingDelve } from './steppingDelve';
import type { InstructionCache } from './instructionAt';

export type LineStepKind = 'next' | 'step' | 'stepOut';

export interface SafeLineStepOptions {
  maps: MapsReader;
  signal?: AbortSignal;
  onProgress?: (p: StepProgress) => void;
  progressAfterMs?: number;
  cache?: InstructionCache;
}

export interface SafeLineStepResult {
  threadId: number;
  outcome: 'done' | 'paused' | 'stopped-elsewhere' | 'exited';
  /** What was done besides Delve's own command, e.g. `finished the interrupted syscall futex (202) (ERESTARTSYS) with a breakpoint; then next`. */
  description: string;
  state: DebuggerState;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

export async function safeLineStep(delve: SteppingDelve, threadId: number, kind: LineStepKind, options: SafeLineStepOptions): Promise<SafeLineStepResult> {
  const cache = cacheFor(delve, options);
  const maps = await options.maps.read((await delve.state(false)).Pid);
  const actions: string[] = [];
  const wait = { signal: options.signal, onProgress: options.onProgress, progressAfterMs: options.progressAfterMs };
  const finish = (outcome: SafeLineStepResult['outcome'], state: DebuggerState): SafeLineStepResult => ({ threadId, outcome, description: actions.join('; then '), state });

  const viaBreakpoint = async (addr: number, waitingFor: string, done: string): Promise<SafeLineStepResult | DebuggerState> => {
    const r = await runThreadTo(delve, threadId, addr, { waitingFor, ...wait });
    if (r.outcome === 'arrived') {
      actions.push(done);
      return r.state;
    }
    actions.push(`${r.outcome === 'paused' ? 'paused' : r.outcome === 'exited' ? 'the target exited' : 'the target stopped elsewhere'} while waiting for ${waitingFor}`);
    return finish(r.outcome, r.state);
  };
  const isResult = (x: SafeLineStepResult | DebuggerState): x is SafeLineStepResult => 'description' in x;

  let regs = await delve.listRegisters(threadId);
  const arch = stepArchOfRegisters(regs);
  const pcNow = (): number => registerAddress(regs, STEP_ARCH_REGISTERS[arch].pc);

  const interrupted = await interruptedSyscall(delve, threadId, regs);
  if (interrupted) {
    const label = labelOfInterrupted(interrupted);
    const r = await viaBreakpoint(pcNow(), label.replace('the interrupted ', ''), `finished ${label} (${interrupted.restartCode}) with a breakpoint`);
    if (isResult(r)) return r;
    regs = await delve.listRegisters(threadId);
  }

  const leaveVdso = async (): Promise<SafeLineStepResult | DebuggerState | undefined> => {
    const at = await instructionAt(delve, threadId, maps, cache, regs);
    if (!at.inVdso || isSigreturnTrampoline(at)) return undefined;
    const ret = await vdsoReturnAddress(delve, arch, regs, maps);
    if (ret === undefined) throw new Error(`thread ${threadId} is inside the vDSO at ${at.where} and its return address was not found; it is not stepped`);
    return viaBreakpoint(ret, `the vDSO (${at.where}) to return`, `left the vDSO (${at.where}) by its return address ${hex(ret)} with a breakpoint`);
  };

  const left = await leaveVdso();
  if (left) return isResult(left) ? left : finish('done', left);

  if (kind === 'step') {
    const at = await instructionAt(delve, threadId, maps, cache, regs);
    if (at.class.kind === 'vdsoCall') {
      const target = vdsoName(maps, at.class.target) ?? hex(at.class.target);
      const r = await viaBreakpoint(at.class.returnAddress, `the call into the vDSO (${target}) to return`, `stepped over the call into the vDSO (${target}) with a breakpoint`);
      return isResult(r) ? r : finish('done', r);
    }
  }

  const st = await cancellableCommand(delve, threadId, kind, options.signal);
  actions.push(kind);
  if (st.paused) return finish('paused', st.state);
  if (st.state.exited) return finish('exited', st.state);
  const me = threadInState(st.state, threadId);
  if (me && inRange(maps.vdso, me.pc)) {
    regs = await delve.listRegisters(threadId);
    const out = await leaveVdso();
    if (out) return isResult(out) ? out : finish('done', out);
  }
  return finish('done', st.state);
}

/** Delve's next/step/stepOut on one thread; an abort halts it (Delve then answers the command). */
async function cancellableCommand(delve: SteppingDelve, threadId: number, kind: LineStepKind, signal: AbortSignal | undefined): Promise<{ state: DebuggerState; paused: boolean }> {
  await delve.switchThread(threadId);
  if (signal?.aborted) return { state: await delve.state(false), paused: true };
  let paused = false;
  const onAbort = (): void => {
    paused = true;
    delve.halt({ timeoutMs: 10_000 }).catch(() => undefined);
  };
  signal?.addEventListener('abort', onAbort);
  try {
    const state = await delve.command(kind, { timeoutMs: 0 });
    return { state, paused };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
