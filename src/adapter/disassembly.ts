// DAP `disassemble`: instructions around an address, by instruction index (negative offsets
// included), in Go syntax. A function's own disassembly gives exact instruction boundaries on
// amd64; outside functions we decode a raw window and pad what cannot be read.
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DelveClient } from '../delve/delveClient';
import { AsmFlavour, type AsmInstruction } from '../delve/delveTypes';
import { hex } from './addresses';

/** Longest instruction of the architectures we serve (amd64: 15 bytes; arm64: 4). */
// Longest instruction (amd64: 15 bytes), rounded to a multiple of 4 so that arm64 windows stay
// whole instructions (Delve 1.20 fails on a partial arm64 word: "slice bounds out of range").
const MAX_INSN = 16;

async function tryDisassemble(client: DelveClient, start: number, end: number): Promise<AsmInstruction[]> {
  if (end <= start || start < 0) return [];
  try {
    return await client.disassemble(start, end, AsmFlavour.Go);
  } catch {
    return [];
  }
}

/** Instructions with indexes [from, to) relative to the one at `base` (index 0), as far as readable; `first` is list[0]'s index. */
export async function instructionsAround(client: DelveClient, base: number, from: number, to: number): Promise<{ list: AsmInstruction[]; first: number }> {
  let list = await tryDisassemble(client, base, 0).then((l) => (l.some((i) => i.Loc.pc === base) ? l : []));
  if (list.length === 0) list = await tryDisassemble(client, base, base + Math.max(1, to) * MAX_INSN);
  let idx = list.findIndex((i) => i.Loc.pc === base);
  if (idx < 0) return { list: [], first: from };
  // Extend backwards: decode a window that ends at the first known instruction; its tail realigns.
  for (let guard = 0; idx + from < 0 && guard < 4; guard++) {
    const first = list[0].Loc.pc;
    const need = -(idx + from);
    const more = (await tryDisassemble(client, Math.max(0, first - need * MAX_INSN - 32), first)).filter((i) => i.Loc.pc + sizeOf(i) <= first);
    if (!more.length) break;
    list = [...more, ...list];
    idx += more.length;
  }
  for (let guard = 0; list.length - idx < to && guard < 4; guard++) {
    const last = list[list.length - 1];
    const end = last.Loc.pc + sizeOf(last);
    const more = await tryDisassemble(client, end, end + (to - (list.length - idx)) * MAX_INSN + 16);
    if (!more.length) break;
    list = [...list, ...more];
  }
  const lo = Math.max(0, idx + from);
  return { list: list.slice(lo, Math.max(lo, idx + to)), first: lo - idx };
}

function sizeOf(i: AsmInstruction): number {
  return Math.max(1, Buffer.from(i.Bytes, 'base64').length);
}

export function toDapInstruction(
  i: AsmInstruction,
  previous: AsmInstruction | undefined,
  toLocalPath: (p: string) => string,
): DebugProtocol.DisassembledInstruction {
  const fn = i.Loc.function;
  const out: DebugProtocol.DisassembledInstruction = {
    address: hex(i.Loc.pc),
    instructionBytes: Buffer.from(i.Bytes, 'base64')
      .toString('hex')
      .replace(/(..)(?=.)/g, '$1 '),
    instruction: i.Text,
  };
  if (fn && (previous?.Loc.function?.name !== fn.name || fn.value === i.Loc.pc)) out.symbol = fn.name;
  if (i.Loc.file) {
    out.location = { name: i.Loc.file.split('/').pop(), path: toLocalPath(i.Loc.file) };
    out.line = i.Loc.line;
  }
  return out;
}

/** Exactly instructionCount entries (the UI relies on it); unreadable ones are marked invalid. */
export async function disassembleRequest(
  client: DelveClient,
  args: DebugProtocol.DisassembleArguments,
  base: number,
  toLocalPath: (p: string) => string,
): Promise<DebugProtocol.DisassembledInstruction[]> {
  const from = args.instructionOffset ?? 0;
  const count = args.instructionCount;
  const { list, first } = await instructionsAround(client, base, from, from + count);
  const out: DebugProtocol.DisassembledInstruction[] = [];
  for (let k = 0; k < count; k++) {
    const index = from + k;
    const i = list[index - first];
    if (i) {
      out.push(toDapInstruction(i, list[index - first - 1], toLocalPath));
      continue;
    }
    // Placeholder addresses: below the first known instruction, or past the last one.
    let addr: number;
    if (!list.length) addr = base + index;
    else if (index < first) addr = list[0].Loc.pc - (first - index);
    else addr = list[list.length - 1].Loc.pc + sizeOf(list[list.length - 1]) + (index - first - list.length);
    out.push({ address: hex(Math.max(0, addr)), instruction: '??', presentationHint: 'invalid' });
  }
  return out;
}
