// Finds the signal frame of a thread in the bluepill handler: the ucontext the kernel pushed
// and the trampoline the handler returns to. At the handler's true entry both come from
// registers (amd64 DX and [RSP]; arm64 X2 and LR); deeper in the handler, from a stack scan.
import type { ArchProfile } from './archProfile';
import type { BluepillDelve } from './bluepillDelve';
import type { CodeReader } from './codeReader';
import type { MachineContext } from './machineContext';
import type { ThreadRegisters } from './threadRegisters';

export interface SignalFrame {
  ucontextAddress: number;
  /** The handler's return address: the rt_sigreturn trampoline. */
  trampoline: number;
  /** The ucontext as read now. */
  context: MachineContext;
  /** How the frame was found. */
  foundBy: 'handler-entry' | 'stack-scan' | 'trampoline';
}

/** Bytes of stack searched for a signal frame below the handler (Go's signal stack is 32 KiB). */
export const STACK_SCAN_BYTES = 32 * 1024;

export async function isTrampolineAt(code: CodeReader, p: ArchProfile, addr: number): Promise<boolean> {
  if (!Number.isFinite(addr) || addr <= 0) return false;
  const bytes = await code.bytesAt(addr, p.trampolineBytes.length).catch(() => undefined);
  return bytes !== undefined && p.isTrampoline(bytes);
}

/**
 * The frame at the handler's first instruction: the ucontext register must equal the address the
 * kernel uses for SP (amd64 SP+8, arm64 SP+128) and the return address must be a trampoline.
 */
export async function frameAtHandlerEntry(
  delve: Pick<BluepillDelve, 'examineMemory'>,
  code: CodeReader,
  p: ArchProfile,
  regs: ThreadRegisters,
): Promise<SignalFrame | undefined> {
  const sp = regs.sp(p);
  const uc = regs.address(p.ucontextPointerRegister);
  if (uc !== p.ucontextAtHandlerEntry(sp)) return undefined;
  let trampoline: number;
  let mem: Buffer;
  if (p.returnAddressAtEntry === 'stack') {
    const both = await delve.examineMemory(sp, uc - sp + p.ucontextReadSize);
    trampoline = Number(both.readBigUInt64LE(0));
    mem = both.subarray(uc - sp);
  } else {
    trampoline = regs.address(p.lrRegister ?? '');
    mem = await delve.examineMemory(uc, p.ucontextReadSize);
  }
  if (!p.looksLikeUcontext(mem)) return undefined;
  if (!(await isTrampolineAt(code, p, trampoline))) return undefined;
  return { ucontextAddress: uc, trampoline, context: p.decodeUcontext(mem), foundBy: 'handler-entry' };
}

/** The frame seen from the trampoline: rt_sigreturn finds the ucontext from SP. */
export async function frameAtTrampoline(
  delve: Pick<BluepillDelve, 'examineMemory'>,
  p: ArchProfile,
  regs: ThreadRegisters,
  trampoline: number,
): Promise<SignalFrame | undefined> {
  const uc = p.ucontextAtTrampoline(regs.sp(p));
  const mem = await delve.examineMemory(uc, p.ucontextReadSize);
  if (!p.looksLikeUcontext(mem)) return undefined;
  return { ucontextAddress: uc, trampoline, context: p.decodeUcontext(mem), foundBy: 'trampoline' };
}

/**
 * A thread somewhere inside the handler: the innermost ucontext above SP, then the trampoline —
 * amd64: the word just below the ucontext (the kernel's pretcode); arm64: the LR the handler
 * saved, i.e. the highest stack word below the signal frame that points at a trampoline.
 */
export async function frameByStackScan(
  delve: Pick<BluepillDelve, 'examineMemory'>,
  code: CodeReader,
  p: ArchProfile,
  regs: ThreadRegisters,
  scanBytes = STACK_SCAN_BYTES,
): Promise<SignalFrame | undefined> {
  const sp = regs.sp(p);
  const start = sp - (sp % 8);
  const stack = await readStack(delve, start, scanBytes);
  if (!stack) return undefined;
  for (let off = 8; off + p.ucontextReadSize <= stack.length; off += 8) {
    const uc = start + off;
    const mem = stack.subarray(off, off + p.ucontextReadSize);
    if (!p.looksLikeUcontext(mem) || !onThreadsSignalStack(mem, uc, sp)) continue;
    const trampoline = await findTrampolineBelow(stack, start, off, p, code);
    if (trampoline === undefined) continue;
    return { ucontextAddress: uc, trampoline, context: p.decodeUcontext(mem), foundBy: 'stack-scan' };
  }
  return undefined;
}

/**
 * Whether a ucontext the scan found is this thread's. One on a signal stack (its uc_stack, at
 * offset 16 on amd64 and arm64, says which) belongs to the thread whose SP is on that stack: the
 * handler runs there. The scan can run past the end of a thread's own stack into memory next to
 * it, such as another thread's signal stack with that thread's live handler frame (seen on real
 * runsc: a thread asleep in futex() on its g0 stack, a vCPU's frame 30 KB above its SP).
 */
function onThreadsSignalStack(mem: Buffer, uc: number, sp: number): boolean {
  const ssSp = Number(mem.readBigUInt64LE(16));
  const ssSize = Number(mem.readBigUInt64LE(32));
  const onSignalStack = ssSize > 0 && uc >= ssSp && uc < ssSp + ssSize;
  return !onSignalStack || (sp >= ssSp && sp < ssSp + ssSize);
}

async function findTrampolineBelow(stack: Buffer, start: number, ucOff: number, p: ArchProfile, code: CodeReader): Promise<number | undefined> {
  if (p.returnAddressAtEntry === 'stack') {
    const t = Number(stack.readBigUInt64LE(ucOff - 8));
    return (await isTrampolineAt(code, p, t)) ? t : undefined;
  }
  const frameStart = ucOff - p.ucontextAtHandlerEntry(0);
  const tried = new Set<number>();
  for (let off = frameStart - 8; off >= 0 && tried.size < 8; off -= 8) {
    const v = stack.readBigUInt64LE(off);
    if (v < 0x10000n || v >= 1n << 48n || v % 4n !== 0n) continue;
    const t = Number(v);
    if (t >= start && t < start + stack.length) continue; // a stack address, not code
    if (tried.has(t)) continue;
    tried.add(t);
    if (await isTrampolineAt(code, p, t)) return t;
  }
  return undefined;
}

/** As much stack as is mapped above SP, up to `want` bytes (a signal stack may end sooner). */
async function readStack(delve: Pick<BluepillDelve, 'examineMemory'>, start: number, want: number): Promise<Buffer | undefined> {
  const toPageEnd = 4096 - (start % 4096);
  for (const n of [want, 16384, 8192, 4096 + toPageEnd, toPageEnd]) {
    if (n > want) continue;
    const mem = await delve.examineMemory(start, n).catch(() => undefined);
    if (mem && mem.length === n) return mem;
  }
  return undefined;
}
