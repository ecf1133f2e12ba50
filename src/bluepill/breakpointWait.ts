// The one wait of the engine: a temporary breakpoint of its own, continue until the wanted thread
// stops on it, every other thread's stop there ignored, progress while it waits, cancellable (one
// halt, through the resume gate), and the breakpoint always removed. Step over bluepill waits for
// the trampoline with it, the safe instruction step waits for a syscall or a vDSO call to return.
import { DelveError } from '../delve/delveErrors';
import type { DebuggerState, Thread } from '../delve/delveTypes';
import type { BluepillDelve } from './bluepillDelve';
import { hex } from './machineContext';
import { ResumeGate } from './resumeGate';

export type WaitDelve = Pick<BluepillDelve, 'createBreakpoint' | 'clearBreakpoint' | 'continue' | 'halt'>;

/**
 * A breakpoint of the engine's own, held across several waits (step over bluepill keeps the one on
 * the trampoline for every hop of a chain); its owner removes it in every outcome.
 */
export class TemporaryBreakpoint {
  private constructor(
    private readonly delve: Pick<WaitDelve, 'clearBreakpoint'>,
    readonly addr: number,
    /** undefined: a breakpoint already there (the user's) stops the thread, and is not ours to remove. */
    readonly id: number | undefined,
  ) {}

  static async create(delve: Pick<WaitDelve, 'createBreakpoint' | 'clearBreakpoint'>, addr: number, name?: string): Promise<TemporaryBreakpoint> {
    try {
      return new TemporaryBreakpoint(delve, addr, (await delve.createBreakpoint({ addrs: [addr], ...(name ? { name } : {}) })).id);
    } catch (e) {
      if (e instanceof DelveError && /exists/i.test(e.delveMessage)) return new TemporaryBreakpoint(delve, addr, undefined);
      throw e;
    }
  }

  /** Whether a stopped thread stands on this breakpoint (not merely at its address). */
  holds(thread: Thread): boolean {
    return thread.pc === this.addr && (this.id === undefined ? thread.breakPoint != null : thread.breakPoint?.id === this.id);
  }

  /** Removes it; false when Delve refused (the message says so). */
  async remove(): Promise<boolean> {
    if (this.id === undefined) return true;
    return this.delve.clearBreakpoint(this.id).then(
      () => true,
      () => false,
    );
  }
}

export interface BreakpointWaitOptions {
  /** The session's gate (one halt per resume across the whole engine); default: one of its own. */
  gate?: ResumeGate;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
  /** First progress line after this long, then every interval (default 1 s). */
  progressIntervalMs?: number;
  /** Completes "waiting for …" in progress lines and messages. */
  waitingFor: string;
  /**
   * A stop of the wanted thread at the address that is still not the awaited one (e.g. the return
   * of a nested signal through the same trampoline): return false to go on waiting.
   */
  accept?: (thread: Thread) => Promise<boolean>;
  /** Name of the breakpoint in Delve (shown by `breakpoints` in a Delve console). */
  name?: string;
  /** Wait on this breakpoint (its owner removes it) instead of one made and removed here. */
  breakpoint?: TemporaryBreakpoint;
  /** How progress lines name the breakpoint (default `the breakpoint at 0x…`). */
  breakpointText?: string;
}

export interface BreakpointWaitResult {
  outcome: 'arrived' | 'cancelled' | 'exited';
  /** Where the thread is; NaN when unknown (exited, or cancelled before anything ran). */
  pc: number;
  /** Empty when arrived; otherwise what happened, for the stopped event. */
  message: string;
  /** Stops of other threads (or refused stops of ours) at the breakpoint. */
  foreignHits: number;
  waitedMs: number;
  /** Delve's state after the last stop. */
  state: DebuggerState | undefined;
}

export async function runToBreakpoint(delve: WaitDelve, tid: number, addr: number, options: BreakpointWaitOptions): Promise<BreakpointWaitResult> {
  const gate = options.gate ?? new ResumeGate(delve);
  const bp = options.breakpoint ?? (await TemporaryBreakpoint.create(delve, addr, options.name));
  const started = Date.now();
  const interval = options.progressIntervalMs ?? 1000;
  const timer = setInterval(() => options.onProgress?.(`waiting for ${options.waitingFor}: ${Math.round((Date.now() - started) / 1000)} s`), interval);
  let foreign = 0;
  let lastPc = NaN;
  let state: DebuggerState | undefined;
  const done = (outcome: BreakpointWaitResult['outcome'], message: string, pc = lastPc): BreakpointWaitResult => ({
    outcome,
    pc,
    message,
    foreignHits: foreign,
    waitedMs: Date.now() - started,
    state,
  });
  try {
    for (;;) {
      if (options.signal?.aborted) {
        return done(
          'cancelled',
          `cancelled while waiting for ${options.waitingFor}; thread ${tid} is left stopped${Number.isNaN(lastPc) ? '' : ` at ${hex(lastPc)}`}, the breakpoint is removed`,
        );
      }
      const ran = await gate.resume(() => delve.continue(), options.signal);
      state = ran.state;
      if (state.exited) return done('exited', `the process exited while waiting for ${options.waitingFor}`, NaN);
      const mine = threadIn(state, tid);
      if (mine) lastPc = mine.pc;
      // Arrived wins over a Pause that raced it: the step is done (a late halt is consumed by the
      // next continue, or before detach). Arrived means stopped by the breakpoint: a thread inside
      // a syscall already has its PC there, and a halt leaves it so.
      const onOurs = mine !== undefined && bp.holds(mine);
      if (onOurs && (!options.accept || (await options.accept(mine)))) return done('arrived', '', addr);
      if (ran.halted || options.signal?.aborted) {
        const secs = ((Date.now() - started) / 1000).toFixed(1);
        return done(
          'cancelled',
          `cancelled after ${secs} s waiting for ${options.waitingFor}; thread ${tid} is left stopped at ${hex(lastPc)}, the breakpoint is removed`,
        );
      }
      foreign++;
      const who = onOurs ? `thread ${tid} (not yet the awaited stop)` : `thread ${state.currentThread?.id ?? '?'}`;
      options.onProgress?.(
        `${who} stopped at ${options.breakpointText ?? `the breakpoint at ${hex(addr)}`}; ignored (${foreign} so far), waiting for ${options.waitingFor}`,
      );
    }
  } finally {
    clearInterval(timer);
    if (!options.breakpoint && !(await bp.remove())) options.onProgress?.(`could not remove the breakpoint at ${hex(addr)} (id ${bp.id})`);
  }
}

export function threadIn(st: DebuggerState, tid: number): Thread | undefined {
  return st.Threads?.find((t) => t.id === tid) ?? (st.currentThread?.id === tid ? st.currentThread : undefined);
}
