// Everything a DAP session has once attached: the target and its Delve, the guarded engine (one
// code reader, one symbolizer), breakpoints, execution, the bluepill requests, threads and stacks.
// Built once by `AttachedSession.attach`; the DAP session's handlers call into it.
import { BreakpointEvent, OutputEvent, StoppedEvent, Event } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { ResolvedAttachConfig } from '../config/attachConfig';
import type { DelveClient } from '../delve/delveClient';
import type { EvalScope, Thread } from '../delve/delveTypes';
import { GuardedEngine } from '../bluepill/guardedEngine';
import type { SymbolRef } from '../bluepill/symbolizer';
import { VdsoSymbolizer } from '../bluepill/vdsoSymbolizer';
import { attachTarget, type AttachedTarget } from '../target/attachTarget';
import { fetchSandboxBinary, type FetchedBinary } from '../transport/fetchBinary';
import { AttachedEvent, type FetchBinaryResponseBody } from '../protocol/bluepillMessages';
import type { VcpuThread } from '../linux/vcpuThreads';
import { BluepillRequests } from './bluepillRequests';
import { BinaryLines } from './binaryLines';
import { BreakpointBook } from './breakpoints';
import { runConsoleCommand } from './consoleCommands';
import { Execution, type StopInfo, type StopVerdict, type TaskResult } from './execution';
import { errorText } from './errorText';
import { Inspection } from './inspection';
import { processExitStatus } from './processExit';
import { ProgressReporter } from './progressReporter';
import { renderLogMessage } from './logMessage';
import { StackCache } from './stackCache';
import { runsVcpuCode, sortThreads, threadName, type VcpuLabel } from './threadNames';
import { formatValue } from './variableView';

/** What the attached state needs from the DAP session around it. */
export interface SessionHost {
  sendEvent(event: DebugProtocol.Event): void;
  /** The client shows DAP progress (initialize's supportsProgressReporting). */
  readonly supportsProgress: boolean;
  console(text: string, category?: 'console' | 'stderr'): void;
  /** The session is over without the user asking (Delve or the link gone, the sandbox exited). */
  terminated(message: string): void;
}

type LineStep = 'next' | 'step' | 'stepOut';

export class AttachedSession {
  readonly engine: GuardedEngine;
  readonly book: BreakpointBook;
  readonly execution: Execution;
  readonly bluepill: BluepillRequests;
  readonly stacks: StackCache;
  readonly inspection: Inspection;
  readonly progress: ProgressReporter;
  private threads: Thread[] = [];
  /** Threads seen running a vCPU at the last stop, by tid. */
  private vcpus = new Map<number, VcpuLabel>();
  private vcpusRead: readonly VcpuThread[] = [];
  /** Stops reported so far, and the stop at which the vCPU threads were last read. */
  private stops = 0;
  private vcpusReadAt = -1;
  private currentThread: number;
  private ended = false;
  /** The thread of the last Pause request, until the stop it caused is reported. */
  private pausedThread: number | undefined;
  private binary: Promise<FetchedBinary> | undefined;
  private vdsoSymbols: VdsoSymbolizer | undefined;

  /** Reaches the target, starts Delve there and connects; the session is ready for configurationDone. */
  static async attach(config: ResolvedAttachConfig, host: SessionHost): Promise<AttachedSession> {
    const target = await attachTarget(config, {
      log: (line) => host.console(line),
      // "trace": Delve RPC traffic goes to the Debug Console.
      trace: config.trace ? (e) => host.console(`[rpc ${e.direction}] ${e.body.slice(0, 2000)}`) : undefined,
    });
    let currentThread: number;
    try {
      const state = await target.client.state(false, { timeoutMs: 30_000 });
      currentThread = state.currentThread?.id ?? target.pid;
    } catch (err) {
      await target.disconnect();
      throw new Error(`Attached, but Delve did not answer: ${(err as Error).message}`, { cause: err });
    }
    const session = new AttachedSession(config, target, host, currentThread);
    try {
      await session.refreshThreads();
    } catch (err) {
      await target.disconnect();
      throw new Error(`Attached, but Delve did not answer: ${(err as Error).message}`, { cause: err });
    }
    const where = target.sandbox ? `sandbox ${target.sandbox.containerId} (pid ${target.pid})` : `pid ${target.pid}`;
    host.console(`Attached to ${where} on ${target.where} with Delve ${target.delveVersion}. Type -help in the Debug Console for commands.`);
    return session;
  }

