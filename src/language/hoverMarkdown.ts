// The Markdown of an address hover: symbol+offset and the address, file:line, the
// instruction as a fenced go-objdump block, and where the answer came from.

import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InstructionInfo, ResolvedAddress } from './symbolSources';

export interface HoverFacts {
  resolved: ResolvedAddress;
  /** For return addresses: the call instruction just before. */
  callSite?: InstructionInfo;
}

export function symbolOffset(r: { name: string; offset: number }): string {
  return r.offset === 0 ? r.name : `${r.name}+0x${r.offset.toString(16)}`;
}

export function hoverMarkdown({ resolved: r, callSite }: HoverFacts): string {
  const parts: string[] = [`**${code(symbolOffset(r))}** at ${code(`0x${r.address.toString(16)}`)}`];
  if (r.file !== '') {
    const where = r.line > 0 ? `${basename(r.file)}:${r.line}` : basename(r.file);
    parts.push(r.file.includes('/') ? `${code(where)} — ${code(r.file)}` : code(where));
  }
  if (r.sourceText !== undefined) parts.push(['```go', r.sourceText.replace(/```/g, '`\u200b``'), '```'].join('\n'));
  const fence: string[] = [];
  if (callSite !== undefined) fence.push(`${instructionLine(callSite)}    // the call (return address below)`);
  if (r.instruction !== undefined) fence.push(instructionLine(r.instruction));
  if (fence.length > 0) parts.push(['```go-objdump', ...fence, '```'].join('\n'));
  parts.push(`_from ${escapeMarkdown(labelOf(r.sourceLabel))}_`);
  return parts.join('\n\n');
}

function instructionLine(i: InstructionInfo): string {
  return `0x${i.address.toString(16)}\t${i.encoding}\t${i.text}`.replace(/```/g, '`\u200b``');
}

function labelOf(label: string): string {
  if (label.startsWith('file:')) {
    try {
      return fileURLToPath(label);
    } catch {
      return label;
    }
  }
  return label;
}

/** Inline code that survives backticks in the text. */
function code(s: string): string {
  const longest = Math.max(0, ...(s.match(/`+/g) ?? []).map((m) => m.length));
  const ticks = '`'.repeat(longest + 1);
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${s}${pad}${ticks}`;
}

function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!<>|]/g, '\\$&');
}
