// What differs between amd64 and arm64 for safe stepping: register names and instruction sizes.
import type { Register } from '../delve/delveTypes';

export type StepArch = 'amd64' | 'arm64';

export interface StepArchRegisters {
  pc: string;
  sp: string;
  /** Holds the syscall number at the syscall instruction. */
  syscallNumber: string;
  /** Holds the syscall's result (or -ERESTART… while the call is interrupted). */
  syscallResult: string;
  /** The link register (arm64); amd64 keeps the return address on the stack. */
  link: string | undefined;
}

export const STEP_ARCH_REGISTERS: Readonly<Record<StepArch, StepArchRegisters>> = {
  amd64: { pc: 'Rip', sp: 'Rsp', syscallNumber: 'Rax', syscallResult: 'Rax', link: undefined },
  arm64: { pc: 'PC', sp: 'SP', syscallNumber: 'X8', syscallResult: 'X0', link: 'X30' },
};

/** Longest instruction: amd64 15 bytes, arm64 always 4. */
export const MAX_INSTRUCTION_LENGTH: Readonly<Record<StepArch, number>> = { amd64: 15, arm64: 4 };

/** Which architecture a thread's Delve register list belongs to. */
export function stepArchOfRegisters(regs: readonly Register[]): StepArch {
  if (regs.some((r) => r.Name === 'Rip')) return 'amd64';
  if (regs.some((r) => r.Name === 'X30' || r.Name === 'PC')) return 'arm64';
  throw new Error(`unknown architecture: registers ${regs.slice(0, 6).map((r) => r.Name).join(', ')}`);
}

/** Delve register values are hex strings, sometimes followed by a decoded view (`0x246\t[IF ZF]`). */
export function registerValue(regs: readonly Register[], name: string): bigint {
  const r = regs.find((x) => x.Name === name);
  if (!r) throw new Error(`Delve did not report register ${name}`);
  const token = r.Value.trim().split(/\s+/)[0];
  return BigInt(token);
}

export function registerAddress(regs: readonly Register[], name: string): number {
  return Number(registerValue(regs, name) & 0xffff_ffff_ffff_ffffn);
}

/** A 64-bit register value read as a signed number (for -errno results). */
export function registerSigned(regs: readonly Register[], name: string): bigint {
  return BigInt.asIntN(64, registerValue(regs, name));
}
