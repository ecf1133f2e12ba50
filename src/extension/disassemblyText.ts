// DAP disassembled instructions → text in the shape of Delve's `disassemble` listing, which the
// go-objdump grammar highlights: a TEXT line per function, `=>` on the requested address.
import type { DebugProtocol } from '@vscode/debugprotocol';

export function formatDisassembly(instructions: readonly DebugProtocol.DisassembledInstruction[], focus: string): string {
  const focusValue = safeBigInt(focus);
  const lines: string[] = [];
  let lastSymbol: string | undefined;
  for (const ins of instructions) {
    if (ins.presentationHint === 'invalid') continue;
    const sym = ins.symbol?.replace(/\+0x[0-9a-f]+$/i, '');
    if (sym && sym !== lastSymbol) {
      if (lines.length) lines.push('');
      lines.push(`TEXT ${sym}(SB) ${ins.location?.path ?? ''}`.trimEnd());
      lastSymbol = sym;
    }
    const at = focusValue !== undefined && safeBigInt(ins.address) === focusValue;
    const where = ins.location?.name && ins.line ? `${ins.location.name}:${ins.line}` : '';
    lines.push(`${at ? '=>' : '  '}\t${where}\t${ins.address}\t${ins.instructionBytes ?? ''}\t${ins.instruction}`);
  }
  return lines.join('\n') + '\n';
}

function safeBigInt(s: string): bigint | undefined {
  try {
    return BigInt(s);
  } catch {
    return undefined;
  }
}
