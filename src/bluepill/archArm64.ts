// The arm64 profile: an EL1-only MRS/MSR → undefined instruction → SIGILL; the vDSO restorer
// `__kernel_rt_sigreturn` = `mov x8, #139; svc #0`.
import type { ArchProfile, Instruction, PrivilegedInstruction } from './archProfile';
import { ARM64_SIGINFO_SIZE, ARM64_UCONTEXT_READ_SIZE, decodePstate, decodeUcontextArm64, looksLikeUcontextArm64 } from './ucontextArm64';
import { ARM64_SYSCALL_NAMES } from '../linux/syscallNumbers';

export const ARM64_SVC0 = 0xd4000001;
/** `movz x8, #139` (rt_sigreturn) then `svc #0`. */
export const ARM64_TRAMPOLINE = Buffer.from([0x68, 0x11, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4]);

export interface SystemRegisterAccess {
  /** true: MRS (read), false: MSR (write). */
  read: boolean;
  op0: number;
  op1: number;
  crn: number;
  crm: number;
  op2: number;
  rt: number;
}

/** Decodes MRS/MSR (register form): 1101010100 L 1 o0 op1 CRn CRm op2 Rt. */
export function decodeSystemRegisterAccess(insn: number): SystemRegisterAccess | undefined {
  if ((insn & 0xffd00000) >>> 0 !== 0xd5100000) return undefined;
  return {
    read: ((insn >>> 21) & 1) === 1,
    op0: (insn >>> 19) & 3,
    op1: (insn >>> 16) & 7,
    crn: (insn >>> 12) & 0xf,
    crm: (insn >>> 8) & 0xf,
    op2: (insn >>> 5) & 7,
    rt: insn & 0x1f,
  };
}

const KNOWN_SYSREGS: Record<string, string> = {
  '3_0_13_0_4': 'TPIDR_EL1',
  '3_0_13_0_1': 'CONTEXTIDR_EL1',
  '3_0_1_0_0': 'SCTLR_EL1',
  '3_0_2_0_0': 'TTBR0_EL1',
  '3_0_2_0_1': 'TTBR1_EL1',
  '3_0_2_0_2': 'TCR_EL1',
  '3_0_12_0_0': 'VBAR_EL1',
  '3_0_4_0_0': 'SPSR_EL1',
  '3_0_4_0_1': 'ELR_EL1',
  '3_0_4_1_0': 'SP_EL0',
  '3_0_5_2_0': 'ESR_EL1',
  '3_0_6_0_0': 'FAR_EL1',
  '3_0_10_2_0': 'MAIR_EL1',
  '3_3_13_0_2': 'TPIDR_EL0',
  '3_3_4_2_0': 'NZCV',
  '3_3_4_4_0': 'FPCR',
  '3_3_4_4_1': 'FPSR',
  '3_3_14_0_2': 'CNTVCT_EL0',
  '3_3_14_0_0': 'CNTFRQ_EL0',
};

export function systemRegisterName(a: Pick<SystemRegisterAccess, 'op0' | 'op1' | 'crn' | 'crm' | 'op2'>): string {
  const key = `${a.op0}_${a.op1}_${a.crn}_${a.crm}_${a.op2}`;
  return KNOWN_SYSREGS[key] ?? `S${a.op0}_${a.op1}_C${a.crn}_C${a.crm}_${a.op2}`;
}

/**
 * An MRS/MSR that traps at EL0: op1 ≠ 3 names a register of EL1 or above. Linux emulates MRS of
 * the ID registers (op0 3, op1 0, CRn 0) for user space, so those do not fault.
 */
export function el1OnlyAccess(insn: number): SystemRegisterAccess | undefined {
  const a = decodeSystemRegisterAccess(insn);
  if (!a || a.op1 === 3) return undefined;
  if (a.read && a.op0 === 3 && a.op1 === 0 && a.crn === 0) return undefined;
  return a;
}

