// One instruction step that never breaks a sandbox (stepping rules 1–5 of ARCHITECTURE.md):
// - a syscall other than rt_sigreturn, or a call into the vDSO, is stepped over with a temporary
//   breakpoint and a continue (every thread runs, signals are delivered, waits are woken);
// - a thread inside the vDSO leaves it by its return address the same way;
// - a thread stopped inside an interrupted syscall (right after attach or a halt) first finishes
//   that syscall the same way: single-stepping it would make the kernel restart the call with every
//   other thread stopped;
// - every real single step has a timeout; on expiry the target is halted and the thread reported stuck.
import { AsmFlavour, type DebuggerState, type Register } from '../delve/delveTypes';
import { endsWithCall, endsWithSyscall } from './decodeInstruction';
import { describeSyscall, InstructionCache, instructionAt, type InstructionAtPc } from './instructionAt';
import { inRange, isExecutable, vdsoName, type MapsReader, type ProcessMaps } from './processMaps';
import { runThreadTo, threadInState, type RunOutcome, type StepProgress } from './runThreadTo';
import { STEP_ARCH_REGISTERS, registerAddress, registerSigned, registerValue, stepArchOfRegisters, type StepArch } from './stepArch';
import type { SteppingDelve } from './steppingDelve';
import { ThreadStuckError } from './steppingErrors';
import { RESTART_ERRNOS, syscallName } from './syscallNames';

export interface SafeStepOptions {
  maps: MapsReader;
  /** Pause: aborting halts a breakpoint-route wait. */
  signal?: AbortSignal;
  /** Progress of a breakpoint-route wait, first after `progressAfterMs` (default 1 s). */
  onProgress?: (p: StepProgress) => void;
  progressAfterMs?: number;
  /** Limit of one Delve single step (default 5000 ms). */
  stepTimeoutMs?: number;
  /** How long to wait for Delve after the halt that follows a step timeout (default 3000 ms). */
  haltGraceMs?: number;
  /** Decoded instructions by PC; by default one cache per Delve client. */
  cache?: InstructionCache;
}

export type StepHow = 'single-step' | 'breakpoint';

export interface SafeStepResult {
  threadId: number;
  /** The thread's PC afterwards. */
  pc: number;
  /** 'breakpoint' when any part of the step went through a temporary breakpoint and a continue. */
  how: StepHow;
  /** 'done': the step completed; otherwise a breakpoint-route wait ended for another reason. */
  outcome: 'done' | Exclude<RunOutcome, 'arrived'>;
  /** `stepped over syscall futex (202) with a breakpoint`. */
  description: string;
  state: DebuggerState;
  /** Time spent in breakpoint-route waits. */
  waitedMs: number;
  /** Other threads that hit the temporary breakpoints and were continued. */
  foreignHits: number;
}

const defaultCaches = new WeakMap<SteppingDelve, InstructionCache>();

