// Gets one thread to an address without single-stepping: a temporary breakpoint there and a
// continue that lets every thread run (so a blocking syscall can be woken, and a seccomp SIGSYS is
// delivered). Other threads that hit the breakpoint are let go again; the wait is cancellable and
// reports progress; the breakpoint is removed in every outcome.
import { DelveConnectionClosedError, DelveError } from '../delve/delveErrors';
import type { Breakpoint, DebuggerState, Thread } from '../delve/delveTypes';
import type { SteppingDelve } from './steppingDelve';

export interface StepProgress {
  threadId: number;
  waitedMs: number;
  foreignHits: number;
  /** `waiting for syscall futex (202) on thread 4711: 3 s`. */
  message: string;
}

export interface RunThreadToOptions {
  /** What the thread is waiting for, for progress messages: `syscall futex (202)`. */
  waitingFor: string;
  signal?: AbortSignal;
  onProgress?: (p: StepProgress) => void;
  /** First progress report after this long (default 1000 ms), then every `progressEveryMs`. */
  progressAfterMs?: number;
  progressEveryMs?: number;
}

export type RunOutcome =
  /** The thread stopped at the address. */
  | 'arrived'
  /** The signal was aborted (Pause): the target was halted. */
  | 'paused'
  /** Something else stopped the target: another breakpoint, another client's halt. */
  | 'stopped-elsewhere'
  | 'exited';

export interface RunThreadToResult {
  outcome: RunOutcome;
  state: DebuggerState;
  waitedMs: number;
  /** Stops of other threads at the temporary breakpoint, each continued again. */
  foreignHits: number;
  /** Continue calls sent. */
  continues: number;
}

export function threadInState(st: DebuggerState, tid: number): Thread | undefined {
  return st.Threads?.find((t) => t.id === tid) ?? (st.currentThread?.id === tid ? st.currentThread : undefined);
}

function threadsAtBreakpoints(st: DebuggerState): Thread[] {
  const all = [...(st.Threads ?? [])];
  if (st.currentThread && !all.some((t) => t.id === st.currentThread!.id)) all.push(st.currentThread);
  return all.filter((t) => (t.breakPoint?.id ?? 0) !== 0);
}

async function placeBreakpoint(delve: SteppingDelve, addr: number): Promise<{ bp: Breakpoint; ours: boolean }> {
  try {
    return { bp: await delve.createBreakpoint({ addrs: [addr] }), ours: true };
  } catch (e) {
    // A user breakpoint already there serves as well; it is not ours to remove.
    if (!(e instanceof DelveError) || !/exists/i.test(e.delveMessage)) throw e;
    const existing = (await delve.listBreakpoints()).find((b) => b.addr === addr || b.addrs?.includes(addr));
    if (!existing) throw e;
    return { bp: existing, ours: false };
  }
}

export async function runThreadTo(delve: SteppingDelve, threadId: number, addr: number, options: RunThreadToOptions): Promise<RunThreadToResult> {
  const started = Date.now();
  const { bp, ours } = await placeBreakpoint(delve, addr);
  let foreignHits = 0;
  let continues = 0;
  let running = false;
  let pauseRequested = false;
  const waited = (): number => Date.now() - started;
  const onAbort = (): void => {
    pauseRequested = true;
    if (running) delve.halt({ timeoutMs: 10_000 }).catch(() => undefined);
  };
  options.signal?.addEventListener('abort', onAbort);
  const report = (): void => {
    const s = Math.round(waited() / 1000);
    const foreign = foreignHits > 0 ? ` (${foreignHits} other thread${foreignHits === 1 ? '' : 's'} passed the breakpoint)` : '';
    options.onProgress?.({ threadId, waitedMs: waited(), foreignHits, message: `waiting for ${options.waitingFor} on thread ${threadId}: ${s} s${foreign}` });
  };
  let progressTimer: NodeJS.Timeout | undefined;
  const firstTimer = setTimeout(() => {
    report();
    progressTimer = setInterval(report, options.progressEveryMs ?? 1000);
  }, options.progressAfterMs ?? 1000);
  const done = (outcome: RunOutcome, state: DebuggerState): RunThreadToResult => ({ outcome, state, waitedMs: waited(), foreignHits, continues });
  try {
    for (;;) {
      if (pauseRequested || options.signal?.aborted) return done('paused', await delve.state(false));
      running = true;
      continues++;
      let st: DebuggerState;
      try {
        st = await delve.continue({ timeoutMs: 0 });
      } finally {
        running = false;
      }
      if (st.exited) return done('exited', st);
      const me = threadInState(st, threadId);
      // At the address because of our breakpoint: a thread that sat there inside a syscall has not arrived yet.
      if (me && me.pc === addr && me.breakPoint?.id === bp.id) return done('arrived', st);
      const atBreakpoints = threadsAtBreakpoints(st);
      const foreign = atBreakpoints.filter((t) => t.breakPoint!.id === bp.id);
      if (pauseRequested) return done('paused', st);
      if (atBreakpoints.length === 0 || foreign.length < atBreakpoints.length) return done('stopped-elsewhere', st);
      foreignHits += foreign.length;
    }
  } finally {
    clearTimeout(firstTimer);
    if (progressTimer) clearInterval(progressTimer);
    options.signal?.removeEventListener('abort', onAbort);
    if (ours) await clearQuietly(delve, bp.id);
  }
}

async function clearQuietly(delve: SteppingDelve, id: number): Promise<void> {
  try {
    await delve.clearBreakpoint(id);
  } catch (e) {
    // Already gone, or Delve gone with it, is fine; anything else must be seen.
    if (!(e instanceof DelveError) && !(e instanceof DelveConnectionClosedError)) throw e;
  }
}
