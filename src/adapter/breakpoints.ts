// The breakpoints the UI asked for, as Delve breakpoints: source lines (through substitutePath),
// functions, instruction addresses; conditions and hit conditions go to Delve, logpoints are
// kept here (Delve stops, the session prints the message and continues). Every address is first
// put to the engine's guest-mode rules (src/bluepill/codeKinds.ts): none goes into code that runs
// only in guest mode or on a faulting instruction, and one in dual-mode code carries a warning
// where that is not measured yet.
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DelveClient } from '../delve/delveClient';
import type { Breakpoint, BreakpointSpec } from '../delve/delveTypes';
import type { BreakpointVerdict } from '../bluepill/codeKinds';
import type { SubstitutePathRule } from '../config/attachConfig';
import { localToRemote, remoteToLocal } from '../config/substitutePath';
import { hex, parseAddress } from './addresses';
import { errorText } from './errorText';
import { toDelveHitCond } from './hitCondition';
import { parseLogMessage, type MessagePart } from './logMessage';

type Group = `source:${string}` | 'function' | 'instruction';

/** Where a source line's code is, found without Delve (the binary's .gopclntab): PCs, or why none. */
export type LineAddresses = { line: number; pcs: number[] } | string;

/** Maps a local file:line to PCs when Delve cannot (a stripped binary: no DWARF line tables). */
export type LineFallback = (remotePath: string, line: number) => Promise<LineAddresses | undefined>;

export class BreakpointBook {
  private readonly groups = new Map<Group, number[]>();
  private readonly logpoints = new Map<number, MessagePart[]>();

  constructor(
    private readonly client: DelveClient,
    private readonly rules: readonly SubstitutePathRule[],
    /** The engine's verdict on a breakpoint address. */
    private readonly verdict: (addr: number) => Promise<BreakpointVerdict>,
    private readonly lineFallback?: LineFallback,
  ) {}

  /** Refuses addresses where no breakpoint may go; the warnings of the others. */
  private async judge(addrs: readonly number[]): Promise<{ refused?: string; warning?: string }> {
    let warning: string | undefined;
    for (const a of addrs) {
      const v = await this.verdict(a);
      if (!v.allowed) return { refused: `not set: ${v.reason}` };
      warning ??= v.warning;
    }
    return { warning };
  }

  /** The logpoint message of a Delve breakpoint id, if it is a logpoint. */
  logpoint(id: number): MessagePart[] | undefined {
    return this.logpoints.get(id);
  }

  isInstruction(id: number): boolean {
    return this.groups.get('instruction')?.includes(id) ?? false;
  }

  isFunction(id: number): boolean {
    return this.groups.get('function')?.includes(id) ?? false;
  }

  /** Every Delve breakpoint id we created. */
  allIds(): number[] {
    return [...this.groups.values()].flat();
  }

  private async replace<T>(
    group: Group,
    wanted: readonly T[],
    create: (w: T) => Promise<{ spec: BreakpointSpec; addrs: readonly number[]; logMessage?: string; at?: { path: string; line: number } } | string>,
    describe: (w: T) => string,
  ): Promise<DebugProtocol.Breakpoint[]> {
    for (const id of this.groups.get(group) ?? []) {
      this.logpoints.delete(id);
      await this.client.clearBreakpoint(id).catch(() => undefined);
    }
    const ids: number[] = [];
    const out: DebugProtocol.Breakpoint[] = [];
    for (const w of wanted) {
      let made: Awaited<ReturnType<typeof create>>;
      try {
        made = await create(w);
      } catch (err) {
        out.push({ verified: false, message: `${describe(w)}: ${errorText(err)}` });
        continue;
      }
      if (typeof made === 'string') {
        out.push({ verified: false, message: made });
        continue;
      }
      const judged = await this.judge(made.addrs).catch((e: Error) => ({
        refused: `not set: the code kind of ${made.addrs.map(hex).join(', ')} is unknown (${e.message})`,
        warning: undefined,
      }));
      if (judged.refused) {
        out.push({ verified: false, message: `${describe(w)}: ${judged.refused}`, instructionReference: hex(made.addrs[0]) });
        continue;
      }
      try {
        const bp = await this.client.createBreakpoint(made.spec);
        ids.push(bp.id);
        if (made.logMessage !== undefined) this.logpoints.set(bp.id, parseLogMessage(made.logMessage));
        // An address breakpoint made for a source line: it belongs to the user's file and line.
        const at = made.at ? { source: { path: made.at.path, name: made.at.path.split('/').pop() }, line: made.at.line } : {};
        out.push({ ...this.toDap(bp), ...at, ...(judged.warning ? { message: `${describe(w)}: ${judged.warning}` } : {}) });
      } catch (err) {
        out.push({ verified: false, message: `${describe(w)}: ${errorText(err)}` });
      }
    }
    this.groups.set(group, ids);
    return out;
  }