export function cacheFor(delve: SteppingDelve, options: Pick<SafeStepOptions, 'cache'>): InstructionCache {
  if (options.cache) return options.cache;
  let c = defaultCaches.get(delve);
  if (!c) defaultCaches.set(delve, (c = new InstructionCache()));
  return c;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

export interface InterruptedSyscall {
  number: number | undefined;
  name: string;
  restartCode: string;
}

/**
 * The syscall a thread is stopped inside, if the kernel will restart it on resume: the PC follows a
 * syscall instruction and the result register holds -ERESTART…. (A call that already returned,
 * even with -EINTR, is over: stepping on is harmless.)
 */
export async function interruptedSyscall(delve: SteppingDelve, threadId: number, regs: readonly Register[]): Promise<InterruptedSyscall | undefined> {
  const arch = stepArchOfRegisters(regs);
  const names = STEP_ARCH_REGISTERS[arch];
  const result = -registerSigned(regs, names.syscallResult);
  const restartCode = RESTART_ERRNOS.get(Number(result));
  if (!restartCode) return undefined;
  const pc = registerAddress(regs, names.pc);
  const back = arch === 'amd64' ? 2 : 4;
  const before = await delve.examineMemory(pc - back, back).catch(() => Buffer.alloc(0));
  if (!endsWithSyscall(arch, before)) return undefined;
  const nr = arch === 'arm64' ? Number(registerValue(regs, 'X8') & 0xffff_ffffn) : await amd64SyscallNumberBefore(delve, threadId, pc);
  return { number: nr, name: nr === undefined ? 'unknown syscall' : syscallName(arch, nr), restartCode };
}

/** amd64 overwrites RAX with the result: find the `MOV $nr, AX` that set up the call. */
async function amd64SyscallNumberBefore(delve: SteppingDelve, threadId: number, pc: number): Promise<number | undefined> {
  const thread = (await delve.listThreads()).find((t) => t.id === threadId);
  const entry = thread?.function?.value;
  if (!entry || entry >= pc || pc - entry > 64 * 1024) return undefined;
  const code = await delve.disassemble(entry, pc, AsmFlavour.Go).catch(() => []);
  // Backwards from the SYSCALL: the first instruction that mentions AX must be the `MOV $nr, AX`.
  for (let i = code.length - 1; i >= 0; i--) {
    const m = /^MOV[LQ] \$(0x[0-9a-f]+|\d+), AX$/.exec(code[i].Text);
    if (m) return Number(m[1]);
    if (/\bAX\b/.test(code[i].Text)) return undefined;
  }
  return undefined;
}

export function labelOfInterrupted(s: InterruptedSyscall): string {
  return s.number === undefined ? 'an interrupted syscall' : `the interrupted ${describeSyscall({ name: s.name, number: s.number })}`;
}

/** The vDSO's own rt_sigreturn trampoline (arm64 `__kernel_rt_sigreturn`) must be single-stepped, never left. */
export function isSigreturnTrampoline(at: InstructionAtPc): boolean {
  if (at.class.kind === 'syscall') return at.class.rtSigreturn;
  const b = at.instruction.bytes;
  if (at.arch === 'arm64') return b.length === 4 && b.readUInt32LE(0) === 0xd2801168; // MOV X8, #139
  return b.equals(Buffer.from([0xb8, 0x0f, 0, 0, 0])) || b.equals(Buffer.from([0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0])); // MOV $15, AX
}

/**
 * Where a thread inside the vDSO goes back to: arm64 LR while it still points outside; otherwise the
 * first word up the stack that points into executable code outside the vDSO right after a call.
 */
export async function vdsoReturnAddress(delve: SteppingDelve, arch: StepArch, regs: readonly Register[], maps: ProcessMaps): Promise<number | undefined> {
  const names = STEP_ARCH_REGISTERS[arch];
  if (names.link) {
    const lr = registerAddress(regs, names.link);
    if (!inRange(maps.vdso, lr) && isExecutable(maps, lr)) return lr;
  }
  const sp = registerAddress(regs, names.sp);
  const stack = await delve.examineMemory(sp, 512);
  for (let off = 0; off + 8 <= stack.length; off += 8) {
    const w = Number(stack.readBigUInt64LE(off));
    if (inRange(maps.vdso, w) || !isExecutable(maps, w)) continue;
    const before = await delve.examineMemory(w - 8, 8).catch(() => Buffer.alloc(0));
    if (endsWithCall(arch, w, before)) return w;
  }
  return undefined;
}

class StepRecord {
  how: StepHow = 'single-step';
  waitedMs = 0;
  foreignHits = 0;
  readonly actions: string[] = [];

  result(threadId: number, outcome: SafeStepResult['outcome'], state: DebuggerState, pc: number): SafeStepResult {
    return { threadId, pc, how: this.how, outcome, state, description: this.actions.join('; then '), waitedMs: this.waitedMs, foreignHits: this.foreignHits };
  }
}

function pcOf(state: DebuggerState, threadId: number, fallback: number): number {
  return threadInState(state, threadId)?.pc ?? fallback;
}

export async function safeStepInstruction(delve: SteppingDelve, threadId: number, options: SafeStepOptions): Promise<SafeStepResult> {
  const cache = cacheFor(delve, options);
  const stopped = await delve.state(false);
  const maps = await options.maps.read(stopped.Pid);
  const rec = new StepRecord();
  let regs = await delve.listRegisters(threadId);
  const arch = stepArchOfRegisters(regs);
  let pc = registerAddress(regs, STEP_ARCH_REGISTERS[arch].pc);

  const viaBreakpoint = async (addr: number, waitingFor: string, done: string): Promise<DebuggerState | SafeStepResult> => {
    const r = await runThreadTo(delve, threadId, addr, { waitingFor, signal: options.signal, onProgress: options.onProgress, progressAfterMs: options.progressAfterMs });
    rec.how = 'breakpoint';
    rec.waitedMs += r.waitedMs;
    rec.foreignHits += r.foreignHits;
    if (r.outcome === 'arrived') {
      rec.actions.push(done);
      return r.state;
    }
    const why = r.outcome === 'paused' ? 'paused' : r.outcome === 'exited' ? 'the target exited' : 'the target stopped elsewhere';
    rec.actions.push(`${why} while waiting for ${waitingFor}`);
    return rec.result(threadId, r.outcome, r.state, pcOf(r.state, threadId, pc));
  };
  const isResult = (x: DebuggerState | SafeStepResult): x is SafeStepResult => 'description' in x;

  // Rule 5: a thread stopped inside a syscall the kernel will restart.
  const interrupted = await interruptedSyscall(delve, threadId, regs);
  if (interrupted) {
    const label = labelOfInterrupted(interrupted);
    const r = await viaBreakpoint(pc, label.replace('the interrupted ', ''), `finished ${label} (${interrupted.restartCode}) with a breakpoint`);
    if (isResult(r)) return r;
    regs = await delve.listRegisters(threadId);
    pc = registerAddress(regs, STEP_ARCH_REGISTERS[arch].pc);
  }

  const leaveVdso = async (at: InstructionAtPc, r: readonly Register[]): Promise<DebuggerState | SafeStepResult> => {
    const ret = await vdsoReturnAddress(delve, arch, r, maps);
    if (ret === undefined) throw new Error(`thread ${threadId} is inside the vDSO at ${at.where} and its return address was not found; it is not stepped`);
    return viaBreakpoint(ret, `the vDSO (${at.where}) to return`, `left the vDSO (${at.where}) by its return address ${hex(ret)} with a breakpoint`);
  };

  const at = await instructionAt(delve, threadId, maps, cache, regs);
  // Rule 3: never single-step through the vDSO (but its rt_sigreturn trampoline is fine).
  if (at.inVdso && !isSigreturnTrampoline(at)) {
    const r = await leaveVdso(at, regs);
    return isResult(r) ? r : rec.result(threadId, 'done', r, pcOf(r, threadId, pc));
  }
  // Rules 1 and 2: syscalls other than rt_sigreturn, and calls into the vDSO.
  if (at.class.kind === 'syscall' && !at.class.rtSigreturn) {
    const what = describeSyscall(at.class);
    const r = await viaBreakpoint(at.class.nextPc, what, `stepped over ${what} with a breakpoint`);
    return isResult(r) ? r : rec.result(threadId, 'done', r, pcOf(r, threadId, at.class.nextPc));
  }
  if (at.class.kind === 'vdsoCall') {
    const target = vdsoName(maps, at.class.target) ?? hex(at.class.target);
    const r = await viaBreakpoint(at.class.returnAddress, `the call into the vDSO (${target}) to return`, `stepped over the call into the vDSO (${target}) with a breakpoint`);
    return isResult(r) ? r : rec.result(threadId, 'done', r, pcOf(r, threadId, at.class.returnAddress));
  }

  const st = await singleStepWithTimeout(delve, threadId, at, options);
  rec.actions.push(at.class.kind === 'syscall' ? `single-stepped ${describeSyscall(at.class)}` : `single-stepped ${at.instruction.text}`);
  const afterRegs = await delve.listRegisters(threadId);
  const landed = registerAddress(afterRegs, STEP_ARCH_REGISTERS[arch].pc);
  if (inRange(maps.vdso, landed)) {
    const there = await instructionAt(delve, threadId, maps, cache, afterRegs);
    if (!isSigreturnTrampoline(there)) {
      const r = await leaveVdso(there, afterRegs);
      return isResult(r) ? r : rec.result(threadId, 'done', r, pcOf(r, threadId, landed));
    }
  }
  return rec.result(threadId, 'done', st, landed);
}

/** A Delve single step bounded in time; on expiry halt, and report the thread stuck. */
export async function singleStepWithTimeout(
  delve: SteppingDelve,
  threadId: number,
  at: { pc: number; where: string },
  options: Pick<SafeStepOptions, 'stepTimeoutMs' | 'haltGraceMs'>,
): Promise<DebuggerState> {
  const timeoutMs = options.stepTimeoutMs ?? 5000;
  const graceMs = options.haltGraceMs ?? 3000;
  await delve.switchThread(threadId);
  // No RPC timeout: the answer must stay observable after the halt.
  const step = delve.stepInstruction({ threadID: threadId, timeoutMs: 0 });
  step.catch(() => undefined);
  const timedOut = Symbol('timeout');
  const first = await raceWithTimer(step, timeoutMs, timedOut);
  if (first !== timedOut) return first;
  await delve.halt({ timeoutMs: graceMs }).catch(() => undefined);
  const afterHalt = await raceWithTimer(step.catch(() => undefined), graceMs, timedOut);
  const responsive = afterHalt !== timedOut && (await delve.state(true, { timeoutMs: graceMs }).then(() => true, () => false));
  throw new ThreadStuckError(threadId, at.pc, at.where, timeoutMs, responsive);
}

async function raceWithTimer<T, S>(p: Promise<T>, ms: number, sentinel: S): Promise<T | S> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<S>((r) => (timer = setTimeout(() => r(sentinel), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
