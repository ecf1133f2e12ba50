// readMemory and disassemble: bytes and instructions at an address, as the target has them (our
// own breakpoint instructions hidden).
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DelveClient } from '../delve/delveClient';
import { hex, parseAddress } from './addresses';
import { disassembleRequest } from './disassembly';

function addressOf(memoryReference: string, offset: number | undefined): number {
  const base = parseAddress(memoryReference);
  if (base === undefined) throw new Error(`"${memoryReference}" is not an address.`);
  return base + (offset ?? 0);
}

export async function readMemory(client: DelveClient, args: DebugProtocol.ReadMemoryArguments): Promise<DebugProtocol.ReadMemoryResponse['body']> {
  const address = addressOf(args.memoryReference, args.offset);
  try {
    const data = await client.examineMemory(address, args.count);
    await hideOurBreakpoints(client, address, data);
    return { address: hex(address), data: data.toString('base64') };
  } catch {
    return { address: hex(address), unreadableBytes: args.count };
  }
}

export async function disassemble(
  client: DelveClient,
  args: DebugProtocol.DisassembleArguments,
  toLocalPath: (p: string) => string,
): Promise<DebugProtocol.DisassembleResponse['body']> {
  // VS Code's Disassembly view asks with an empty reference when it has no PC to show (after a
  // step it refreshes before the new stop): nothing to show, and nothing wrong.
  if (args.memoryReference.trim() === '') return { instructions: [] };
  const address = addressOf(args.memoryReference, args.offset);
  try {
    return { instructions: await disassembleRequest(client, args, address, toLocalPath) };
  } catch (err) {
    throw new Error(`Disassemble: ${(err as Error).message}`, { cause: err });
  }
}

/** ExamineMemory shows Delve's own breakpoint instructions; put the original bytes back. */
async function hideOurBreakpoints(client: DelveClient, address: number, data: Buffer): Promise<void> {
  const bps = await client.listBreakpoints(true).catch(() => []);
  for (const bp of bps) {
    for (const a of bp.addrs ?? [bp.addr]) {
      if (a < address || a >= address + data.length) continue;
      const insn = (await client.disassemble(a, a + 16).catch(() => []))[0];
      if (!insn || insn.Loc.pc !== a) continue;
      Buffer.from(insn.Bytes, 'base64').copy(data, a - address, 0, Math.min(16, address + data.length - a));
    }
  }
}