function word(code: Buffer): number | undefined {
  return code.length >= 4 ? code.readUInt32LE(0) : undefined;
}

function privilegedArm64(code: Buffer): PrivilegedInstruction | undefined {
  const insn = word(code);
  if (insn === undefined) return undefined;
  const a = el1OnlyAccess(insn);
  if (a) {
    const reg = a.rt === 31 ? 'XZR' : `X${a.rt}`;
    const name = systemRegisterName(a);
    return { mnemonic: a.read ? `MRS ${reg}, ${name}` : `MSR ${name}, ${reg}` };
  }
  if ((insn & 0xffe0001f) >>> 0 === 0xd4000002) return { mnemonic: 'HVC' };
  if ((insn & 0xffe0001f) >>> 0 === 0xd4000003) return { mnemonic: 'SMC' };
  if (insn >>> 0 === 0xd69f03e0) return { mnemonic: 'ERET' };
  return undefined;
}

function isControlTransferWord(insn: number): boolean {
  return (
    (insn & 0x7c000000) >>> 0 === 0x14000000 || // B, BL
    (insn & 0xff000010) >>> 0 === 0x54000000 || // B.cond
    (insn & 0x7e000000) >>> 0 === 0x34000000 || // CBZ, CBNZ
    (insn & 0x7e000000) >>> 0 === 0x36000000 || // TBZ, TBNZ
    (insn & 0xfe000000) >>> 0 === 0xd6000000 || // BR, BLR, RET, ERET
    (insn & 0xff000000) >>> 0 === 0xd4000000 // SVC, HVC, SMC, BRK, HLT
  );
}

export const arm64Profile: ArchProfile = {
  name: 'arm64',
  signalNumber: 4,
  signalName: 'SIGILL',
  pcRegister: 'PC',
  spRegister: 'SP',
  fpRegister: 'X29',
  lrRegister: 'X30',
  flagsRegister: 'PSTATE',
  ucontextPointerRegister: 'X2',
  syscallNumberRegister: 'X8',
  returnAddressAtEntry: 'lr',
  maxInstructionLength: 4,
  ucontextReadSize: ARM64_UCONTEXT_READ_SIZE,
  trampolineBytes: ARM64_TRAMPOLINE,
  trampolineSyscallOffset: 4,
  syscalls: ARM64_SYSCALL_NAMES,
  decodeUcontext: decodeUcontextArm64,
  looksLikeUcontext: looksLikeUcontextArm64,
  ucontextAtHandlerEntry: (sp) => sp + ARM64_SIGINFO_SIZE,
  ucontextAtTrampoline: (sp) => sp + ARM64_SIGINFO_SIZE,
  decodeFlags: decodePstate,
  isTrampoline: (code) => code.length >= ARM64_TRAMPOLINE.length && code.subarray(0, ARM64_TRAMPOLINE.length).equals(ARM64_TRAMPOLINE),
  isSyscallInstruction: (code) => word(code) === ARM64_SVC0,
  privilegedInstruction: privilegedArm64,
  isControlTransfer(insn: Instruction): boolean {
    const w = word(insn.bytes);
    return w === undefined || isControlTransferWord(w) || privilegedArm64(insn.bytes) !== undefined;
  },
  isCall(insn: Instruction): boolean {
    const w = word(insn.bytes);
    if (w === undefined) return false;
    return (w & 0xfc000000) >>> 0 === 0x94000000 || (w & 0xfffffc1f) >>> 0 === 0xd63f0000;
  },
  indirectCallRegister(insn: Instruction): string | undefined {
    const w = word(insn.bytes);
    if (w === undefined || (w & 0xfffffc1f) >>> 0 !== 0xd63f0000) return undefined;
    return `X${(w >>> 5) & 0x1f}`;
  },
  endsWithCall(before: Buffer): boolean {
    return before.length >= 4 && arm64Profile.isCall({ pc: 0, bytes: before.subarray(before.length - 4), text: '' });
  },
};
