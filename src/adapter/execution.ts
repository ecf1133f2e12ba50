// Running and stopping the target, as the UI sees it: one action at a time (Continue, a step, step
// over bluepill, -si…), each a task of the guarded engine (src/bluepill/guardedEngine.ts), which
// is the only code that resumes Delve. Pause aborts the task, and the engine's gate halts the
// resume in flight once. Breakpoint changes while running: during a Continue, halt, apply and go
// on without a visible stop; during any other action, applied once it ends.
import { DelveConnectionClosedError } from '../delve/delveErrors';
import type { DebuggerState } from '../delve/delveTypes';
import type { GuardedEngine } from '../bluepill/guardedEngine';

export type ResumeKind = 'continue' | 'task';

export interface StopInfo {
  state: DebuggerState;
  kind: ResumeKind;
  /** The user pressed Pause. */
  paused: boolean;
  /** The thread the stop is about (a step's thread), when the task knows it. */
  threadId?: number;
  /** Set by tasks (the bluepill engine): the stop reason and text the UI shows. */
  reason?: string;
  description?: string;
}

/** What a task (a sequence of Delve calls run as one user action) ends with. */
export interface TaskResult {
  state: DebuggerState;
  threadId?: number;
  reason?: string;
  description?: string;
}

/** What the session did with a stop: told the UI, or wants the target to go on (a logpoint). */
export type StopVerdict = 'reported' | 'resume';

export interface ExecutionTarget {
  readonly engine: Pick<GuardedEngine, 'continue' | 'halt'>;
  state(): Promise<DebuggerState>;
}

export class Execution {
  private inflight: Promise<void> | undefined;
  private kind: ResumeKind | undefined;
  private pauseRequested = false;
  private interrupting = false;
  private lastRunReported = false;
  private abort: AbortController | undefined;

  constructor(
    private readonly target: ExecutionTarget,
    private readonly onStop: (info: StopInfo) => Promise<StopVerdict>,
    /** A failure the user should read (a Delve error, the process gone…). */
    private readonly onError: (err: unknown) => void,
  ) {}

  get running(): boolean {
    return this.kind !== undefined;
  }

  /** Continue: every thread runs; the stop arrives through onStop. Already continuing: nothing to do. */
  continue(): void {
    if (this.kind === 'continue') return;
    if (this.kind) throw new Error('a step is still running: press Pause to end it first');
    this.start('continue', async (signal) => {
      const { state } = await this.target.engine.continue(signal);
      return { state };
    });
  }

  /**
   * Runs a multi-call operation (a step, step over bluepill…) as one resume: the target counts as
   * running, Pause aborts `signal` (the engine halts once), and the returned state is reported as
   * the stop.
   */
  runTask(task: (signal: AbortSignal) => Promise<TaskResult>): void {
    this.start('task', task);
  }

  private start(kind: ResumeKind, task: (signal: AbortSignal) => Promise<TaskResult>): void {
    if (this.kind) throw new Error('the target is already running');
    this.kind = kind;
    this.lastRunReported = false;
    const abort = new AbortController();
    this.abort = abort;
    this.inflight = (async () => {
      let result: TaskResult;
      try {
        result = await task(abort.signal);
      } catch (err) {
        this.kind = undefined;
        this.abort = undefined;
        if (err instanceof DelveConnectionClosedError) return; // the session's lost handler reports it
        if (!abort.signal.aborted) this.onError(err);
        // No state either (the process exited, Delve wedged): that is the news, not the task's error.
        const st = await this.target.state().catch((e: unknown) => void this.onError(e));
        const paused = this.takePause();
        if (st && !st.Running) await this.report({ state: st, kind, paused });
        return;
      }
      this.kind = undefined;
      this.abort = undefined;
      const paused = this.takePause();
      const st = result.state;
      // A Continue halted to change breakpoints goes on unless it stopped at a breakpoint anyway.
      if (kind === 'continue' && this.interrupting && !paused && (st.currentThread?.breakPoint?.id ?? 0) === 0 && !st.exited) return;
      await this.report({ state: st, kind, paused, threadId: result.threadId, reason: result.reason, description: result.description });
    })();
  }

  private takePause(): boolean {
    const paused = this.pauseRequested;
    this.pauseRequested = false;
    return paused;
  }

  private async report(info: StopInfo): Promise<void> {
    const verdict = await this.onStop(info);
    if (verdict === 'resume' && !this.interrupting) this.continue();
    else this.lastRunReported = verdict === 'reported';
  }

  /** Pause: ends the action in flight (the engine halts at most once); false when nothing runs. */
  async pause(): Promise<boolean> {
    if (!this.kind) return false;
    this.pauseRequested = true;
    this.abort?.abort();
    await this.target.engine.halt();
    return true;
  }

  /** Runs `fn` with the target stopped; a Continue goes on afterwards, any other action is let finish first. */
  async withTargetStopped<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.kind) return fn();
    if (this.kind !== 'continue') {
      await this.inflight;
      return fn();
    }
    this.interrupting = true;
    try {
      await this.target.engine.halt();
      await this.inflight;
      return await fn();
    } finally {
      this.interrupting = false;
      if (!this.lastRunReported && !this.kind) this.continue();
    }
  }

  /** Waits for the action in flight (after a halt). */
  async settle(): Promise<void> {
    await this.inflight;
  }
}
