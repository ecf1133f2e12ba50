// Typed client for Delve's JSON-RPC API v2 (RPCServer.*). Knows nothing of DAP or VS Code.
import type { Duplex } from 'node:stream';
import { JsonRpcConnection, type CallOptions, type RpcTraceEvent } from './jsonRpcConnection';
import {
  AsmFlavour,
  type AsmInstruction,
  type Breakpoint,
  type BreakpointSpec,
  type CommandName,
  type DebuggerState,
  type EvalScope,
  type Goroutine,
  type LoadConfig,
  type Location,
  type Register,
  type Stackframe,
  type Thread,
  type Variable,
  type VersionInfo,
} from './delveTypes';

/**
 * Largest ExamineMemory Delve answers in one call: 1000 bytes up to Delve 1.2x (checked with
 * 1.20.2: "len must be less than or equal to 1000"), 64 KiB in newer releases. Longer reads are split.
 */
export const EXAMINE_MEMORY_LIMIT = 1000;

export const DEFAULT_LOAD_CONFIG: LoadConfig = {
  FollowPointers: true,
  MaxVariableRecurse: 1,
  MaxStringLen: 256,
  MaxArrayValues: 64,
  MaxStructFields: -1,
};

/** The selected goroutine (or the current thread when it has none), top frame. */
export const CURRENT_SCOPE: EvalScope = { GoroutineID: -1, Frame: 0 };

export interface DelveClientOptions {
  /** Timeout of every call that does not resume the target. */
  timeoutMs?: number;
  trace?: (e: RpcTraceEvent) => void;
}

export interface CommandOptions extends CallOptions {
  threadID?: number;
  goroutineID?: number;
}

export class DelveClient {
  readonly rpc: JsonRpcConnection;

  constructor(stream: Duplex, options: DelveClientOptions = {}) {
    this.rpc = new JsonRpcConnection(stream, options.timeoutMs ?? 30_000, options.trace);
  }

  close(): void {
    this.rpc.close();
  }

  onClose(listener: (reason: string) => void): void {
    this.rpc.onClose(listener);
  }

  getVersion(options?: CallOptions): Promise<VersionInfo> {
    return this.rpc.call<VersionInfo>('GetVersion', {}, options);
  }

  /** NonBlocking: answer at once even while the target runs (Running=true). */
  async state(nonBlocking = true, options?: CallOptions): Promise<DebuggerState> {
    const out = await this.rpc.call<{ State: DebuggerState }>('State', { NonBlocking: nonBlocking }, options);
    return out.State;
  }

  async listThreads(options?: CallOptions): Promise<Thread[]> {
    const out = await this.rpc.call<{ Threads: Thread[] | null }>('ListThreads', {}, options);
    return out.Threads ?? [];
  }

  async listGoroutines(start = 0, count = 0, options?: CallOptions): Promise<{ goroutines: Goroutine[]; next: number }> {
    const out = await this.rpc.call<{ Goroutines: Goroutine[] | null; Nextg: number }>('ListGoroutines', { Start: start, Count: count }, options);
    return { goroutines: out.Goroutines ?? [], next: out.Nextg };
  }

  /** Stack of a goroutine; id -1 means the selected one, or the current thread when it has no goroutine. */
  async stacktrace(goroutineId: number, depth: number, cfg?: LoadConfig, options?: CallOptions): Promise<Stackframe[]> {
    const params: Record<string, unknown> = { Id: goroutineId, Depth: depth, Full: cfg !== undefined };
    if (cfg) params.Cfg = cfg;
    const out = await this.rpc.call<{ Locations: Stackframe[] | null }>('Stacktrace', params, options);
    return out.Locations ?? [];
  }

  /** Live registers of one OS thread (threadId 0: the current thread), or unwound ones of a frame when `scope` is given. */
  async listRegisters(threadId: number, includeFp = false, scope?: EvalScope, options?: CallOptions): Promise<Register[]> {
    const params: Record<string, unknown> = { ThreadID: threadId, IncludeFp: includeFp };
    if (scope) params.Scope = scope;
    const out = await this.rpc.call<{ Regs: Register[] | null }>('ListRegisters', params, options);
    return out.Regs ?? [];
  }

