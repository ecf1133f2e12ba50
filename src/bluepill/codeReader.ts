// Reads instructions and code bytes through Delve's Disassemble, which reports the original
// bytes (ExamineMemory shows Delve's own 0xCC / BRK where breakpoints are planted). Cached per
// PC: code does not change under us, and every round trip counts on a slow link.
import type { AsmInstruction } from '../delve/delveTypes';
import { AsmFlavour } from '../delve/delveTypes';
import type { Instruction } from './archProfile';
import type { BluepillDelve } from './bluepillDelve';

export function toInstruction(a: AsmInstruction): Instruction {
  const insn: Instruction = { pc: a.Loc.pc, bytes: Buffer.from(a.Bytes, 'base64'), text: a.Text };
  if (a.DestLoc && a.DestLoc.pc) insn.dest = a.DestLoc.pc;
  return insn;
}

/** At least the longest instruction of any architecture (amd64: 15 bytes), and a multiple of arm64's 4. */
const MAX_INSTRUCTION_BYTES = 16;

export class CodeReader {
  private readonly byPc = new Map<number, Instruction>();
  /** Delve calls made. */
  reads = 0;

  constructor(private readonly delve: Pick<BluepillDelve, 'disassemble'>) {}

  /** Instructions that start in [pc, pc + bytes) (one round trip unless cached). */
  async instructionsFrom(pc: number, bytes: number): Promise<Instruction[]> {
    const cached = this.cachedRun(pc, bytes);
    if (cached) return cached;
    this.reads++;
    // Delve decodes the bytes up to EndPC: an instruction cut there comes back as a shorter,
    // wrong one (a 5-byte CALL as the 1-byte `Prefix(0xe8)`). Read one longest instruction more,
    // and keep only what starts before the wanted end.
    const asm = await this.delve.disassemble(pc, pc + bytes + MAX_INSTRUCTION_BYTES, AsmFlavour.Go);
    const out = asm.map(toInstruction).filter((i) => i.bytes.length > 0 && i.pc < pc + bytes);
    for (const i of out) this.byPc.set(i.pc, i);
    return out;
  }

  async instructionAt(pc: number, maxLength: number): Promise<Instruction | undefined> {
    const hit = this.byPc.get(pc);
    if (hit) return hit;
    const run = await this.instructionsFrom(pc, maxLength);
    return run.find((i) => i.pc === pc);
  }

  /** `length` original code bytes at addr, or undefined when Delve cannot disassemble there. */
  async bytesAt(addr: number, length: number): Promise<Buffer | undefined> {
    const run = await this.instructionsFrom(addr, length);
    const parts: Buffer[] = [];
    let next = addr;
    for (const i of run) {
      if (i.pc !== next) break;
      parts.push(i.bytes);
      next += i.bytes.length;
      if (next >= addr + length) break;
    }
    const all = Buffer.concat(parts);
    return all.length >= length ? all.subarray(0, length) : undefined;
  }

  private cachedRun(pc: number, bytes: number): Instruction[] | undefined {
    const out: Instruction[] = [];
    let next = pc;
    while (next < pc + bytes) {
      const i = this.byPc.get(next);
      if (!i) return undefined;
      out.push(i);
      next += i.bytes.length;
    }
    return out;
  }
}
