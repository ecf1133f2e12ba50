// Custom DAP requests and events between the adapter and the extension. Each message is defined
// here once, with its argument and body types. Values travel as strings (`0x…`): 64-bit register
// values do not fit a JSON number.
import { dapEvent, dapRequest } from './messageTypes';
import type { SymbolizeParams, SymbolizeResult } from './languageMessages';
import { SymbolizeRequest } from './languageMessages';

/** Request: step over bluepill on a thread. */
export const StepOverRequest = dapRequest<StepOverArguments, StepOverResponseBody>('bluepill/stepOver');
/** Request: the hops recorded so far in this session. */
export const HopsRequest = dapRequest<void, HopsEventBody>('bluepill/hops');
/** Event: hops were recorded. */
export const HopsEvent = dapEvent<HopsEventBody>('bluepill/hops');
/** Event: the stopped thread's location kind, for the toolbar button's `when` clause. */
export const LocationEvent = dapEvent<LocationEventBody>('bluepill/location');
/** Event: attach finished. */
export const AttachedEvent = dapEvent<AttachedEventBody>('bluepill/attached');
/** Request: the sandbox's binary as a local file. */
export const FetchBinaryRequest = dapRequest<void, FetchBinaryResponseBody>('bluepill/fetchBinary');
/** Event: progress of a long wait. */
export const ProgressEvent = dapEvent<ProgressEventBody>('bluepill/progress');
/**
 * Request: live symbols for the objdump language server's hovers. The extension forwards the
 * server's LSP request of the same name to the debug session unchanged.
 */
export const SymbolizeDapRequest = dapRequest<SymbolizeParams, SymbolizeResult>(SymbolizeRequest.method);
/**
 * Request: the disassembly of one function of the debugged program as a `go tool objdump`-style
 * listing (a `TEXT name(SB) path` line, then instruction lines), for when no Go toolchain is installed.
 */
export const DisassembleFunctionRequest = dapRequest<DisassembleArguments, DisassembleResponseBody>('bluepill/disassemble');

export interface DisassembleArguments {
  /** Function name, as in the symbol table (e.g. `main.main`). */
  function: string;
}

export interface DisassembleResponseBody {
  listing: string;
}

export interface AttachedEventBody {
  pid: number;
  where: string;
}

export interface FetchBinaryResponseBody {
  path: string;
  buildId: string | undefined;
  cached: boolean;
  bytes: number;
}

export interface StepOverArguments {
  threadId: number;
  maxHops?: number;
}

export interface WireRegister {
  name: string;
  /** `0x…`, full 64 bits. */
  value: string;
  /** `kvm.bluepill+0x5` when the value points into known code. */
  symbol?: string;
  /** Differs between the host and the guest context of the same hop. */
  changed: boolean;
}

export interface WireContext {
  title: string;
  pc: string;
  sp: string;
  lr?: string;
  flags: string;
  /** Decoded flags, e.g. `[IF ZF PF] IOPL=0` or `[Z C] EL0t`. */
  flagsText: string;
  registers: WireRegister[];
}

export interface WireLocation {
  pc: string;
  /** `0x4c24e5 kvm.bluepill+0x5`. */
  text: string;
  instruction?: string;
}

export interface WireHop {
  /** Sequence number in the session (1-based). */
  index: number;
  threadId: number;
  signal: string;
  fault?: WireLocation;
  handler?: WireLocation;
  trampoline: WireLocation;
  landing: WireLocation;
  ucontext: string;
  guestMs: number;
  foreignHits: number;
  host?: WireContext;
  guest: WireContext;
}

/** A hop that did not land (the guest never exited before Pause, a stuck step…): what was read of it. */
export interface WireUnfinishedHop {
  threadId: number;
  signal: string;
  fault?: WireLocation;
  handler?: WireLocation;
  trampoline?: WireLocation;
  ucontext: string;
  /** The interrupted host registers, when the hop was seen from its fault or the handler's entry. */
  host?: WireContext;
}

export interface StepOverResponseBody {
  description: string;
  stopReason: string;
  hops: WireHop[];
  unfinished?: WireUnfinishedHop;
  /** The hops as Markdown, in the shape of a hand-written hop list. */
  markdown: string;
}

export interface HopsEventBody {
  /** Every hop recorded in the session, oldest first (capped). */
  hops: WireHop[];
  /** The hops of the step that just finished. */
  latest: number[];
  description: string;
  /** The step's last hop when it did not land. */
  unfinished?: WireUnfinishedHop;
}

export type LocationKind = 'bluepill' | 'handler' | 'trampoline' | 'other';

export interface LocationEventBody {
  threadId: number;
  kind: LocationKind;
}

export interface ProgressEventBody {
  threadId: number;
  message: string;
  done: boolean;
}

/**
 * An argument the extension adds to DAP `setBreakpoints` when the source is a go-objdump listing
 * that exists only in VS Code's memory (the `go-objdump:` function documents, the disassembly
 * documents): the document's text, from which the adapter reads the line's address. VS Code sends
 * such a source as its URI string (`source.path`), which the adapter cannot read from disk.
 */
export interface ListingTextArguments {
  bluepillListingText?: string;
}
