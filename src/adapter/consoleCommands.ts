// Debug Console commands for what the UI lacks. Anything else typed in the console is a Go
// expression evaluated by Delve.
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DelveClient } from '../delve/delveClient';
import type { Stackframe, Thread } from '../delve/delveTypes';
import { hex, parseAddress } from './addresses';

export const CONSOLE_HELP = [
  'Debug Console commands (anything else is a Go expression, e.g. *(*[8]uint64)(0xc000073300)):',
  '  -threads            every OS thread: tid, PC, function, goroutine, file:line (* = current)',
  '  -bt [depth] [tid]   backtrace of a thread (default: the current one, depth 50, at most 2000)',
  '  -regs [tid]         raw registers of a thread, including floating point',
  '  -x ADDR [LEN]       hex dump of LEN bytes (default 64, at most 65536) at ADDR',
  '  -dis ADDR [N]       N instructions (default 16) from ADDR, Go syntax',
  '  -si [N] [tid]       N guarded instruction steps (default 1) on a thread, one stop at the end; Pause cancels',
  '  -b ADDR|name[+OFF]  breakpoint at *0xADDR, 0xADDR, name+0xOFF or a function (after its prologue); shown in Breakpoints',
  '  -bl                 the breakpoints made with -b',
  '  -bc ID              clear a breakpoint made with -b',
  '  -help               this list',
].join('\n');

export interface ConsoleContext {
  client: DelveClient;
  threads(): Promise<Thread[]>;
  currentThreadId(): number | undefined;
  stack(threadId: number, depth: number): Promise<Stackframe[]>;
  /** Starts `count` guarded instruction steps on a thread as one user action (one stop at the end). */
  stepInstructions(threadId: number, count: number): void;
  /** Breakpoints of the console (through the guest-mode verdict, announced to the UI). */
  addBreakpoint(spec: string): Promise<DebugProtocol.Breakpoint>;
  listBreakpoints(): { id: number; label: string; bp: DebugProtocol.Breakpoint }[];
  clearBreakpoint(id: number): Promise<boolean>;
}

/** Console commands that also work while the target runs (breakpoints are set as a Continue is halted, changed and resumed). */
export function consoleCommandRunsAnytime(text: string): boolean {
  return /^(-b|-bl|-bc|-help)(\s|$)/.test(text.trim());
}

function describeBreakpoint(id: number, label: string, bp: DebugProtocol.Breakpoint): string {
  const where = bp.source?.path && bp.line ? `  ${bp.source.path}:${bp.line}` : '';
  return `Breakpoint ${id} at ${label === bp.instructionReference ? label : `${bp.instructionReference} ${label}`}${where}${bp.message ? `  (${bp.message})` : ''}`;
}

export function isConsoleCommand(text: string): boolean {
  return /^-[a-z]/.test(text.trim());
}

export function hexDump(address: number, data: Buffer): string {
  const lines: string[] = [];
  for (let off = 0; off < data.length; off += 16) {
    const row = data.subarray(off, off + 16);
    const bytes = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const text = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${(address + off).toString(16).padStart(12, '0')}  ${bytes.padEnd(47)}  ${text}`);
  }
  return lines.join('\n');
}

function int(text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const n = parseAddress(text);
  if (n === undefined) throw new Error(`"${text}" is not a number`);
  return Math.min(n, max);
}

export async function runConsoleCommand(line: string, ctx: ConsoleContext): Promise<string> {
  const [cmd, ...args] = line.trim().split(/\s+/);
  switch (cmd) {
    case '-help':
      return CONSOLE_HELP;
    case '-threads': {
      const cur = ctx.currentThreadId();
      return (await ctx.threads())
        .map(
          (t) =>
            `${t.id === cur ? '*' : ' '} ${String(t.id).padStart(7)}  ${hex(t.pc).padEnd(14)} ${t.function?.name ?? '?'}${t.goroutineID ? `  [g ${t.goroutineID}]` : ''}${t.file ? `  ${t.file}:${t.line}` : ''}`,
        )
        .join('\n');
    }
    case '-bt': {
      const depth = int(args[0], 50, 2000);
      const tid = args[1] !== undefined ? int(args[1], 0, 2 ** 31) : ctx.currentThreadId();
      if (tid === undefined) throw new Error('no current thread; give a thread id: -bt DEPTH TID');
      // The stack may run deeper than asked (the frames unwound through a signal frame).
      const frames = (await ctx.stack(tid, depth)).slice(0, depth);
      return frames
        .map((f, i) => `#${String(i).padEnd(4)} ${hex(f.pc).padEnd(14)} ${f.function?.name ?? '?'}${f.file ? `  ${f.file}:${f.line}` : ''}`)
        .join('\n');
    }
    case '-si': {
      const count = int(args[0], 1, 10_000);
      const tid = args[1] !== undefined ? int(args[1], 0, 2 ** 31) : ctx.currentThreadId();
      if (tid === undefined) throw new Error('no current thread: -si N TID');
      ctx.stepInstructions(tid, count);
      return `stepping ${count} instruction(s) on thread ${tid}…`;
    }
    case '-regs': {
      const tid = args[0] !== undefined ? int(args[0], 0, 2 ** 31) : (ctx.currentThreadId() ?? 0);
      const regs = await ctx.client.listRegisters(tid, true);
      return regs.map((r) => `${r.Name.padEnd(8)} ${r.Value}`).join('\n');
    }
    case '-x': {
      const addr = parseAddress(args[0]);
      if (addr === undefined) throw new Error('usage: -x ADDR [LEN]');
      const len = int(args[1], 64, 65536);
      return hexDump(addr, await ctx.client.examineMemory(addr, len));
    }
    case '-dis': {
      const addr = parseAddress(args[0]);
      if (addr === undefined) throw new Error('usage: -dis ADDR [N]');
      const n = int(args[1], 16, 1000);
      const insns = (await ctx.client.disassemble(addr, addr + n * 15)).slice(0, n);
      return insns.map((i) => `${hex(i.Loc.pc).padEnd(14)} ${Buffer.from(i.Bytes, 'base64').toString('hex').padEnd(20)} ${i.Text}`).join('\n');
    }
    case '-b': {
      const spec = args.join(' ');
      if (!spec) throw new Error('usage: -b *0xADDR | 0xADDR | name+0xOFF | name');
      const bp = await ctx.addBreakpoint(spec);
      if (!bp.verified || bp.id === undefined) throw new Error(bp.message ?? `${spec}: not set`);
      return describeBreakpoint(bp.id, ctx.listBreakpoints().find((b) => b.id === bp.id)?.label ?? spec, bp);
    }
    case '-bl': {
      const list = ctx.listBreakpoints();
      return list.length ? list.map((b) => describeBreakpoint(b.id, b.label, b.bp)).join('\n') : 'no breakpoints made with -b';
    }
    case '-bc': {
      const id = args[0] === undefined ? undefined : Number(args[0]);
      if (id === undefined || !Number.isInteger(id)) throw new Error('usage: -bc ID (-bl lists them)');
      if (!(await ctx.clearBreakpoint(id))) throw new Error(`no breakpoint ${id} made with -b (-bl lists them)`);
      return `Breakpoint ${id} cleared`;
    }
    default:
      throw new Error(`unknown command ${cmd}; -help lists the commands`);
  }
}
