// Where an address breakpoint comes from, in the spellings the UI and the Debug Console accept:
// `*0x4c2960` (Delve's CLI spelling, `b *0x…`), `0x4c2960`, `name+0x18`, `name`; and instruction
// lines of Go objdump listings (`go tool objdump` plain, -S, -gnu, Delve `disassemble`;
// docs/objdump-formats.md), whose enclosing `TEXT name(SB)` block names the function.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseInstructionLine, type ObjdumpInstruction } from '../symbols/objdumpIndex';
import { FUNCTION_DOCUMENT_SCHEME } from '../protocol/languageMessages';
import { hex, parseAddress } from './addresses';

export type BreakSpec = { kind: 'address'; addr: number } | { kind: 'offset'; name: string; offset: number } | { kind: 'function'; name: string };

/** `*0xADDR` or `0xADDR` → an address; `name+0xOFF` (or `+N`) → function and offset; anything else → a function name. */
export function parseBreakSpec(text: string): BreakSpec | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const star = /^\*\s*(\S+)$/.exec(t);
  if (star) {
    const addr = parseAddress(star[1]);
    return addr === undefined ? undefined : { kind: 'address', addr };
  }
  if (/^0x[0-9a-f]+$/i.test(t)) return { kind: 'address', addr: parseAddress(t)! };
  const off = /^(.*\S)\s*\+\s*(0x[0-9a-f]+|[0-9]+)$/i.exec(t);
  if (off) return { kind: 'offset', name: off[1], offset: parseAddress(off[2])! };
  return { kind: 'function', name: t };
}

/** `name+0xOFF`, the way Delve and the hovers print a location. */
export function nameOffset(name: string, offset: number | undefined): string {
  return offset === undefined ? name : `${name}+${hex(offset)}`;
}

/** Function names compared without the `.abi0` suffix of assembly functions (ELF names have it, .gopclntab's do not). */
export function sameFunction(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/\.abi0$/, '').replace(/·/g, '.');
  return norm(a) === norm(b);
}

/** Schemes of the read-only listings the extension shows (src/extension/objdumpDocuments.ts, disassemblyDocument.ts). */
const LISTING_SCHEMES = [FUNCTION_DOCUMENT_SCHEME, 'bluepill-disasm'];

/** A DAP source path that names a Go objdump listing: a `.objdump`/`.goobjdump` file or one of the extension's listing URIs. */
export function isObjdumpPath(path: string | undefined): boolean {
  if (!path) return false;
  if (LISTING_SCHEMES.some((s) => path.startsWith(`${s}:`))) return true;
  return /\.(go)?objdump$/i.test(path.replace(/[?#].*$/, ''));
}

/** A short name for messages: the file's base name (a URI's path part). */
export function listingName(path: string): string {
  const p = path.replace(/[?#].*$/, '');
  let base = p.slice(p.lastIndexOf('/') + 1) || p;
  try {
    base = decodeURIComponent(base);
  } catch {
    // keep it encoded
  }
  return base;
}

export interface ListingLine {
  insn: ObjdumpInstruction;
  /** The enclosing `TEXT name(SB)` block's function, when there is one above the line. */
  function?: string;
  /**
   * The block's first instruction address. In `go tool objdump` output that is the function's
   * entry; Delve `disassemble` listings of a range may start the block anywhere (startsAtEntry false).
   */
  blockStart?: number;
  startsAtEntry: boolean;
}

const TEXT_LINE = /^TEXT (.+?)\(SB\)/;

/**
 * Line `line` (1-based) of a listing: its instruction and the enclosing function, or a string
 * saying why there is none. Reads the lines only up to `line`.
 */
export async function listingLineAt(lines: AsyncIterable<string> | Iterable<string>, line: number, name: string): Promise<ListingLine | string> {
  let n = 0;
  let fn: string | undefined;
  let start: number | undefined;
  for await (const text of lines) {
    n++;
    const t = TEXT_LINE.exec(text);
    if (t) {
      fn = t[1];
      start = undefined;
    }
    const insn = t ? undefined : parseInstructionLine(text, n - 1);
    if (insn && start === undefined) start = insn.address;
    if (n === line) {
      if (!insn) return `line ${line} of ${name} is not an instruction line`;
      // Delve's listing (`=>` or a tab first) may begin a block mid-function.
      const delveShape = text.startsWith('\t') || text.startsWith('=>');
      return { insn, function: fn, blockStart: fn === undefined ? undefined : start, startsAtEntry: fn !== undefined && !delveShape };
    }
  }
  return `line ${line} of ${name} is past its end (${n} lines)`;
}

/**
 * The lines of a listing: the text the extension passed along, else the file on disk (read only as
 * far as needed: dumps can be hundreds of MB). A URI that is not a file cannot be read here.
 */
export function listingLines(path: string, text: string | undefined): () => AsyncIterable<string> | Iterable<string> {
  if (text !== undefined) return () => text.split(/\r?\n/);
  return () => {
    if (!path.startsWith('/')) {
      throw new Error(`the text of ${listingName(path)} was not passed along; open it in VS Code during the debug session (the extension sends it)`);
    }
    return fileLines(path);
  };
}

async function* fileLines(path: string): AsyncGenerator<string> {
  const input = createReadStream(path, { encoding: 'utf8' });
  const rl = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
    input.destroy();
  }
}