  private toDap(bp: Breakpoint): DebugProtocol.Breakpoint {
    const addr = bp.addrs?.[0] ?? bp.addr;
    const out: DebugProtocol.Breakpoint = { id: bp.id, verified: true, instructionReference: hex(addr) };
    if (bp.file) {
      out.source = { path: remoteToLocal(bp.file, this.rules), name: bp.file.split('/').pop() };
      out.line = bp.line;
    }
    return out;
  }

  setSource(path: string, wanted: readonly DebugProtocol.SourceBreakpoint[]): Promise<DebugProtocol.Breakpoint[]> {
    const file = localToRemote(path, this.rules);
    return this.replace(
      `source:${path}`,
      wanted,
      async (b) => {
        const cond = { Cond: b.condition || undefined, HitCond: toDelveHitCond(b.hitCondition) };
        // Where Delve would put it, to judge the addresses first.
        let delveError: unknown;
        const locs = await this.client.findLocation(`${file}:${b.line}`).catch((e: unknown) => ((delveError = e), []));
        const addrs = locs.flatMap((l) => (l.pcs?.length ? l.pcs : [l.pc]));
        if (addrs.length) return { spec: { file, line: b.line, ...cond }, addrs, logMessage: b.logMessage };
        // Delve found no code: the binary's own line table may (a stripped binary).
        const own = await this.lineFallback?.(file, b.line);
        if (typeof own === 'string') return `${file}:${b.line}: ${own}`;
        if (own) return { spec: { addrs: own.pcs, ...cond }, addrs: own.pcs, logMessage: b.logMessage, at: { path, line: own.line } };
        if (delveError) throw delveError;
        return `${file}:${b.line}: no code at this line`;
      },
      (b) => `${file}:${b.line}`,
    );
  }

  setFunctions(wanted: readonly DebugProtocol.FunctionBreakpoint[]): Promise<DebugProtocol.Breakpoint[]> {
    return this.replace(
      'function',
      wanted,
      async (b) => {
        const locs = await this.findFunction(b.name);
        if (!locs.length) return `no function "${b.name}"`;
        const loc = locs[0];
        const addrs = loc.pcs?.length ? loc.pcs : [loc.pc];
        return { spec: { addrs, Cond: b.condition || undefined, HitCond: toDelveHitCond(b.hitCondition) }, addrs };
      },
      (b) => b.name,
    );
  }

  /**
   * Delve's locations of a function, by its name with or without the `.abi0` suffix of assembly
   * functions: on a stripped binary Delve knows only one of the two spellings.
   */
  private async findFunction(name: string): Promise<Awaited<ReturnType<DelveClient['findLocation']>>> {
    const other = name.endsWith('.abi0') ? name.slice(0, -'.abi0'.length) : `${name}.abi0`;
    try {
      const locs = await this.client.findLocation(name);
      if (locs.length) return locs;
    } catch (err) {
      const alt = await this.client.findLocation(other).catch(() => []);
      if (alt.length) return alt;
      throw err;
    }
    return this.client.findLocation(other).catch(() => []);
  }

  setInstructions(wanted: readonly DebugProtocol.InstructionBreakpoint[]): Promise<DebugProtocol.Breakpoint[]> {
    return this.replace(
      'instruction',
      wanted,
      async (b) => {
        const base = parseAddress(b.instructionReference);
        if (base === undefined) return `"${b.instructionReference}" is not an address`;
        const addrs = [base + (b.offset ?? 0)];
        return { spec: { addrs, Cond: b.condition || undefined, HitCond: toDelveHitCond(b.hitCondition) }, addrs };
      },
      (b) => b.instructionReference,
    );
  }
}