  private constructor(
    readonly config: ResolvedAttachConfig,
    readonly target: AttachedTarget,
    private readonly host: SessionHost,
    currentThread: number,
  ) {
    this.currentThread = currentThread;
    this.progress = new ProgressReporter((ev) => host.sendEvent(ev), host.supportsProgress);
    target.onLost((message) => this.lose(message));
    // Delve has no line tables for a stripped binary: source lines come from its .gopclntab.
    const lines = target.binary?.stripped ? new BinaryLines(async () => (await this.fetchBinary()).path) : undefined;
    this.engine = new GuardedEngine(target.client, {
      symbolFallback: { symbolize: (addr) => this.vdsoSymbol(addr) },
      onProgress: (threadId, message) => this.progress.update(threadId, message),
      pendingSignals: () => target.procFiles.pendingSignals(target.pid),
    });
    const engine = this.engine;

    this.book = new BreakpointBook(
      target.client,
      config.substitutePath,
      (addr) => engine.breakpointVerdict(addr, target.pid),
      lines && ((remote, line) => lines.addresses(remote, line)),
    );
    this.execution = new Execution(
      { engine, state: () => target.client.state(true, { timeoutMs: 5_000 }) },
      (info) => this.onStop(info),
      (err) => this.reportError(err),
    );
    this.stacks = new StackCache(target.client, engine.code, engine.symbolizer, () => this.threads);
    this.inspection = new Inspection({
      client: target.client,
      config,
      stacks: this.stacks,
      symbolizer: engine.symbolizer,
      ...(lines ? { positionOf: (pc: number) => lines.position(pc) } : {}),
      isCode: async (addr: number) =>
        (await target.procFiles.mapsReader().read(target.pid)).regions.some((r) => r.permissions.includes('x') && addr >= r.start && addr < r.end),
      strippedBinary: target.binary?.stripped ? target.binary.path.split('/').pop() : undefined,
      threads: () => this.threads,
      currentThreadId: () => this.currentThread,
    });
    this.bluepill = new BluepillRequests({
      delve: target.client,
      engine,
      stopped: () => !this.execution.running,
      runEngineTask: (task) => this.runEngineTask(task),
      sendEvent: (ev) => host.sendEvent(ev),
      progress: this.progress,
    });
  }

  get client(): DelveClient {
    return this.target.client;
  }

  get running(): boolean {
    return this.execution.running;
  }

  /** The event the extension waits for to fetch the sandbox's binary. */
  attachedEvent(): DebugProtocol.Event {
    return new Event(AttachedEvent.event, { pid: this.target.pid, where: this.target.where }) as DebugProtocol.Event;
  }

  configurationDone(): void {
    if (this.config.stopOnAttach) {
      void this.reportStop(this.currentThread, 'entry', 'Attached (stopOnAttach)');
    } else {
      this.host.console('The sandbox keeps running; press Pause to stop it.');
      this.execution.continue();
    }
  }

  /** Stops what runs (one halt), leaves no SIGTRAP of ours pending, detaches: the sandbox keeps running. */
  async disconnect(): Promise<void> {
    this.ended = true;
    try {
      if (this.execution.running) {
        await this.execution.pause().catch(() => undefined);
        await this.execution.settle().catch(() => undefined);
      }
      const note = await this.engine.quiesceForDetach().catch((e: Error) => e.message);
      if (note) this.host.console(`Detach: ${note}`);
      await this.target.disconnect();
      this.host.console(`Detached from pid ${this.target.pid} on ${this.target.where}; the sandbox keeps running.`);
    } catch (err) {
      this.host.console(`Detach: ${errorText(err)}`, 'stderr');
    }
  }

  /** The sandbox's binary as a local file (copied once over SSH, cached by Go build ID). */
  async fetchBinary(): Promise<FetchBinaryResponseBody> {
    if (this.config.symbolFile) return { path: this.config.symbolFile, buildId: undefined, cached: true, bytes: 0 };
    this.binary ??= fetchSandboxBinary(this.target.runner, this.target.pid, this.config.sudo);
    try {
      return await this.binary;
    } catch (err) {
      this.binary = undefined;
      throw new Error(`Copying the sandbox's binary: ${(err as Error).message}`, { cause: err });
    }
  }

  // ---- running and stopping ----

