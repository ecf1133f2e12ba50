// Types for lineShapes.mjs.
import type { TokenizedLine } from './tokenizer.mjs';

export type LineShape = 'header' | 'objdump' | 'objdump-source' | 'delve' | 'blank' | 'other';
export interface LineInfo {
  shape: LineShape;
  text?: string;
  textStart?: number;
  address?: string;
  addressStart?: number;
}
export declare const SHAPE_SCOPE: Record<'header' | 'objdump' | 'objdump-source' | 'delve' | 'source', string>;
export declare const MNEMONIC_SCOPE: RegExp;
export declare function classifyLine(line: string): LineInfo;
export interface DumpCheck {
  problems: string[];
  stats: { lines: number; instructions: number; headers: number; source: number };
}
export declare function checkDump(
  lines: readonly TokenizedLine[],
  options?: { allowSource?: boolean; allowOther?: readonly RegExp[]; transcript?: boolean },
): DumpCheck;