  /** Reads any length by splitting into Delve's 64 KiB chunks. */
  async examineMemory(address: number, length: number, options?: CallOptions): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let off = 0; off < length; off += EXAMINE_MEMORY_LIMIT) {
      const n = Math.min(EXAMINE_MEMORY_LIMIT, length - off);
      const out = await this.rpc.call<{ Mem: string | null }>('ExamineMemory', { Address: address + off, Length: n }, options);
      parts.push(Buffer.from(out.Mem ?? '', 'base64'));
    }
    return Buffer.concat(parts);
  }

  /** Disassembles [startPC, endPC); with endPC 0 the whole function containing startPC. */
  async disassemble(startPC: number, endPC: number, flavour: AsmFlavour = AsmFlavour.Go, options?: CallOptions): Promise<AsmInstruction[]> {
    const out = await this.rpc.call<{ Disassemble: AsmInstruction[] | null }>(
      'Disassemble',
      { Scope: CURRENT_SCOPE, StartPC: startPC, EndPC: endPC, Flavour: flavour },
      options,
    );
    return out.Disassemble ?? [];
  }

  async findLocation(
    loc: string,
    substitutePathRules: Array<[string, string]> = [],
    scope: EvalScope = CURRENT_SCOPE,
    options?: CallOptions,
  ): Promise<Location[]> {
    const out = await this.rpc.call<{ Locations: Location[] | null }>(
      'FindLocation',
      { Scope: scope, Loc: loc, IncludeNonExecutableLines: false, SubstitutePathRules: substitutePathRules },
      options,
    );
    return out.Locations ?? [];
  }

  async createBreakpoint(spec: BreakpointSpec, options?: CallOptions): Promise<Breakpoint> {
    const out = await this.rpc.call<{ Breakpoint: Breakpoint }>('CreateBreakpoint', { Breakpoint: spec }, options);
    return out.Breakpoint;
  }

  async clearBreakpoint(id: number, options?: CallOptions): Promise<Breakpoint> {
    const out = await this.rpc.call<{ Breakpoint: Breakpoint }>('ClearBreakpoint', { Id: id }, options);
    return out.Breakpoint;
  }

  async amendBreakpoint(bp: Breakpoint, options?: CallOptions): Promise<void> {
    await this.rpc.call<unknown>('AmendBreakpoint', { Breakpoint: bp }, options);
  }

  async listBreakpoints(all = false, options?: CallOptions): Promise<Breakpoint[]> {
    const out = await this.rpc.call<{ Breakpoints: Breakpoint[] | null }>('ListBreakpoints', { All: all }, options);
    return out.Breakpoints ?? [];
  }

  /**
   * Runs an execution command. Commands that resume the target (continue, next, step...) wait
   * without a timeout unless one is given; pass an AbortSignal and send `halt` to stop them.
   */
  async command(name: CommandName, options: CommandOptions = {}): Promise<DebuggerState> {
    const params: Record<string, unknown> = { name };
    if (options.threadID !== undefined) params.threadID = options.threadID;
    if (options.goroutineID !== undefined) params.goroutineID = options.goroutineID;
    const resumes = name !== 'halt' && name !== 'switchThread' && name !== 'switchGoroutine';
    const callOptions: CallOptions = { timeoutMs: options.timeoutMs ?? (resumes ? 0 : undefined), signal: options.signal };
    const out = await this.rpc.call<{ State: DebuggerState }>('Command', params, callOptions);
    return out.State;
  }

  continue(options?: CommandOptions): Promise<DebuggerState> {
    return this.command('continue', options);
  }

  /** Stops the target; allowed while a continue is in flight (that continue then returns). */
  halt(options?: CallOptions): Promise<DebuggerState> {
    return this.command('halt', options);
  }

  switchThread(threadID: number, options?: CallOptions): Promise<DebuggerState> {
    return this.command('switchThread', { ...options, threadID });
  }

  switchGoroutine(goroutineID: number, options?: CallOptions): Promise<DebuggerState> {
    return this.command('switchGoroutine', { ...options, goroutineID });
  }

  /** Single-steps the current thread by one instruction. Always give it a timeout or a signal. */
  stepInstruction(options: CommandOptions): Promise<DebuggerState> {
    return this.command('stepInstruction', options);
  }

  async eval(expr: string, scope: EvalScope = CURRENT_SCOPE, cfg: LoadConfig = DEFAULT_LOAD_CONFIG, options?: CallOptions): Promise<Variable> {
    const out = await this.rpc.call<{ Variable: Variable }>('Eval', { Scope: scope, Expr: expr, Cfg: cfg }, options);
    return out.Variable;
  }

  async set(symbol: string, value: string, scope: EvalScope = CURRENT_SCOPE, options?: CallOptions): Promise<void> {
    await this.rpc.call<unknown>('Set', { Scope: scope, Symbol: symbol, Value: value }, options);
  }

  async listLocalVars(scope: EvalScope, cfg: LoadConfig = DEFAULT_LOAD_CONFIG, options?: CallOptions): Promise<Variable[]> {
    const out = await this.rpc.call<{ Variables: Variable[] | null }>('ListLocalVars', { Scope: scope, Cfg: cfg }, options);
    return out.Variables ?? [];
  }

  async listFunctionArgs(scope: EvalScope, cfg: LoadConfig = DEFAULT_LOAD_CONFIG, options?: CallOptions): Promise<Variable[]> {
    const out = await this.rpc.call<{ Args: Variable[] | null }>('ListFunctionArgs', { Scope: scope, Cfg: cfg }, options);
    return out.Args ?? [];
  }

  /** Detaches; with kill=false the target keeps running. Delve's server exits afterwards. */
  async detach(kill = false, options?: CallOptions): Promise<void> {
    await this.rpc.call<unknown>('Detach', { Kill: kill }, options);
  }
}
