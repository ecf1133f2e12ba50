// The expressions that need no debug information: a register by name (`rip`, `$x0`, `PC`) and a
// typed memory read (`*(*uint64)(0xc000073300)`). Delve evaluates Go expressions with DWARF types;
// on a stripped binary it knows no `uint64` and no register names, so the session answers these
// itself, from registers and memory that Delve still reads.
import type { DelveClient } from '../delve/delveClient';
import type { EvalScope } from '../delve/delveTypes';
import { hex } from './addresses';

const SIZES = { uint8: 1, int8: 1, byte: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, uint64: 8, int64: 8, uintptr: 8 } as const;
type ScalarType = keyof typeof SIZES;

export type MachineExpression = { kind: 'register'; name: string } | { kind: 'memory'; type: ScalarType; address: number };

/** Parses `rip`, `$rip`, `*(*uint64)(0x…)`, `*(*uintptr)(1234)`; undefined for anything else. */
export function parseMachineExpression(text: string): MachineExpression | undefined {
  const t = text.trim();
  const reg = /^\$?([A-Za-z][A-Za-z0-9_]{0,15})$/.exec(t);
  if (reg) return { kind: 'register', name: reg[1] };
  const mem = /^\*\s*\(\s*\*\s*([a-z0-9]+)\s*\)\s*\(\s*(0x[0-9a-fA-F]+|\d+)\s*\)$/.exec(t);
  if (mem && mem[1] in SIZES) {
    const address = Number(mem[2]);
    if (Number.isSafeInteger(address)) return { kind: 'memory', type: mem[1] as ScalarType, address };
  }
  return undefined;
}

export interface MachineValue {
  result: string;
  type: string;
  /** The value as an address, for the memory view. */
  memoryReference?: string;
}

/** Little-endian bytes as the type's value, in decimal (as Delve prints integers). */
export function decodeScalar(type: ScalarType, bytes: Buffer): string {
  const size = SIZES[type];
  if (bytes.length < size) throw new Error(`only ${bytes.length} of ${size} bytes readable`);
  const unsigned = size === 8 ? bytes.readBigUInt64LE(0) : BigInt(bytes.readUIntLE(0, size));
  if (!type.startsWith('int')) return unsigned.toString();
  const bits = BigInt(size * 8);
  return (unsigned >= 1n << (bits - 1n) ? unsigned - (1n << bits) : unsigned).toString();
}

/** Evaluates `expr` on `threadId` (frame 0 for registers); undefined when the name is no register of the thread. */
export async function evaluateMachineExpression(
  client: DelveClient,
  expr: MachineExpression,
  threadId: number,
  scope?: EvalScope,
): Promise<MachineValue | undefined> {
  if (expr.kind === 'memory') {
    const value = decodeScalar(expr.type, await client.examineMemory(expr.address, SIZES[expr.type]));
    return {
      result: value,
      type: expr.type,
      ...(expr.type === 'uintptr' || expr.type === 'uint64' ? { memoryReference: hex(Number(BigInt(value) & ((1n << 53n) - 1n))) } : {}),
    };
  }
  const regs = scope && scope.Frame > 0 ? await client.listRegisters(0, false, scope) : await client.listRegisters(threadId, false);
  const r = regs.find((x) => x.Name.toLowerCase() === expr.name.toLowerCase());
  if (!r) return undefined;
  const first = r.Value.split(/\s/)[0];
  return { result: r.Value, type: 'register', ...(/^0x[0-9a-f]+$/i.test(first) ? { memoryReference: first } : {}) };
}
