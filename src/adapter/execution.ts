// Running and stopping the target. One resume command is in flight at a time; Pause is `halt`
// (Delve allows it while a continue runs); breakpoint changes while running halt, apply and
// continue without a visible stop. Instruction steps always carry a timeout.
import type { DelveClient } from '../delve/delveClient';
import { DelveConnectionClosedError, DelveTimeoutError } from '../delve/delveErrors';
import type { DebuggerState } from '../delve/delveTypes';

export type ResumeKind = 'continue' | 'next' | 'step' | 'stepOut' | 'stepInstruction' | 'nextInstruction' | 'task';

export interface StopInfo {
  state: DebuggerState;
  kind: ResumeKind;
  /** The user pressed Pause. */
  paused: boolean;
  /** Set by tasks (the bluepill engine): the stop reason and text the UI shows. */
  reason?: string;
  description?: string;
}

/** The resume kinds that are one Delve command. */
export type CommandKind = Exclude<ResumeKind, 'task'>;

/** What a task (a sequence of Delve calls run as one user action) ends with. */
export interface TaskResult {
  state: DebuggerState;
  reason?: string;
  description?: string;
}

/** What the session did with a stop: told the UI, or wants the target to go on (a logpoint). */
export type StopVerdict = 'reported' | 'resume';

export const INSTRUCTION_STEP_TIMEOUT_MS = 10_000;

export class Execution {
  private inflight: Promise<void> | undefined;
  private pauseRequested = false;
  private interrupting = false;
  private lastRunReported = false;
  private nextInProgress = false;
  private runningFlag = false;
  private abort: AbortController | undefined;

  constructor(
    private readonly client: DelveClient,
    private readonly onStop: (info: StopInfo) => Promise<StopVerdict>,
    private readonly onError: (message: string) => void,
  ) {}

  get running(): boolean {
    return this.runningFlag;
  }

  /** Starts a resume command; the stop arrives through onStop. */
  resume(kind: CommandKind, threadId?: number, goroutineId?: number): void {
    this.runningFlag = true;
    this.inflight = this.run(kind, threadId, goroutineId);
  }

  /**
   * Runs a multi-call operation (e.g. a bluepill step) as one resume: the target counts as
   * running, Pause aborts `signal` and halts Delve, and the returned state is reported as the stop.
   * The task must pass `signal` (or a timeout) to every Delve call that resumes the target.
   */
  runTask(task: (signal: AbortSignal) => Promise<TaskResult>): void {
    this.runningFlag = true;
    this.lastRunReported = false;
    const abort = new AbortController();
    this.abort = abort;
    this.inflight = (async () => {
      let result: TaskResult;
      try {
        result = await task(abort.signal);
      } catch (err) {
        this.runningFlag = false;
        if (err instanceof DelveConnectionClosedError) return;
        if (!abort.signal.aborted) this.onError((err as Error).message);
        const st = await this.client.state(true, { timeoutMs: 5_000 }).catch(() => undefined);
        const paused = this.pauseRequested;
        this.pauseRequested = false;
        if (st && !st.Running) await this.report({ state: st, kind: 'task', paused });
        return;
      } finally {
        this.abort = undefined;
      }
      this.runningFlag = false;
      const paused = this.pauseRequested;
      this.pauseRequested = false;
      await this.report({ state: result.state, kind: 'task', paused, reason: result.reason, description: result.description });
    })();
  }

  private async run(kind: CommandKind, threadId: number | undefined, goroutineId: number | undefined): Promise<void> {
    let state: DebuggerState;
    this.lastRunReported = false;
    try {
      if (this.nextInProgress && kind !== 'continue') {
        await this.client.rpc.call('CancelNext', {});
        this.nextInProgress = false;
      }
      if (kind === 'stepInstruction') {
        if (threadId !== undefined) await this.client.switchThread(threadId);
        state = await this.client.stepInstruction({ timeoutMs: INSTRUCTION_STEP_TIMEOUT_MS });
      } else if (kind === 'nextInstruction') {
        state = await this.nextInstruction(threadId);
      } else if (kind === 'continue') {
        state = await this.client.continue({ timeoutMs: 0 });
      } else {
        if (goroutineId !== undefined && goroutineId > 0) await this.client.switchGoroutine(goroutineId);
        else if (threadId !== undefined) await this.client.switchThread(threadId);
        state = await this.client.command(kind, { timeoutMs: 0 });
      }
    } catch (err) {
      this.runningFlag = false;
      if (err instanceof DelveConnectionClosedError) return; // the session's lost handler reports it
      if (err instanceof DelveTimeoutError) {
        const halted = await this.client.halt({ timeoutMs: 5_000 }).catch(() => undefined);
        this.onError(`The instruction step did not finish within ${INSTRUCTION_STEP_TIMEOUT_MS / 1000} s (the thread may be in a blocking system call, which a single step cannot pass). Set a breakpoint after it and continue instead.`);
        if (halted) await this.report({ state: halted, kind, paused: true });
        return;
      }
      this.onError(`${kind} failed: ${(err as Error).message}`);
      const st = await this.client.state(true, { timeoutMs: 5_000 }).catch(() => undefined);
      if (st && !st.Running) await this.report({ state: st, kind, paused: false });
      return;
    }
    this.runningFlag = false;
    this.nextInProgress = state.NextInProgress;
    const hitBreakpoint = (state.currentThread?.breakPoint?.id ?? 0) !== 0;
    if (this.interrupting && !hitBreakpoint && !state.exited) return;
    const paused = this.pauseRequested;
    this.pauseRequested = false;
    await this.report({ state, kind, paused });
  }

  /**
   * One instruction, over calls. Delve 1.20 has no nextInstruction command: step the instruction,
   * and when it was a call, step out of the callee (a continue that Pause can stop).
   */
  private async nextInstruction(threadId: number | undefined): Promise<DebuggerState> {
    const st = threadId !== undefined ? await this.client.switchThread(threadId) : await this.client.state(false);
    const pc = st.currentThread?.pc;
    const insn = pc === undefined ? undefined : (await this.client.disassemble(pc, pc + 16).catch(() => []))[0];
    const after = await this.client.stepInstruction({ timeoutMs: INSTRUCTION_STEP_TIMEOUT_MS });
    if (!insn || !/^(CALL|BL|BLR)\b/.test(insn.Text) || after.exited) return after;
    return this.client.command('stepOut', { timeoutMs: 0 });
  }

  private async report(info: StopInfo): Promise<void> {
    const verdict = await this.onStop(info);
    if (verdict === 'resume' && !this.interrupting) this.resume('continue');
    else this.lastRunReported = verdict === 'reported';
  }

  /** Pause: halt a running target (the in-flight command then reports the stop). */
  async pause(): Promise<boolean> {
    if (!this.runningFlag) return false;
    this.pauseRequested = true;
    this.abort?.abort();
    await this.client.halt({ timeoutMs: 10_000 });
    return true;
  }

  /** Runs `fn` with the target stopped; a target that was running goes on afterwards. */
  async withTargetStopped<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.runningFlag) return fn();
    this.interrupting = true;
    try {
      await this.client.halt({ timeoutMs: 10_000 });
      await this.inflight;
      return await fn();
    } finally {
      this.interrupting = false;
      if (!this.lastRunReported && !this.runningFlag && !this.client.rpc.closed) this.resume('continue');
    }
  }

  /** Waits for the in-flight command (after a halt). */
  async settle(): Promise<void> {
    await this.inflight;
  }
}
