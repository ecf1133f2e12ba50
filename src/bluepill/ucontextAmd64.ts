// Linux x86-64 ucontext_t as the kernel writes it for a signal handler (and as gVisor's
// bluepill_amd64.s rewrites it): uc_flags, uc_link, uc_stack (24 bytes), then uc_mcontext whose
// first member is gregs[23] (sys/ucontext.h REG_R8 … REG_CR2), then the fpregs pointer.
import { setBits, type FlagBit, type FlagsView } from './flagsView';
import type { MachineContext, NamedRegister } from './machineContext';
import { toAddress } from './machineContext';

export const AMD64_MCONTEXT_OFFSET = 40;

/** gregs in kernel order; names are Delve's where Delve has the register. */
export const AMD64_GREGS = [
  'R8',
  'R9',
  'R10',
  'R11',
  'R12',
  'R13',
  'R14',
  'R15',
  'Rdi',
  'Rsi',
  'Rbp',
  'Rbx',
  'Rdx',
  'Rax',
  'Rcx',
  'Rsp',
  'Rip',
  'Rflags',
  'csgsfs',
  'err',
  'trapno',
  'oldmask',
  'cr2',
] as const;

export type Amd64GregName = (typeof AMD64_GREGS)[number];

/** Byte offset of a greg from the start of the ucontext. */
export function amd64GregOffset(name: Amd64GregName): number {
  return AMD64_MCONTEXT_OFFSET + 8 * AMD64_GREGS.indexOf(name);
}

/** Offset of uc_mcontext.fpregs (a pointer into the same signal frame). */
export const AMD64_FPREGS_POINTER_OFFSET = AMD64_MCONTEXT_OFFSET + 8 * AMD64_GREGS.length;

/** Bytes to read to decode a context (gregs and the fpregs pointer). */
export const AMD64_UCONTEXT_READ_SIZE = AMD64_FPREGS_POINTER_OFFSET + 8;

/** Display order, as Delve lists registers. */
export const AMD64_DISPLAY_ORDER = [
  'Rip',
  'Rsp',
  'Rax',
  'Rbx',
  'Rcx',
  'Rdx',
  'Rdi',
  'Rsi',
  'Rbp',
  'R8',
  'R9',
  'R10',
  'R11',
  'R12',
  'R13',
  'R14',
  'R15',
  'Rflags',
] as const;

export function decodeUcontextAmd64(mem: Buffer): MachineContext {
  if (mem.length < AMD64_UCONTEXT_READ_SIZE) throw new Error(`amd64 ucontext needs ${AMD64_UCONTEXT_READ_SIZE} bytes, got ${mem.length}`);
  const greg = (name: Amd64GregName): bigint => mem.readBigUInt64LE(amd64GregOffset(name));
  const registers: NamedRegister[] = AMD64_DISPLAY_ORDER.map((name) => ({ name, value: greg(name) }));
  return {
    registers,
    pc: toAddress(greg('Rip')),
    sp: toAddress(greg('Rsp')),
    fp: toAddress(greg('Rbp')),
    flags: greg('Rflags'),
    extra: {
      uc_flags: mem.readBigUInt64LE(0),
      uc_link: mem.readBigUInt64LE(8),
      csgsfs: greg('csgsfs'),
      err: greg('err'),
      trapno: greg('trapno'),
      oldmask: greg('oldmask'),
      cr2: greg('cr2'),
      fpregs: mem.readBigUInt64LE(AMD64_FPREGS_POINTER_OFFSET),
    },
  };
}

/**
 * Whether `mem` (read at `address`) looks like a ucontext of a signal frame: no uc_link, small
 * uc_flags, a PC, and an fpregs pointer the kernel's rt_sigreturn accepts (16-byte aligned, user
 * space). The kernel points fpregs into the same frame just above the ucontext, but a handler may
 * move it: gVisor's bluepillArchExit (pkg/sentry/platform/kvm/bluepill_amd64.go) points it at the
 * vCPU's own FPU buffer on the heap, so its distance from the ucontext says nothing.
 */
export function looksLikeUcontextAmd64(mem: Buffer): boolean {
  if (mem.length < AMD64_UCONTEXT_READ_SIZE) return false;
  if (mem.readBigUInt64LE(8) !== 0n) return false;
  if (mem.readBigUInt64LE(0) > 0xffn) return false;
  const fpregs = mem.readBigUInt64LE(AMD64_FPREGS_POINTER_OFFSET);
  return fpregs !== 0n && fpregs % 16n === 0n && fpregs < 1n << 47n && mem.readBigUInt64LE(amd64GregOffset('Rip')) !== 0n;
}

const EFLAGS_BITS: FlagBit[] = [
  { bit: 0, name: 'CF' },
  { bit: 2, name: 'PF' },
  { bit: 4, name: 'AF' },
  { bit: 6, name: 'ZF' },
  { bit: 7, name: 'SF' },
  { bit: 8, name: 'TF' },
  { bit: 9, name: 'IF' },
  { bit: 10, name: 'DF' },
  { bit: 11, name: 'OF' },
  { bit: 14, name: 'NT' },
  { bit: 16, name: 'RF' },
  { bit: 17, name: 'VM' },
  { bit: 18, name: 'AC' },
  { bit: 19, name: 'VIF' },
  { bit: 20, name: 'VIP' },
  { bit: 21, name: 'ID' },
];

export function decodeEflags(value: bigint): FlagsView {
  const set = setBits(value, EFLAGS_BITS);
  const iopl = Number((value >> 12n) & 3n);
  return { set, fields: { IOPL: iopl }, text: `[${set.join(' ')}] IOPL=${iopl}` };
}
