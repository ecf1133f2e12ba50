// Which code a breakpoint may go into, on a KVM sandbox (docs/architecture.md, "Guest mode"):
// - host-only: the signal-handler path (kvm.sighandler, bluepillHandler and the bluepill* helpers
//   it calls, the seccomp SIGSYS handler) and the rt_sigreturn trampoline or the vDSO. A vCPU never
//   runs it in guest mode.
// - dual-mode: sentry Go code, which vCPUs run in host and in guest mode. A software breakpoint hit
//   in guest mode is measured to be harmless on arm64: BRK at guest EL1 → el1_invalid →
//   HaltEl1ExceptionAndResume → an MMIO exit with the PC at the BRK, which the host thread then
//   executes (SIGTRAP, an ordinary Delve stop), at the cost of one guest exit per hit.
// - guest-only: ring0's exception vectors and kernel entry/exit assembly (pkg/ring0/entry_*.s; entry_impl_*.s as generated in a build) and
//   kvm.bluepill after its faulting instruction; the host never executes it, and re-running it in
//   host mode with guest registers would not work. No breakpoint ever goes there.
// - the faulting instruction itself (CLI, an EL1-only MRS): a breakpoint would replace it, and the
//   amd64 handler checks for the CLI byte (gVisor, bluepill_amd64.s: sighandler).
import type { ArchName, ArchProfile } from './archProfile';
import type { CodeReader } from './codeReader';
import { hex } from './machineContext';
import { formatSymbol, shortFunctionName, type Symbolizer, type SymbolRef } from './symbolizer';

export type CodeKind = 'host-only' | 'dual-mode' | 'guest-only' | 'faulting';

export interface CodeClass {
  kind: CodeKind;
  /** One line for messages, e.g. `ring0.kernelExitToEl0+0x8 runs only in guest mode (ring0 entry/exit assembly)`. */
  why: string;
  symbol?: SymbolRef;
}

export type BreakpointVerdict = { allowed: true; kind: CodeKind; warning?: string } | { allowed: false; kind: CodeKind; reason: string };

/** Function names without the package path and the assembly ABI suffix: `kvm.bluepillHandler`. */
export function plainName(name: string): string {
  return shortFunctionName(name).replace(/\.abi0$/, '');
}

const HOST_ONLY_FUNCTIONS =
  /^(kvm\.sighandler|kvm\.sigsysHandler|kvm\.bluepill[A-Z]\w*|kvm\.seccompMmap\w*|runtime\.sigreturn(__sigaction)?|runtime\.sigtramp\w*|runtime\.cgoSigtramp)$/;
const GUEST_ONLY_FILE = /(^|\/)ring0\/entry(_impl)?_(amd64|arm64)\.s$/;
const BLUEPILL = /^kvm\.bluepill$/;

export class CodeKinds {
  /** kvm.bluepill's entry → the PC of its faulting instruction. */
  private readonly faults = new Map<number, number | undefined>();

  constructor(
    private readonly arch: ArchProfile,
    private readonly code: CodeReader,
    private readonly symbolizer: Symbolizer,
  ) {}

  async classify(addr: number): Promise<CodeClass> {
    const symbol = await this.symbolizer.symbolize(addr);
    const where = formatSymbol(addr, symbol ? { name: plainName(symbol.name), offset: symbol.offset } : undefined);
    const insn = await this.code.instructionAt(addr, this.arch.maxInstructionLength).catch(() => undefined);
    if (insn && insn.pc === addr && this.arch.privilegedInstruction(insn.bytes)) {
      return { kind: 'faulting', symbol, why: `${where} (${insn.text}) is the instruction that raises the bluepill signal in host mode` };
    }
    if (!symbol) return { kind: 'dual-mode', why: `${hex(addr)} has no symbol; treated as code vCPUs may run in guest mode` };
    const name = plainName(symbol.name);
    if (name.startsWith('[vdso]')) return { kind: 'host-only', symbol, why: `${where} is in the vDSO (host only)` };
    if (HOST_ONLY_FUNCTIONS.test(name)) return { kind: 'host-only', symbol, why: `${where} is in the signal handler path (host only)` };
    const ring0Asm = symbol.file ? GUEST_ONLY_FILE.test(symbol.file) : /(^|\/)ring0\.[^/]*\.abi0$/.test(symbol.name);
    if (ring0Asm) return { kind: 'guest-only', symbol, why: `${where} runs only in guest mode (ring0 entry/exit assembly)` };
    if (BLUEPILL.test(name)) {
      const fault = await this.faultOf(addr - symbol.offset);
      if (fault !== undefined && addr > fault) {
        return { kind: 'guest-only', symbol, why: `${where} runs only in guest mode (after kvm.bluepill's faulting instruction at ${hex(fault)})` };
      }
    }
    return { kind: 'dual-mode', symbol, why: `${where} is sentry code that vCPUs also run in guest mode` };
  }

  /** Whether a software breakpoint may go at `addr` (ours or the user's). */
  async breakpointVerdict(addr: number): Promise<BreakpointVerdict> {
    const c = await this.classify(addr);
    if (c.kind === 'guest-only') return { allowed: false, kind: c.kind, reason: `${c.why}: a breakpoint there could not be taken in host mode` };
    if (c.kind === 'faulting')
      return { allowed: false, kind: c.kind, reason: `${c.why}: a breakpoint would replace it (step over bluepill steps through it instead)` };
    if (c.kind === 'dual-mode' && this.arch.name !== 'arm64') return { allowed: true, kind: c.kind, warning: dualModeWarning(this.arch.name) };
    return { allowed: true, kind: c.kind };
  }

  private async faultOf(entry: number): Promise<number | undefined> {
    if (!this.faults.has(entry)) {
      const run = await this.code.instructionsFrom(entry, 64).catch(() => []);
      this.faults.set(entry, run.find((i) => this.arch.privilegedInstruction(i.bytes) !== undefined)?.pc);
    }
    return this.faults.get(entry);
  }
}

/** What a user is told when a breakpoint goes into dual-mode code where that was never measured. */
export function dualModeWarning(arch: ArchName): string {
  return `vCPUs also run this code in guest mode; on ${arch} a breakpoint hit there (INT3 in guest ring 0) has not been tested on real KVM (on arm64 it costs one guest exit per hit)`;
}
