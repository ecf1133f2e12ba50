// What an instruction line of a listing jumps to: `CALL x(SB)` / `JMP x(SB)` (a function),
// an amd64 absolute target `JBE 0x46070f` (Delve < 1.27.1 writes `$0x…`), or an arm64
// instruction count `BLS 80(PC)` (target = pc + 4·N). ADR/ADRP `N(PC)` are byte offsets to
// data and are not jumps.

import { parseInstructionLine } from './symbolSources';

export type JumpTarget = { kind: 'function'; name: string; start: number; end: number } | { kind: 'address'; address: number; start: number; end: number };

const CALL_SYMBOL = /^(CALL|JMP|B|BL)\s+\$?(.+)\(SB\)\s*$/;
const AMD64_BRANCH = /^((?:J|LOOP|CALL|XBEGIN)[A-Z]*)\s+\$?0x([0-9a-fA-F]+)\s*$/i;
/** Delve's default (intel) flavour: `call $runtime.mapassign_faststr`. */
const INTEL_CALL_SYMBOL = /^(call|jmp)\s+\$?([A-Za-z_][^\s]*)\s*$/;
const ARM64_PC_RELATIVE = /^([A-Z][A-Z0-9.]*)\s+(?:.*,\s*)?(-?\d+)\(PC\)\s*$/;
const MAX_LINE = 4096;

/** The jump target of the instruction on this line, when the cursor is on its text column. */
export function jumpTargetAt(line: string, character: number): JumpTarget | undefined {
  if (line.length > MAX_LINE) return undefined;
  const insn = parseInstructionLine(line);
  if (insn === undefined) return undefined;
  const addrText = `0x${insn.address.toString(16)}`;
  const textStart = line.indexOf(insn.text, Math.max(line.indexOf(addrText) + addrText.length, 0));
  if (textStart < 0 || character < textStart) return undefined;
  // The -gnu part (`// …`) and .o relocations (`\t[off:len]R_…`) follow the Go syntax.
  const goSyntax = insn.text.split(' // ')[0].split('\t')[0].trimEnd();
  const sym = CALL_SYMBOL.exec(goSyntax);
  if (sym !== null) {
    const at = goSyntax.indexOf(sym[2], sym[1].length);
    return { kind: 'function', name: sym[2], start: textStart + at, end: textStart + at + sym[2].length + 4 };
  }
  const intel = INTEL_CALL_SYMBOL.exec(goSyntax);
  if (intel !== null) {
    const at = goSyntax.indexOf(intel[2], intel[1].length);
    return { kind: 'function', name: intel[2], start: textStart + at, end: textStart + at + intel[2].length };
  }
  const abs = AMD64_BRANCH.exec(goSyntax);
  if (abs !== null) {
    const at = goSyntax.lastIndexOf('0x');
    return { kind: 'address', address: parseInt(abs[2], 16), start: textStart + at, end: textStart + goSyntax.length };
  }
  const rel = ARM64_PC_RELATIVE.exec(goSyntax);
  if (rel !== null && rel[1] !== 'ADR' && rel[1] !== 'ADRP') {
    const at = goSyntax.lastIndexOf(`${rel[2]}(PC)`);
    return { kind: 'address', address: insn.address + 4 * Number(rel[2]), start: textStart + at, end: textStart + goSyntax.length };
  }
  return undefined;
}
