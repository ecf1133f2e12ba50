// Shapes of Delve's JSON-RPC API v2 (service/api/types.go, service/rpc2/server.go) as they
// appear on the wire. Addresses are JS numbers: user-space addresses on amd64 and arm64 are
// below 2^48, well inside a double's exact range. Register values stay strings, as Delve sends them.

export interface DelveFunction {
  name: string;
  /** Entry address of the function (its true first instruction, before any prologue). */
  value: number;
  type: number;
  goType: number;
  optimized: boolean;
}

export interface Location {
  pc: number;
  file: string;
  line: number;
  function: DelveFunction | null;
  pcs?: number[];
}

export interface Thread {
  id: number;
  pc: number;
  file: string;
  line: number;
  function: DelveFunction | null;
  goroutineID: number;
  breakPoint?: Breakpoint | null;
  breakPointInfo?: unknown;
}

export interface Goroutine {
  id: number;
  currentLoc: Location;
  userCurrentLoc: Location;
  goStatementLoc: Location;
  startLoc: Location;
  threadID: number;
  status?: number;
  waitReason?: number;
}

export interface Variable {
  name: string;
  addr: number;
  onlyAddr: boolean;
  type: string;
  realType: string;
  flags: number;
  kind: number;
  value: string;
  len: number;
  cap: number;
  children: Variable[];
  base: number;
  unreadable: string;
  LocationExpr?: string;
  DeclLine?: number;
}

export interface Stackframe extends Location {
  Locals: Variable[] | null;
  Arguments: Variable[] | null;
  FrameOffset: number;
  FramePointerOffset: number;
  Err: string;
  Bottom?: boolean;
}

export interface Breakpoint {
  id: number;
  name: string;
  addr: number;
  addrs: number[];
  file: string;
  line: number;
  functionName?: string;
  Cond: string;
  HitCond: string;
  HitCondPerG?: boolean;
  continue: boolean;
  goroutine: boolean;
  stacktrace: number;
  hitCount: Record<string, number>;
  totalHitCount: number;
  disabled: boolean;
}

/** What CreateBreakpoint accepts: everything optional except a location (file:line, function or addrs). */
export interface BreakpointSpec {
  name?: string;
  addr?: number;
  addrs?: number[];
  file?: string;
  line?: number;
  functionName?: string;
  Cond?: string;
  HitCond?: string;
  /** Tracepoint: Delve does not stop, it only records the hit. */
  continue?: boolean;
  disabled?: boolean;
}

export interface DebuggerState {
  Pid: number;
  Running: boolean;
  currentThread: Thread | null;
  currentGoroutine?: Goroutine | null;
  Threads: Thread[] | null;
  NextInProgress: boolean;
  exited: boolean;
  exitStatus: number;
  Err?: unknown;
}

export interface Register {
  Name: string;
  Value: string;
  DwarfNumber: number;
}

export interface AsmInstruction {
  Loc: Location;
  DestLoc: Location | null;
  Text: string;
  /** base64 of the instruction bytes, as Go encodes []byte. */
  Bytes: string;
  Breakpoint: boolean;
  AtPC: boolean;
}

export interface LoadConfig {
  FollowPointers: boolean;
  MaxVariableRecurse: number;
  MaxStringLen: number;
  MaxArrayValues: number;
  MaxStructFields: number;
}

export interface EvalScope {
  GoroutineID: number;
  Frame: number;
  DeferredCall?: number;
}

export interface VersionInfo {
  DelveVersion: string;
  APIVersion: number;
  Backend?: string;
  TargetGoVersion?: string;
}

/** Disassembly flavours, numbered as Delve's api.AssemblyFlavour. */
export enum AsmFlavour {
  Intel = 0,
  Gnu = 1,
  Go = 2,
}

/** Names accepted by RPCServer.Command (api.DebuggerCommand.Name). */
export type CommandName = 'continue' | 'next' | 'step' | 'stepOut' | 'stepInstruction' | 'nextInstruction' | 'halt' | 'switchThread' | 'switchGoroutine';
