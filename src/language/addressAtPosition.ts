// Finds the code address under the cursor in one line of text: `0x951d5c`, `pc=0x…`, a bare
// `951d5c` (go-objdump documents only), `name+0x1f`, and the `+0x31` of a Go traceback frame
// whose function is named on the line above. Only a window around the cursor is looked at,
// so a 100k-character line costs no more than a short one.

import { parseInstructionLine } from './symbolSources';

export interface AddressAt {
  kind: 'address';
  address: number;
  /** A return address (caller frames in tracebacks): the call is the instruction before it. */
  returnAddress: boolean;
  start: number;
  end: number;
}

export interface FunctionOffsetAt {
  kind: 'functionOffset';
  function: string;
  offset: number;
  returnAddress: boolean;
  start: number;
  end: number;
}

export type AddressReference = AddressAt | FunctionOffsetAt;

export interface AddressContext {
  /** Bare hex words count as addresses (go-objdump documents, outside instruction lines). */
  bareHex: boolean;
  /** The line above, for the function name of a traceback frame. */
  previousLine?: string;
}

const WINDOW = 96;
const TOKEN = /\+0x[0-9a-fA-F]+|0x[0-9a-fA-F]+|[0-9a-fA-F]+/g;
/** `\t/path/file.go:12 +0x31 …` (the frame's position line in a Go traceback). */
const TRACEBACK_POSITION = /^\s+\S[^\t]*:\d+ \+0x[0-9a-fA-F]+(?: |$)/;
/** `main.f(…)`, `main.(*T).m(…)`, `panic({…})`, `created by runtime.init.6` (optionally `in goroutine N`). */
const TRACEBACK_FUNCTION = /^(?:created by )?(.+?)\([^()]*\)(?: in goroutine \d+)?\s*$/;
const CREATED_BY = /^created by (\S+)/;
const MAX_CONTEXT_LINE = 4096;

export function addressAt(line: string, character: number, context: AddressContext): AddressReference | undefined {
  const from = Math.max(0, character - WINDOW);
  const to = Math.min(line.length, character + WINDOW);
  const slice = line.slice(from, to);
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(slice); m !== null; m = TOKEN.exec(slice)) {
    const start = from + m.index;
    const end = start + m[0].length;
    if (character < start || character > end) continue;
    // Tokens must stand alone: not the tail of a word (`R0x1`) nor glued to one (`0x1f0abc`).
    if (start > 0 && /[\w.]/.test(line[start - 1]) && m[0][0] !== '+') return undefined;
    if (end < line.length && /\w/.test(line[end])) return undefined;
    return classify(line, m[0], start, end, context);
  }
  return undefined;
}

function classify(line: string, token: string, start: number, end: number, context: AddressContext): AddressReference | undefined {
  if (token.startsWith('+0x')) {
    const offset = parseInt(token.slice(3), 16);
    const name = nameBefore(line, start);
    if (name !== undefined) return { kind: 'functionOffset', function: name, offset, returnAddress: false, start, end };
    if (line.length <= MAX_CONTEXT_LINE && TRACEBACK_POSITION.test(line) && context.previousLine !== undefined) {
      const fn = tracebackFunction(context.previousLine);
      if (fn !== undefined) return { kind: 'functionOffset', function: fn, offset, returnAddress: true, start, end };
    }
    return undefined;
  }
  if (token.startsWith('0x')) {
    const label = line.slice(Math.max(0, start - 3), start);
    // fp= and sp= in tracebacks are stack addresses, not code.
    if (label === 'fp=' || label === 'sp=') return undefined;
    const address = parseInt(token.slice(2), 16);
    if (!Number.isSafeInteger(address)) return undefined;
    const returnAddress = label === 'pc=' && line.length <= MAX_CONTEXT_LINE && TRACEBACK_POSITION.test(line);
    return { kind: 'address', address, returnAddress, start, end };
  }
  if (!context.bareHex || token.length < 4 || token.length > 16 || !/[0-9]/.test(token)) return undefined;
  // In an instruction line addresses carry 0x; bare hex there is the encoding column.
  if (line.length <= MAX_CONTEXT_LINE && parseInstructionLine(line) !== undefined) return undefined;
  const address = parseInt(token, 16);
  if (!Number.isSafeInteger(address)) return undefined;
  return { kind: 'address', address, returnAddress: false, start, end };
}

/** `kvm.bluepill+0x1c`, `main.(*T).m+0x8`, `main.Sum[go.shape.int_0]+0x4`: the symbol glued to the offset. */
function nameBefore(line: string, plus: number): string | undefined {
  let s = plus;
  let depth = 0;
  while (s > 0 && s > plus - 512) {
    const c = line[s - 1];
    if (c === ')' || c === ']') depth++;
    else if (c === '(' || c === '[') {
      if (depth === 0) break;
      depth--;
    } else if (depth === 0 && /[\s,;'"`<>=]/.test(c)) break;
    s--;
  }
  const name = line.slice(s, plus);
  if (depth !== 0 || name === '' || /^[0-9]/.test(name) || !/[A-Za-z_]/.test(name)) return undefined;
  return name;
}

/** The function named on a traceback frame's first line, or undefined. */
export function tracebackFunction(line: string): string | undefined {
  if (line.length > MAX_CONTEXT_LINE) return undefined;
  const created = CREATED_BY.exec(line);
  if (created !== null) return created[1];
  const m = TRACEBACK_FUNCTION.exec(line);
  if (m === null || /\s/.test(m[1])) return undefined;
  return m[1];
}
