// What the bluepill engine needs to know about an architecture. Everything that differs between
// amd64 and arm64 is behind this interface; the engine itself is architecture-free.
import type { FlagsView } from './flagsView';
import type { MachineContext } from './machineContext';

export type ArchName = 'amd64' | 'arm64';

/** One instruction as Delve disassembles it (bytes are the original ones, not Delve's breakpoints). */
export interface Instruction {
  pc: number;
  bytes: Buffer;
  /** Go-syntax text, e.g. `CLI`, `MOVQ $0xf, AX`, `MRS $18052, R10`. */
  text: string;
  /** Target of a direct branch or call, as Delve resolved it. */
  dest?: number;
}

export interface PrivilegedInstruction {
  /** e.g. `CLI`, `MRS TPIDR_EL1, X10`. */
  mnemonic: string;
}

export interface ArchProfile {
  readonly name: ArchName;
  /** The signal the bluepill fault raises: amd64 SIGSEGV (11), arm64 SIGILL (4). */
  readonly signalNumber: number;
  readonly signalName: string;
  /** Delve's register names. */
  readonly pcRegister: string;
  readonly spRegister: string;
  readonly fpRegister: string;
  readonly lrRegister: string | undefined;
  readonly flagsRegister: string;
  /** Holds &ucontext at handler entry (amd64 Rdx, arm64 X2). */
  readonly ucontextPointerRegister: string;
  /** Holds the syscall number at a syscall instruction (amd64 Rax, arm64 X8). */
  readonly syscallNumberRegister: string;
  /** Where the handler's return address (the trampoline) is at handler entry. */
  readonly returnAddressAtEntry: 'stack' | 'lr';
  readonly maxInstructionLength: number;
  readonly ucontextReadSize: number;
  /** The trampoline `mov $rt_sigreturn, nr; syscall`, and the offset of its syscall instruction. */
  readonly trampolineBytes: Buffer;
  readonly trampolineSyscallOffset: number;
  readonly syscalls: Readonly<Record<number, string>>;

  decodeUcontext(mem: Buffer): MachineContext;
  looksLikeUcontext(mem: Buffer): boolean;
  /** &ucontext from SP at the handler's first instruction (amd64 SP+8 past the return address, arm64 SP+128 past siginfo). */
  ucontextAtHandlerEntry(sp: number): number;
  /** &ucontext from SP in the trampoline (where rt_sigreturn looks for it). */
  ucontextAtTrampoline(sp: number): number;
  decodeFlags(value: bigint): FlagsView;
  /** Whether `code` starts with the rt_sigreturn trampoline. */
  isTrampoline(code: Buffer): boolean;
  isSyscallInstruction(code: Buffer): boolean;
  /** The instruction raises the bluepill signal in user mode (CLI, an EL1-only MRS/MSR...). */
  privilegedInstruction(code: Buffer): PrivilegedInstruction | undefined;
  /** Branches, calls, returns, syscalls, traps: anything after which "the next instruction" is not pc+len. */
  isControlTransfer(insn: Instruction): boolean;
  /** A call instruction (direct or indirect). */
  isCall(insn: Instruction): boolean;
  /** Delve's name of the register an indirect call jumps through (amd64 `CALL AX` → Rax; arm64 BLR X2 → X2). */
  indirectCallRegister(insn: Instruction): string | undefined;
  /**
   * Whether the 8 bytes just before an address end with a call instruction, i.e. the address can
   * be a return address (how a return address is told from other words on the stack).
   */
  endsWithCall(before: Buffer): boolean;
}

export function syscallName(profile: ArchProfile, nr: number): string {
  return profile.syscalls[nr] ?? `syscall ${nr}`;
}

/** Mnemonic of Go-syntax disassembly text (`MOVQ $0xf, AX` → `MOVQ`). */
export function mnemonicOf(text: string): string {
  return text.trim().split(/\s+/)[0]?.toUpperCase() ?? '';
}
