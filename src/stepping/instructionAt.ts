// Decode-before-step: what the instruction at a thread's PC would do if single-stepped. The
// instruction comes from Delve's Disassemble (original bytes, never Delve's own breakpoint bytes)
// and is cached per PC; what depends on registers (syscall number, call target) is read each time.
import { AsmFlavour, type Register } from '../delve/delveTypes';
import { decodeInstruction, type CallTarget, type DecodedInstruction } from './decodeInstruction';
import { inRange, vdsoName, type ProcessMaps } from './processMaps';
import { MAX_INSTRUCTION_LENGTH, STEP_ARCH_REGISTERS, registerAddress, registerValue, stepArchOfRegisters, type StepArch } from './stepArch';
import type { SteppingDelve } from './steppingDelve';
import { isRtSigreturn, syscallName } from './syscallNames';

export interface CachedInstruction {
  pc: number;
  /** Delve's Go-syntax text, e.g. `SYSCALL`, `CALL AX`. */
  text: string;
  bytes: Buffer;
  length: number;
  decoded: DecodedInstruction;
  /** The function Delve puts the instruction in, when it knows one. */
  functionName: string | undefined;
}

export type InstructionClass =
  | { kind: 'syscall'; number: number; name: string; rtSigreturn: boolean; nextPc: number }
  | { kind: 'vdsoCall'; target: number; returnAddress: number }
  | { kind: 'plain' };

export interface InstructionAtPc {
  arch: StepArch;
  pc: number;
  instruction: CachedInstruction;
  class: InstructionClass;
  /** The PC itself is inside the vDSO. */
  inVdso: boolean;
  /** `kvm.hazardFutexWait`, `[vdso]+0x6f0`, or the address. */
  where: string;
}

/** Decoded instructions by PC. Code does not change under a debugger that only reads it. */
export class InstructionCache {
  private readonly byPc = new Map<number, CachedInstruction>();
  hits = 0;
  misses = 0;

  async get(delve: SteppingDelve, arch: StepArch, pc: number): Promise<CachedInstruction> {
    const known = this.byPc.get(pc);
    if (known) {
      this.hits++;
      return known;
    }
    this.misses++;
    const insns = await delve.disassemble(pc, pc + MAX_INSTRUCTION_LENGTH[arch], AsmFlavour.Go);
    const first = insns.find((i) => i.Loc.pc === pc);
    if (!first) throw new Error(`Delve could not disassemble the instruction at 0x${pc.toString(16)}`);
    const bytes = Buffer.from(first.Bytes, 'base64');
    const decoded = decodeInstruction(arch, pc, bytes);
    const entry: CachedInstruction = {
      pc,
      text: first.Text,
      bytes,
      length: bytes.length || decoded.length || MAX_INSTRUCTION_LENGTH[arch],
      decoded,
      functionName: first.Loc.function?.name || undefined,
    };
    this.byPc.set(pc, entry);
    return entry;
  }
}

/** Reads a pointer-sized little-endian word of the target. */
export type PointerReader = (address: number) => Promise<number>;

export function pointerReader(delve: SteppingDelve): PointerReader {
  return async (address) => Number((await delve.examineMemory(address, 8)).readBigUInt64LE(0));
}

/** Where an indirect call would go with these registers. */
export async function callTargetAddress(target: CallTarget, regs: readonly Register[], nextPc: number, readPointer: PointerReader): Promise<number> {
  switch (target.kind) {
    case 'direct':
      return target.address;
    case 'register':
      return registerAddress(regs, target.register);
    case 'memory': {
      let addr = target.ripRelative ? nextPc : 0;
      if (target.base) addr += registerAddress(regs, target.base);
      if (target.index) addr += registerAddress(regs, target.index) * target.scale;
      return readPointer(addr + target.displacement);
    }
  }
}

/** Classifies one decoded instruction with the thread's registers (pure apart from memory reads). */
export async function classifyInstruction(
  arch: StepArch,
  insn: CachedInstruction,
  regs: readonly Register[],
  maps: ProcessMaps,
  readPointer: PointerReader,
): Promise<InstructionClass> {
  const nextPc = insn.pc + insn.length;
  if (insn.decoded.kind === 'syscall') {
    const nr = Number(registerValue(regs, STEP_ARCH_REGISTERS[arch].syscallNumber) & 0xffff_ffffn);
    return { kind: 'syscall', number: nr, name: syscallName(arch, nr), rtSigreturn: isRtSigreturn(arch, nr), nextPc };
  }
  if (insn.decoded.kind === 'call' && maps.vdso) {
    const target = await callTargetAddress(insn.decoded.target, regs, nextPc, readPointer).catch(() => undefined);
    if (target !== undefined && inRange(maps.vdso, target)) return { kind: 'vdsoCall', target, returnAddress: nextPc };
  }
  return { kind: 'plain' };
}

/** The instruction at the thread's PC, decoded and classified. */
export async function instructionAt(
  delve: SteppingDelve,
  threadId: number,
  maps: ProcessMaps,
  cache: InstructionCache,
  regs?: readonly Register[],
): Promise<InstructionAtPc> {
  const r = regs ?? (await delve.listRegisters(threadId));
  const arch = stepArchOfRegisters(r);
  const pc = registerAddress(r, STEP_ARCH_REGISTERS[arch].pc);
  const instruction = await cache.get(delve, arch, pc);
  const klass = await classifyInstruction(arch, instruction, r, maps, pointerReader(delve));
  return {
    arch,
    pc,
    instruction,
    class: klass,
    inVdso: inRange(maps.vdso, pc),
    where: vdsoName(maps, pc) ?? instruction.functionName ?? `0x${pc.toString(16)}`,
  };
}

/** `syscall futex (202)`. */
export function describeSyscall(c: { name: string; number: number }): string {
  return c.name.startsWith('syscall ') ? `syscall ${c.number}` : `syscall ${c.name} (${c.number})`;
}
