// The DAP session: translates DAP requests into Delve calls. Logic lives in small files next to
// this one; the bluepill engine (src/bluepill) plugs in through `delve`, `currentThreadId` and
// `reportStop`.
import {
  Handles,
  InitializedEvent,
  Logger,
  logger,
  LoggingDebugSession,
  OutputEvent,
  StoppedEvent,
  TerminatedEvent,
  Thread as DapThread,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { ConfigError, MAX_STACK_FRAMES, resolveAttachConfig, type ResolvedAttachConfig } from '../config/attachConfig';
import { remoteToLocal } from '../config/substitutePath';
import { DEFAULT_LOAD_CONFIG, type DelveClient } from '../delve/delveClient';
import type { EvalScope, Stackframe, Thread, Variable } from '../delve/delveTypes';
import { attachTarget, type AttachedTarget } from '../transport/attachTarget';
import { hex, parseAddress } from './addresses';
import { BreakpointBook } from './breakpoints';
import { isConsoleCommand, runConsoleCommand } from './consoleCommands';
import { disassembleRequest } from './disassembly';
import { Execution, type StopInfo, type StopVerdict, type TaskResult } from './execution';
import { renderLogMessage } from './logMessage';
import { BluepillRequests } from './bluepillRequests';
import { GuardedEngine } from '../bluepill/guardedEngine';
import { parsePendingMasks, PENDING_SIGNALS_SCRIPT } from '../linux/pendingSignals';
import { fetchSandboxBinary, type FetchedBinary } from '../transport/fetchBinary';
import { ATTACHED_EVENT, FETCH_BINARY_REQUEST } from '../protocol/bluepillMessages';
import { withSignalFrame, type MaybeSynthetic } from './signalFrameStack';
import { VdsoSymbolizer } from '../bluepill/vdsoSymbolizer';
import { formatSymbol, type SymbolRef } from '../bluepill/symbolizer';
import type { MachineContext } from '../bluepill/machineContext';
import { PROGRESS_EVENT } from '../protocol/bluepillMessages';
import { localMapsReader, mapsReaderFrom, type MapsReader } from '../linux/processMaps';
import { Event } from '@vscode/debugadapter';
import { sortThreads, threadName } from './threadNames';
import { childrenOf, formatValue, hexOfDecimal, isCompound, isUnsignedInteger, memoryReferenceOf, needsReload } from './variableView';

type FrameRef = { threadId: number; frame: number };
type VarRef =
  | { kind: 'locals' | 'args' | 'registers'; threadId: number; frame: number }
  | { kind: 'ucontext'; context: MachineContext }
  | { kind: 'value'; variable: Variable; evaluateName: string | undefined; scope: EvalScope };

export class BluepillDebugSession extends LoggingDebugSession {
  private config: ResolvedAttachConfig | undefined;
  private target: AttachedTarget | undefined;
  private book: BreakpointBook | undefined;
  private execution: Execution | undefined;
  private threads: Thread[] = [];
  private currentThread: number | undefined;
  private readonly stacks = new Map<number, Stackframe[]>();
  private frameHandles = new Handles<FrameRef>();
  private varHandles = new Handles<VarRef>();
  private ended = false;
  private readonly bluepill: BluepillRequests;
  private engine: GuardedEngine | undefined;

  constructor() {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- getters below read the live session
    const session = this;
    this.bluepill = new BluepillRequests({
      get delve() {
        return session.delve;
      },
      get engine() {
        return session.engine;
      },
      get stopped() {
        return !!session.target && !session.execution?.running;
      },
      runEngineTask: (task) => this.runEngineTask(task),
      sendEvent: (ev) => this.sendEvent(ev),
    });
  }

  protected override async customRequest(command: string, response: DebugProtocol.Response, args: unknown): Promise<void> {
    if (command === FETCH_BINARY_REQUEST) {
      try {
        response.body = await this.fetchBinary();
        this.sendResponse(response);
      } catch (err) {
        this.binary = undefined;
        this.fail(response, `Copying the sandbox's binary: ${(err as Error).message}`);
      }
      return;
    }
    if (!BluepillRequests.handles(command)) {
      super.customRequest(command, response, args);
      return;
    }
    try {
      response.body = await this.bluepill.handle(command, args);
      this.sendResponse(response);
    } catch (err) {
      this.fail(response, (err as Error).message);
    }
  }

  // ---- the seam for the bluepill engine ----

  /** The Delve client of this session (undefined before attach). */
  get delve(): DelveClient | undefined {
    return this.target?.client;
  }

  /** The OS thread the UI last stopped on. */
  get currentThreadId(): number | undefined {
    return this.currentThread;
  }

  /**
   * Runs an engine operation (a sequence of Delve calls) as one user action: the target counts as
   * running, Pause aborts `signal` (the engine halts once), and the state it returns is reported as
   * the stop, with its thread, reason and description.
   */
  runEngineTask(task: (signal: AbortSignal) => Promise<TaskResult>): void {
    if (!this.target || !this.execution) throw new Error('not attached');
    this.execution.runTask(task);
  }

  /** Tells the UI the target stopped on `threadId`, with our own reason text. */
  async reportStop(threadId: number, reason: string, description?: string): Promise<void> {
    await this.refreshAfterStop(threadId);
    // Before the stopped event: once the UI knows the target stopped it may resume it, and Delve
    // answers no query while the target runs.
    await this.bluepill.reportLocation(threadId);
    const ev = new StoppedEvent(reason, threadId) as DebugProtocol.StoppedEvent;
    ev.body.allThreadsStopped = true;
    if (description) ev.body.description = description;
    this.sendEvent(ev);
  }

  // ---- lifecycle ----

  protected override initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = {
      supportsConfigurationDoneRequest: true,
      supportsFunctionBreakpoints: true,
      supportsConditionalBreakpoints: true,
      supportsHitConditionalBreakpoints: true,
      supportsLogPoints: true,
      supportsInstructionBreakpoints: true,
      supportsDisassembleRequest: true,
      supportsReadMemoryRequest: true,
      supportsSteppingGranularity: true,
      supportsSetVariable: true,
      supportsEvaluateForHovers: true,
      supportsDelayedStackTraceLoading: true,
      supportTerminateDebuggee: false,
      supportsTerminateRequest: false,
      supportsRestartRequest: false,
    };
    this.sendResponse(response);
  }

  protected override async attachRequest(response: DebugProtocol.AttachResponse, args: DebugProtocol.AttachRequestArguments): Promise<void> {
    try {
      this.config = resolveAttachConfig(args);
    } catch (err) {
      return this.fail(response, err instanceof ConfigError ? `Invalid launch configuration: ${err.message}` : (err as Error).message);
    }
    const config = this.config;
    // "trace": DAP traffic (the library's logger) and Delve RPC traffic go to the Debug Console.
    if (config.trace) logger.setup(Logger.LogLevel.Verbose, false);
    try {
      this.target = await attachTarget(config, {
        log: (line) => this.console(line),
        trace: config.trace ? (e) => this.console(`[rpc ${e.direction}] ${e.body.slice(0, 2000)}`) : undefined,
      });
    } catch (err) {
      return this.fail(response, (err as Error).message);
    }
    const target = this.target;
    target.onLost((message) => this.lost(message));
    const engine = new GuardedEngine(target.client, {
      symbolFallback: { symbolize: (addr) => this.vdsoSymbol(addr) },
      onProgress: (threadId, message) => this.sendEvent(new Event(PROGRESS_EVENT, { threadId, message, done: false }) as DebugProtocol.Event),
      pendingSignals: async () => {
        const r = await target.runner.run(['sh', '-c', PENDING_SIGNALS_SCRIPT, 'sh', String(target.pid)], { timeoutMs: 10_000 });
        return parsePendingMasks(r.stdout);
      },
    });
    this.engine = engine;
    this.book = new BreakpointBook(target.client, config.substitutePath, (addr) => engine.breakpointVerdict(addr, target.pid));
    this.execution = new Execution({ engine, state: () => target.client.state(true, { timeoutMs: 5_000 }) }, (info) => this.onStop(info), (message) => this.console(message, 'stderr'));
    try {
      const state = await target.client.state(false, { timeoutMs: 30_000 });
      this.currentThread = state.currentThread?.id ?? target.pid;
      await this.refreshThreads();
    } catch (err) {
      await target.disconnect();
      return this.fail(response, `Attached, but Delve did not answer: ${(err as Error).message}`);
    }
    const where = target.sandbox ? `sandbox ${target.sandbox.containerId} (pid ${target.pid})` : `pid ${target.pid}`;
    this.console(`Attached to ${where} on ${target.where} with Delve ${target.delveVersion}. Type -help in the Debug Console for commands.`);
    this.sendResponse(response);
    this.sendEvent(new InitializedEvent());
    this.sendEvent(new Event(ATTACHED_EVENT, { pid: target.pid, where: target.where }) as DebugProtocol.Event);
  }

  /** The sandbox's binary as a local file (copied once over SSH, cached by Go build ID). */
  private async fetchBinary(): Promise<FetchedBinary> {
    const target = this.target;
    if (!target) throw new Error('not attached');
    if (this.config?.symbolFile) return { path: this.config.symbolFile, buildId: undefined, cached: true, bytes: 0 };
    return (this.binary ??= fetchSandboxBinary(target.runner, target.pid, this.config?.sudo ?? false));
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.sendResponse(response);
    if (!this.execution || !this.config) return;
    if (this.config.stopOnAttach) {
      void this.reportStop(this.currentThread ?? this.target!.pid, 'entry', 'Attached (stopOnAttach)');
    } else {
      this.console('The sandbox keeps running; press Pause to stop it.');
      this.execution.continue();
    }
  }

  protected override async disconnectRequest(response: DebugProtocol.DisconnectResponse): Promise<void> {
    this.ended = true;
    try {
      // Stop what runs (one halt), and leave no SIGTRAP of ours pending: the sandbox would die of it after detach.
      if (this.execution?.running) {
        await this.execution.pause().catch(() => undefined);
        await this.execution.settle().catch(() => undefined);
      }
      const note = await this.engine?.quiesceForDetach().catch((e: Error) => e.message);
      if (note) this.console(`Detach: ${note}`);
      await this.target?.disconnect();
    } catch (err) {
      this.console(`Detach: ${(err as Error).message}`, 'stderr');
    }
    this.sendResponse(response);
  }

  private lost(message: string): void {
    if (this.ended) return;
    this.ended = true;
    this.console(message, 'stderr');
    this.sendEvent(new TerminatedEvent());
  }

  // ---- running and stopping ----

  private async onStop(info: StopInfo): Promise<StopVerdict> {
    const { state } = info;
    if (this.ended) return 'reported';
    if (state.exited) {
      this.lost(`The sandbox process exited (status ${state.exitStatus}).`);
      return 'reported';
    }
    const th = state.currentThread;
    const bp = th?.breakPoint;
    if (th && bp && bp.id > 0 && !info.paused) {
      const parts = this.book?.logpoint(bp.id);
      if (parts) {
        const scope: EvalScope = th.goroutineID > 0 ? { GoroutineID: th.goroutineID, Frame: 0 } : { GoroutineID: -1, Frame: 0 };
        const text = await renderLogMessage(parts, async (expr) => formatValue(await this.target!.client.eval(expr, scope)));
        this.sendEvent(new OutputEvent(text + '\n', 'console'));
        if (info.kind === 'continue') return 'resume';
      }
    }
    const tid = info.threadId ?? th?.id ?? this.currentThread ?? this.target!.pid;
    let reason = info.reason ?? 'step';
    let description: string | undefined = info.description;
    if (info.paused) reason = 'pause';
    else if (bp && bp.id < 0) {
      reason = 'exception';
      description = bp.name || 'runtime error';
    } else if (bp && bp.id > 0) {
      reason = this.breakpointReason(bp.id);
      description = `Breakpoint ${bp.id} on thread ${tid}`;
    } else if (info.kind === 'continue') reason = 'pause';
    await this.reportStop(tid, reason, description);
    return 'reported';
  }

  private breakpointReason(id: number): string {
    return this.book?.isInstruction(id) ? 'instruction breakpoint' : this.book?.isFunction(id) ? 'function breakpoint' : 'breakpoint';
  }

  private async refreshAfterStop(threadId: number): Promise<void> {
    this.currentThread = threadId;
    this.stacks.clear();
    this.frameHandles = new Handles<FrameRef>();
    this.varHandles = new Handles<VarRef>();
    await this.refreshThreads().catch(() => undefined);
  }

  private async refreshThreads(): Promise<void> {
    this.threads = sortThreads(await this.target!.client.listThreads(), this.target!.pid);
  }

  protected override async threadsRequest(response: DebugProtocol.ThreadsResponse): Promise<void> {
    // While running, Delve cannot list threads: show the list from the last stop.
    if (this.target && !this.execution?.running) await this.refreshThreads().catch(() => undefined);
    response.body = { threads: this.threads.map((t) => new DapThread(t.id, threadName(t))) };
    this.sendResponse(response);
  }

  protected override async continueRequest(response: DebugProtocol.ContinueResponse): Promise<void> {
    if (!this.ready(response)) return;
    try {
      this.execution!.continue();
    } catch (err) {
      return this.fail(response, (err as Error).message);
    }
    response.body = { allThreadsContinued: true };
    this.sendResponse(response);
  }

  protected override async pauseRequest(response: DebugProtocol.PauseResponse): Promise<void> {
    if (!this.ready(response, true)) return;
    try {
      const wasRunning = await this.execution!.pause();
      this.sendResponse(response);
      if (!wasRunning) await this.reportStop(this.currentThread ?? this.target!.pid, 'pause');
    } catch (err) {
      this.fail(response, `Pause failed: ${(err as Error).message}`);
    }
  }

  private step(response: DebugProtocol.Response, threadId: number, granularity: DebugProtocol.SteppingGranularity | undefined, line: 'next' | 'step' | 'stepOut', instruction: 'stepInstruction' | 'nextInstruction' | undefined): void {
    if (!this.ready(response)) return;
    this.sendResponse(response);
    const engine = this.engine!;
    // Every step goes through the engine's guards: never single-step a syscall, a blocking wait or
    // the vDSO, and no breakpoint of Delve's in code that runs only in guest mode.
    const done = (): void => this.sendEvent(new Event(PROGRESS_EVENT, { threadId, message: '', done: true }) as DebugProtocol.Event);
    this.runEngineTask(async (signal) => {
      try {
        const r = granularity === 'instruction' && instruction
          ? await engine.instructionStep(threadId, instruction === 'nextInstruction', signal)
          : await engine.lineStep(threadId, line, signal);
        return { state: r.state, threadId: r.threadId, reason: 'step', description: r.description || undefined };
      } finally {
        done();
      }
    });
  }

  private maps: MapsReader | undefined;
  private vdsoSymbols: VdsoSymbolizer | undefined;
  private binary: Promise<FetchedBinary> | undefined;

  /** The target's /proc/PID/maps, read here or over SSH (as root when Delve runs as root). */
  private mapsReader(): MapsReader {
    if (this.maps) return this.maps;
    const target = this.target!;
    const sudo = this.config?.sudo ?? false;
    this.maps = target.runner.isLocal && !sudo
      ? localMapsReader()
      : mapsReaderFrom(async (path) => {
          const r = await target.runner.run([...(sudo ? ['sudo', '-n', '--'] : []), 'cat', path], { timeoutMs: 15_000 });
          if (r.code !== 0) throw new Error(`reading ${path} on ${target.where} failed: ${r.stderr.trim()}`);
          return r.stdout;
        });
    return this.maps;
  }

  /** Names addresses Delve knows nothing of, such as the vDSO trampoline (`[vdso]+0x7bc`). */
  private vdsoSymbol(addr: number): Promise<SymbolRef | undefined> {
    if (!this.target) return Promise.resolve(undefined);
    this.vdsoSymbols ??= new VdsoSymbolizer(this.mapsReader(), this.target.pid);
    return this.vdsoSymbols.symbolize(addr);
  }

  protected override nextRequest(response: DebugProtocol.NextResponse, args: DebugProtocol.NextArguments): void {
    this.step(response, args.threadId, args.granularity, 'next', 'nextInstruction');
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse, args: DebugProtocol.StepInArguments): void {
    this.step(response, args.threadId, args.granularity, 'step', 'stepInstruction');
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse, args: DebugProtocol.StepOutArguments): void {
    this.step(response, args.threadId, args.granularity, 'stepOut', undefined);
  }

  // ---- stacks, scopes, variables ----

  /** Frames of an OS thread, at least `depth` deep when the stack has them (cached per stop). */
  async stackOf(threadId: number, depth: number): Promise<Stackframe[]> {
    const cached = this.stacks.get(threadId);
    if (cached && (cached.length >= depth || (cached as Stackframe[] & { complete?: boolean }).complete)) return cached;
    const client = this.target!.client;
    const thread = this.threads.find((t) => t.id === threadId);
    let frames: Stackframe[];
    if (thread && thread.goroutineID > 0) frames = await client.stacktrace(thread.goroutineID, depth);
    else {
      await client.switchThread(threadId);
      frames = await client.stacktrace(-1, depth);
    }
    const complete = frames.length <= depth;
    frames = await withSignalFrame(client, threadId, frames, this.engine!.code, this.engine!.symbolizer);
    const withFlag = frames as Stackframe[] & { complete?: boolean };
    withFlag.complete = complete || frames.some((f) => (f as MaybeSynthetic).synthetic);
    this.stacks.set(threadId, withFlag);
    return withFlag;
  }

  protected override async stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): Promise<void> {
    if (!this.ready(response)) return;
    const start = args.startFrame ?? 0;
    const levels = args.levels && args.levels > 0 ? args.levels : this.config!.stackTraceDepth;
    const want = Math.min(MAX_STACK_FRAMES, start + levels);
    try {
      const frames = await this.stackOf(args.threadId, want);
      const complete = frames.length <= want || want >= MAX_STACK_FRAMES;
      const page = frames.slice(start, Math.min(want, frames.length));
      // Frames Delve cannot name (the vDSO) are named as everywhere else: `[vdso]+0x7bc`.
      const unnamed = await Promise.all(page.map((f) => (f.function?.name ? undefined : this.engine!.symbolizer.symbolize(f.pc).catch(() => undefined))));
      const stackFrames: DebugProtocol.StackFrame[] = page.map((f, i) => {
        const frame = start + i;
        const name = f.function?.name ?? formatSymbol(f.pc, unnamed[i]);
        const sf: DebugProtocol.StackFrame = {
          id: this.frameHandles.create({ threadId: args.threadId, frame }),
          name: f.Err ? `${name} (${f.Err})` : name,
          line: f.line,
          column: 0,
          instructionPointerReference: hex(f.pc),
        };
        if (f.file) sf.source = { name: f.file.split('/').pop(), path: remoteToLocal(f.file, this.config!.substitutePath) };
        else sf.presentationHint = 'subtle';
        if ((f as MaybeSynthetic).synthetic === 'signal-handler-called') sf.presentationHint = 'label';
        return sf;
      });
      response.body = { stackFrames, totalFrames: complete ? Math.min(frames.length, MAX_STACK_FRAMES) : want + 1 };
      this.sendResponse(response);
    } catch (err) {
      this.fail(response, `Stack of thread ${args.threadId}: ${(err as Error).message}`);
    }
  }

  /** The Delve scope of a frame of an OS thread; threads without a goroutine are selected first. */
  private async evalScope(threadId: number, frame: number): Promise<EvalScope> {
    const t = this.threads.find((x) => x.id === threadId);
    if (t && t.goroutineID > 0) return { GoroutineID: t.goroutineID, Frame: frame };
    await this.target!.client.switchThread(threadId);
    return { GoroutineID: -1, Frame: frame };
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    const ref = this.frameHandles.get(args.frameId);
    if (!ref) return this.fail(response, 'That frame is gone (the target ran since).');
    const mk = (kind: 'locals' | 'args' | 'registers'): number => this.varHandles.create({ kind, threadId: ref.threadId, frame: ref.frame });
    // Frames unwound through the signal frame are ours, not Delve's: Delve has no scope for them;
    // the interrupted one has the registers the kernel saved in the ucontext.
    const made = this.stacks.get(ref.threadId)?.[ref.frame] as MaybeSynthetic | undefined;
    if (made?.synthetic) {
      response.body = {
        scopes: made.context
          ? [{ name: `Registers (interrupted, from the ucontext at ${hex(made.ucontextAddress ?? 0)})`, presentationHint: 'registers', variablesReference: this.varHandles.create({ kind: 'ucontext', context: made.context }), expensive: false }]
          : [],
      };
      return this.sendResponse(response);
    }
    response.body = {
      scopes: [
        { name: 'Locals', presentationHint: 'locals', variablesReference: mk('locals'), expensive: false },
        { name: 'Arguments', presentationHint: 'arguments', variablesReference: mk('args'), expensive: false },
        { name: ref.frame === 0 ? `Registers (thread ${ref.threadId})` : `Registers (frame ${ref.frame}, unwound)`, presentationHint: 'registers', variablesReference: mk('registers'), expensive: false },
      ],
    };
    this.sendResponse(response);
  }

  private toDapVariable(name: string, v: Variable, evaluateName: string | undefined, scope: EvalScope): DebugProtocol.Variable {
    const out: DebugProtocol.Variable = {
      name,
      value: formatValue(v),
      type: v.type,
      variablesReference: isCompound(v) ? this.varHandles.create({ kind: 'value', variable: v, evaluateName, scope }) : 0,
    };
    if (evaluateName) out.evaluateName = evaluateName;
    const mem = memoryReferenceOf(v);
    if (mem) out.memoryReference = mem;
    return out;
  }

  protected override async variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): Promise<void> {
    const ref = this.varHandles.get(args.variablesReference);
    if (!ref || !this.target) return this.fail(response, 'Those variables are gone (the target ran since).');
    const client = this.target.client;
    try {
      let variables: DebugProtocol.Variable[];
      if (ref.kind === 'ucontext') {
        variables = ref.context.registers.map((r) => ({ name: r.name, value: `0x${r.value.toString(16)}`, variablesReference: 0, memoryReference: `0x${r.value.toString(16)}` }));
      } else if (ref.kind === 'value') {
        let parent = ref.variable;
        if (needsReload(parent) && ref.evaluateName) parent = await client.eval(ref.evaluateName, ref.scope, DEFAULT_LOAD_CONFIG);
        variables = childrenOf(parent, ref.evaluateName).map((c) => this.toDapVariable(c.name, c.variable, c.evaluateName, ref.scope));
      } else if (ref.kind === 'registers') {
        const regs = ref.frame === 0
          ? await client.listRegisters(ref.threadId, false)
          : await client.listRegisters(0, false, await this.evalScope(ref.threadId, ref.frame));
        variables = regs.map((r) => {
          const v: DebugProtocol.Variable = { name: r.Name, value: r.Value, variablesReference: 0 };
          const addr = parseAddress(r.Value.split(/\s/)[0]);
          if (addr) v.memoryReference = hex(addr);
          return v;
        });
      } else {
        const scope = await this.evalScope(ref.threadId, ref.frame);
        const vars = ref.kind === 'locals' ? await client.listLocalVars(scope) : await client.listFunctionArgs(scope);
        variables = vars.map((v) => this.toDapVariable(v.name, v, v.name, scope));
      }
      const start = args.start ?? 0;
      response.body = { variables: args.count ? variables.slice(start, start + args.count) : variables.slice(start) };
      this.sendResponse(response);
    } catch (err) {
      this.fail(response, (err as Error).message);
    }
  }

  protected override async setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): Promise<void> {
    const ref = this.varHandles.get(args.variablesReference);
    if (!ref || !this.target) return this.fail(response, 'That variable is gone (the target ran since).');
    if (ref.kind === 'registers' || ref.kind === 'ucontext') return this.fail(response, 'Registers are read-only here (Delve 1.20 cannot set them).');
    try {
      let scope: EvalScope;
      let expr: string | undefined;
      if (ref.kind === 'value') {
        scope = ref.scope;
        expr = childrenOf(ref.variable, ref.evaluateName).find((c) => c.name === args.name)?.evaluateName;
      } else {
        scope = await this.evalScope(ref.threadId, ref.frame);
        expr = args.name;
      }
      if (!expr) return this.fail(response, `${args.name} cannot be named by an expression, so it cannot be set.`);
      await this.target.client.set(expr, args.value, scope);
      const v = await this.target.client.eval(expr, scope);
      response.body = { value: formatValue(v), type: v.type, variablesReference: isCompound(v) ? this.varHandles.create({ kind: 'value', variable: v, evaluateName: expr, scope }) : 0 };
      this.sendResponse(response);
    } catch (err) {
      this.fail(response, `Setting ${args.name}: ${(err as Error).message.replace(/^Delve Set: /, '')}`);
    }
  }

  protected override async evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): Promise<void> {
    if (!this.ready(response)) return;
    const client = this.target!.client;
    try {
      const si = /^-si(?:\s+(\d+))?(?:\s+(\d+))?\s*$/.exec(args.expression.trim());
      if (args.context === 'repl' && si) {
        const count = Math.min(Number(si[1] ?? 1), 10_000);
        const tid = si[2] !== undefined ? Number(si[2]) : this.currentThread;
        if (tid === undefined) return this.fail(response, 'no current thread: -si N TID');
        response.body = { result: `stepping ${count} instruction(s) on thread ${tid}…`, variablesReference: 0 };
        this.sendResponse(response);
        const engine = this.engine!;
        this.runEngineTask(async (signal) => {
          const r = await engine.stepInstructions(tid, count, signal);
          return { state: r.state, threadId: tid, reason: 'step', description: r.description };
        });
        return;
      }
      if (args.context === 'repl' && isConsoleCommand(args.expression)) {
        const text = await runConsoleCommand(args.expression, {
          client,
          threads: async () => { await this.refreshThreads(); return this.threads; },
          currentThreadId: () => this.currentThread,
          stack: (tid, depth) => this.stackOf(tid, depth),
        });
        response.body = { result: text, variablesReference: 0 };
        this.sendResponse(response);
        return;
      }
      const ref = args.frameId !== undefined ? this.frameHandles.get(args.frameId) : undefined;
      const scope = ref ? await this.evalScope(ref.threadId, ref.frame) : this.currentThread !== undefined ? await this.evalScope(this.currentThread, 0) : { GoroutineID: -1, Frame: 0 };
      const v = await client.eval(args.expression, scope);
      const dap = this.toDapVariable(args.expression, v, args.expression, scope);
      // A number that points into code is a PC: shown in hex, as disassembly and stacks show PCs.
      if (isUnsignedInteger(v) && BigInt(v.value) >= 0x1000n && BigInt(v.value) < 1n << 53n) {
        const sym = await this.engine?.symbolizer.symbolize(Number(v.value)).catch(() => undefined);
        if (sym && !sym.name.startsWith('[')) dap.value = hexOfDecimal(v.value) ?? dap.value;
      }
      response.body = { result: dap.value, type: dap.type, variablesReference: dap.variablesReference, memoryReference: dap.memoryReference };
      this.sendResponse(response);
    } catch (err) {
      this.fail(response, (err as Error).message.replace(/^Delve Eval: /, ''));
    }
  }

  // ---- breakpoints ----

  protected override async setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): Promise<void> {
    if (!this.ready(response, true)) return;
    const path = args.source.path;
    if (!path) return this.fail(response, 'Breakpoints need a source with a path.');
    const breakpoints = await this.execution!.withTargetStopped(() => this.book!.setSource(path, args.breakpoints ?? []));
    response.body = { breakpoints };
    this.sendResponse(response);
  }

  protected override async setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): Promise<void> {
    if (!this.ready(response, true)) return;
    response.body = { breakpoints: await this.execution!.withTargetStopped(() => this.book!.setFunctions(args.breakpoints)) };
    this.sendResponse(response);
  }

  protected override async setInstructionBreakpointsRequest(response: DebugProtocol.SetInstructionBreakpointsResponse, args: DebugProtocol.SetInstructionBreakpointsArguments): Promise<void> {
    if (!this.ready(response, true)) return;
    response.body = { breakpoints: await this.execution!.withTargetStopped(() => this.book!.setInstructions(args.breakpoints)) };
    this.sendResponse(response);
  }

  // ---- memory and code ----

  protected override async disassembleRequest(response: DebugProtocol.DisassembleResponse, args: DebugProtocol.DisassembleArguments): Promise<void> {
    if (!this.ready(response)) return;
    const base = parseAddress(args.memoryReference);
    if (base === undefined) return this.fail(response, `"${args.memoryReference}" is not an address.`);
    try {
      const instructions = await disassembleRequest(this.target!.client, args, base + (args.offset ?? 0), (p) => remoteToLocal(p, this.config!.substitutePath));
      response.body = { instructions };
      this.sendResponse(response);
    } catch (err) {
      this.fail(response, `Disassemble: ${(err as Error).message}`);
    }
  }

  protected override async readMemoryRequest(response: DebugProtocol.ReadMemoryResponse, args: DebugProtocol.ReadMemoryArguments): Promise<void> {
    if (!this.ready(response)) return;
    const base = parseAddress(args.memoryReference);
    if (base === undefined) return this.fail(response, `"${args.memoryReference}" is not an address.`);
    const address = base + (args.offset ?? 0);
    const client = this.target!.client;
    try {
      const data = await client.examineMemory(address, args.count);
      await this.hideOurBreakpoints(address, data);
      response.body = { address: hex(address), data: data.toString('base64') };
    } catch {
      response.body = { address: hex(address), unreadableBytes: args.count };
    }
    this.sendResponse(response);
  }

  /** ExamineMemory shows Delve's own breakpoint instructions; put the original bytes back. */
  private async hideOurBreakpoints(address: number, data: Buffer): Promise<void> {
    const client = this.target!.client;
    const bps = await client.listBreakpoints(true).catch(() => []);
    for (const bp of bps) {
      for (const a of bp.addrs ?? [bp.addr]) {
        if (a < address || a >= address + data.length) continue;
        const insn = (await client.disassemble(a, a + 16).catch(() => []))[0];
        if (!insn || insn.Loc.pc !== a) continue;
        Buffer.from(insn.Bytes, 'base64').copy(data, a - address, 0, Math.min(16, address + data.length - a));
      }
    }
  }

  // ---- helpers ----

  private ready(response: DebugProtocol.Response, allowRunning = false): boolean {
    if (!this.target || !this.execution) {
      this.fail(response, 'Not attached.');
      return false;
    }
    if (!allowRunning && this.execution.running && response.command !== 'continue') {
      this.fail(response, 'The target is running; press Pause first.');
      return false;
    }
    return true;
  }

  private fail(response: DebugProtocol.Response, message: string): void {
    this.sendErrorResponse(response, { id: 1, format: message, showUser: true, variables: {} });
  }

  private console(text: string, category: 'console' | 'stderr' = 'console'): void {
    this.sendEvent(new OutputEvent(text + '\n', category));
  }
}