  /**
   * Runs an engine operation (a sequence of Delve calls) as one user action: the target counts as
   * running, Pause aborts `signal` (the engine halts once), and the state it returns is reported as
   * the stop, with its thread, reason and description.
   */
  runEngineTask(task: (signal: AbortSignal) => Promise<TaskResult>): void {
    this.execution.runTask(task);
  }

  continue(): void {
    this.execution.continue();
  }

  /**
   * Pauses; resolves with what is left to do once the UI has its answer (report a stopped target's
   * stop). The stop is reported on `threadId`, the thread the user paused, unless a step names its own.
   */
  async pause(threadId: number | undefined): Promise<() => Promise<void>> {
    this.pausedThread = threadId;
    const wasRunning = await this.execution.pause();
    return wasRunning ? async () => undefined : () => this.reportStop(threadId ?? this.currentThread, 'pause');
  }

  /**
   * The client's Cancel on a progress (or on a pending request): ends the wait as Pause does.
   * False when there is nothing of ours to cancel.
   */
  async cancel(args: DebugProtocol.CancelArguments): Promise<boolean> {
    const threadId = args.progressId !== undefined ? this.progress.threadOf(args.progressId) : undefined;
    if (args.progressId !== undefined && threadId === undefined) return false;
    if (!this.execution.running) return false;
    this.pausedThread = threadId;
    await this.execution.pause();
    return true;
  }

  /**
   * A step through the engine's guards: never single-step a syscall, a blocking wait or the vDSO,
   * and no breakpoint of Delve's in code that runs only in guest mode.
   */
  step(
    threadId: number,
    granularity: DebugProtocol.SteppingGranularity | undefined,
    line: LineStep,
    instruction: 'stepInstruction' | 'nextInstruction' | undefined,
  ): void {
    const engine = this.engine;
    this.runEngineTask(async (signal) => {
      try {
        const r =
          granularity === 'instruction' && instruction
            ? await engine.instructionStep(threadId, instruction === 'nextInstruction', signal)
            : await engine.lineStep(threadId, line, signal);
        return { state: r.state, threadId: r.threadId, reason: 'step', description: r.description || undefined };
      } finally {
        this.progress.done(threadId);
      }
    });
  }

  /** A Debug Console command (`-threads`, `-si`, …); see ./consoleCommands.ts. */
  consoleCommand(line: string): Promise<string> {
    return runConsoleCommand(line, {
      client: this.client,
      threads: async () => {
        await this.refreshThreads();
        return this.threads;
      },
      currentThreadId: () => this.currentThread,
      stack: async (tid, depth) => (await this.stacks.get(tid, depth)).frames,
      stepInstructions: (tid, count) =>
        this.runEngineTask(async (signal) => {
          try {
            const r = await this.engine.stepInstructions(tid, count, signal);
            return { state: r.state, threadId: tid, reason: 'step', description: r.description };
          } finally {
            this.progress.done(tid);
          }
        }),
      addBreakpoint: async (spec) => {
        const bp = await this.execution.withTargetStopped(() => this.book.addConsole(spec));
        // DAP: a breakpoint the adapter made on its own is announced with a `breakpoint` event.
        if (bp.verified && bp.id !== undefined) this.host.sendEvent(new BreakpointEvent('new', bp) as DebugProtocol.BreakpointEvent);
        return bp;
      },
      listBreakpoints: () => this.book.consoleList(),
      clearBreakpoint: async (id) => {
        const done = await this.execution.withTargetStopped(() => this.book.clearConsole(id));
        if (done) this.host.sendEvent(new BreakpointEvent('removed', { id, verified: false }) as DebugProtocol.BreakpointEvent);
        return done;
      },
    });
  }

  /** The threads for the UI: fresh while stopped; while running Delve cannot list them, so the last stop's. */
  async threadsForUi(): Promise<DebugProtocol.Thread[]> {
    if (!this.execution.running) await this.refreshThreads().catch(() => undefined);
    return this.threads.map((t) => ({ id: t.id, name: threadName(t, this.vcpus.get(t.id)) }));
  }

  /** Tells the UI the target stopped on `threadId`, with our own reason text. */
  async reportStop(threadId: number, reason: string, description?: string): Promise<void> {
    this.stops++;
    this.currentThread = threadId;
    this.stacks.clear();
    this.inspection.reset();
    await this.refreshThreads().catch(() => undefined);
    // Before the stopped event: once the UI knows the target stopped it may resume it, and Delve
    // answers no query while the target runs.
    await this.bluepill.reportLocation(threadId);
    const ev = new StoppedEvent(reason, threadId) as DebugProtocol.StoppedEvent;
    ev.body.allThreadsStopped = true;
    if (description) ev.body.description = description;
    this.host.sendEvent(ev);
  }

