// Linux arm64 ucontext as the kernel writes it for a signal handler (and as gVisor's
// bluepill_arm64.s rewrites it): uc_flags, uc_link, uc_stack (24), uc_sigmask (8), padding to
// 176, then uc_mcontext = { fault_address, regs[31], sp, pc, pstate, __reserved[] }. The first
// record in __reserved is the FPSIMD context (magic 0x46508001).
import { setBits, type FlagBit, type FlagsView } from './flagsView';
import type { MachineContext, NamedRegister } from './machineContext';
import { toAddress } from './machineContext';

export const ARM64_MCONTEXT_OFFSET = 176;
export const ARM64_FAULT_ADDRESS_OFFSET = ARM64_MCONTEXT_OFFSET;
/** gVisor's CONTEXT_R0. */
export const ARM64_REGS_OFFSET = ARM64_MCONTEXT_OFFSET + 8;
export const ARM64_SP_OFFSET = ARM64_REGS_OFFSET + 31 * 8;
/** gVisor's CONTEXT_PC. */
export const ARM64_PC_OFFSET = ARM64_SP_OFFSET + 8;
export const ARM64_PSTATE_OFFSET = ARM64_PC_OFFSET + 8;
/** __reserved is 16-byte aligned. */
export const ARM64_RESERVED_OFFSET = (ARM64_PSTATE_OFFSET + 8 + 15) & ~15;
export const ARM64_FPSIMD_MAGIC = 0x46508001;
/** Bytes to read to decode a context and check the FPSIMD record header. */
export const ARM64_UCONTEXT_READ_SIZE = ARM64_RESERVED_OFFSET + 8;
/** The kernel's rt_sigframe starts with a 128-byte siginfo; the ucontext follows. */
export const ARM64_SIGINFO_SIZE = 128;

export function arm64RegOffset(n: number): number {
  if (n < 0 || n > 30) throw new RangeError(`X${n}`);
  return ARM64_REGS_OFFSET + 8 * n;
}

export function decodeUcontextArm64(mem: Buffer): MachineContext {
  if (mem.length < ARM64_PSTATE_OFFSET + 8) throw new Error(`arm64 ucontext needs ${ARM64_PSTATE_OFFSET + 8} bytes, got ${mem.length}`);
  const registers: NamedRegister[] = [];
  for (let n = 0; n <= 30; n++) registers.push({ name: `X${n}`, value: mem.readBigUInt64LE(arm64RegOffset(n)) });
  const sp = mem.readBigUInt64LE(ARM64_SP_OFFSET);
  const pc = mem.readBigUInt64LE(ARM64_PC_OFFSET);
  const pstate = mem.readBigUInt64LE(ARM64_PSTATE_OFFSET);
  registers.push({ name: 'SP', value: sp }, { name: 'PC', value: pc }, { name: 'PSTATE', value: pstate });
  return {
    registers,
    pc: toAddress(pc),
    sp: toAddress(sp),
    fp: toAddress(mem.readBigUInt64LE(arm64RegOffset(29))),
    lr: toAddress(mem.readBigUInt64LE(arm64RegOffset(30))),
    flags: pstate,
    extra: {
      uc_flags: mem.readBigUInt64LE(0),
      uc_link: mem.readBigUInt64LE(8),
      fault_address: mem.readBigUInt64LE(ARM64_FAULT_ADDRESS_OFFSET),
    },
  };
}

/** Whether `mem` looks like a kernel-written ucontext: no uc_link and the FPSIMD record first in __reserved. */
export function looksLikeUcontextArm64(mem: Buffer): boolean {
  if (mem.length < ARM64_UCONTEXT_READ_SIZE) return false;
  return mem.readBigUInt64LE(8) === 0n && mem.readUInt32LE(ARM64_RESERVED_OFFSET) === ARM64_FPSIMD_MAGIC;
}

const PSTATE_BITS: FlagBit[] = [
  { bit: 31, name: 'N' },
  { bit: 30, name: 'Z' },
  { bit: 29, name: 'C' },
  { bit: 28, name: 'V' },
  { bit: 21, name: 'SS' },
  { bit: 20, name: 'IL' },
  { bit: 9, name: 'D' },
  { bit: 8, name: 'A' },
  { bit: 7, name: 'I' },
  { bit: 6, name: 'F' },
];

export function decodePstate(value: bigint): FlagsView {
  const set = setBits(value, PSTATE_BITS);
  const nzcv = set.filter((f) => 'NZCV'.includes(f) && f.length === 1);
  const daif = set.filter((f) => 'DAIF'.includes(f) && f.length === 1);
  const aarch32 = Number((value >> 4n) & 1n);
  const el = Number((value >> 2n) & 3n);
  const spSel = Number(value & 1n);
  const mode = aarch32 ? 'AArch32' : `EL${el}${spSel ? 'h' : 't'}`;
  const others = set.filter((f) => f.length > 1);
  const text = `[${nzcv.join(' ')}] [${daif.join(' ')}] ${mode}${others.length ? ' ' + others.join(' ') : ''}`;
  return { set, fields: { EL: el, SP: spSel, nRW: aarch32 }, text };
}