  private async onStop(info: StopInfo): Promise<StopVerdict> {
    const { state } = info;
    if (this.ended) return 'reported';
    if (state.exited) {
      this.lose(`The sandbox process ${this.target.pid} exited (status ${state.exitStatus}). The debug session is over.`);
      return 'reported';
    }
    const th = state.currentThread;
    const bp = th?.breakPoint;
    if (th && bp && bp.id > 0 && !info.paused) {
      const parts = this.book.logpoint(bp.id);
      if (parts) {
        const scope: EvalScope = th.goroutineID > 0 ? { GoroutineID: th.goroutineID, Frame: 0 } : { GoroutineID: -1, Frame: 0 };
        const text = await renderLogMessage(parts, async (expr) => formatValue(await this.client.eval(expr, scope)));
        this.host.sendEvent(new OutputEvent(text + '\n', 'console'));
        if (info.kind === 'continue') return 'resume';
      }
    }
    const paused = info.paused ? this.pausedThread : undefined;
    this.pausedThread = undefined;
    const tid = info.threadId ?? (paused !== undefined && this.threads.some((t) => t.id === paused) ? paused : undefined) ?? th?.id ?? this.currentThread;
    let reason = info.reason ?? 'step';
    let description: string | undefined = info.description;
    if (info.paused) reason = 'pause';
    else if (bp && bp.id < 0) {
      reason = 'exception';
      description = bp.name || 'runtime error';
    } else if (bp && bp.id > 0) {
      reason = this.book.isInstruction(bp.id) ? 'instruction breakpoint' : this.book.isFunction(bp.id) ? 'function breakpoint' : 'breakpoint';
      // No text of ours: VS Code then shows the reason ("Paused on instruction breakpoint") and the
      // Call Stack keeps room for the thread's name.
      description = undefined;
    } else if (info.kind === 'continue') reason = 'pause';
    await this.reportStop(tid, reason, description);
    return 'reported';
  }

  private lastError: string | undefined;

  /** An error of a running action: the sandbox's exit ends the session; anything else is said once. */
  private reportError(err: unknown): void {
    const status = processExitStatus(err);
    if (status !== undefined) return this.lose(`The sandbox process ${this.target.pid} exited (status ${status}). The debug session is over.`);
    const text = errorText(err);
    if (text === this.lastError) return;
    this.lastError = text;
    this.host.console(text, 'stderr');
  }

  private lose(message: string): void {
    if (this.ended) return;
    this.ended = true;
    this.host.terminated(message);
  }

  private async refreshThreads(): Promise<void> {
    const [threads, inKvmRun] = await Promise.all([this.client.listThreads(), this.vcpuThreadsNow()]);
    // Only this stop's evidence: gVisor hands vCPUs from thread to thread (machine.Get), so a label
    // from an earlier stop could be wrong now.
    const vcpus = new Map<number, VcpuLabel>(inKvmRun.map((v) => [v.tid, { id: v.vcpu }]));
    for (const t of threads) if (runsVcpuCode(t) && !vcpus.has(t.id)) vcpus.set(t.id, { id: undefined });
    this.vcpus = vcpus;
    this.threads = sortThreads(threads, this.target.pid, vcpus);
  }

  /**
   * The threads in KVM_RUN, read once per stop (the threads request comes often). Before the first
   * stop, the read made just before Delve attached: on real KVM a stopped vCPU is out of KVM_RUN.
   * Best effort: /proc may be unreadable, and that is no error.
   */
  private async vcpuThreadsNow(): Promise<readonly VcpuThread[]> {
    if (this.stops === 0) return this.target.vcpusBeforeAttach;
    if (this.vcpusReadAt !== this.stops) {
      this.vcpusReadAt = this.stops;
      this.vcpusRead = await this.target.procFiles.vcpuThreads(this.target.pid).catch(() => []);
    }
    return this.vcpusRead;
  }

  /** Names addresses Delve knows nothing of, such as the vDSO trampoline (`[vdso]+0x7bc`). */
  private vdsoSymbol(addr: number): Promise<SymbolRef | undefined> {
    this.vdsoSymbols ??= new VdsoSymbolizer(this.target.procFiles.mapsReader(), this.target.pid);
    return this.vdsoSymbols.symbolize(addr);
  }
}
