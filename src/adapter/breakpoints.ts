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
import { listingLineAt, listingName, nameOffset, parseBreakSpec, sameFunction, type ListingLine } from './addressSpecs';
import { toDelveHitCond } from './hitCondition';
import { parseLogMessage, type MessagePart } from './logMessage';

type Group = `source:${string}` | 'function' | 'instruction';

/** A breakpoint about to be created: Delve's spec, the addresses it plants (to judge first), where it belongs. */
interface Made {
  spec: BreakpointSpec;
  addrs: readonly number[];
  logMessage?: string;
  /** The file (or listing) and line the breakpoint is shown on; `source` when it is not a plain path. */
  at?: { path: string; line: number; source?: DebugProtocol.Source };
  /** Said in the breakpoint's message (a relocation). */
  note?: string;
}

/** Where a source line's code is, found without Delve (the binary's .gopclntab): PCs, or why none. */
export type LineAddresses = { line: number; pcs: number[] } | string;

/** Maps a local file:line to PCs when Delve cannot (a stripped binary: no DWARF line tables). */
export type LineFallback = (remotePath: string, line: number) => Promise<LineAddresses | undefined>;

export class BreakpointBook {
  private readonly groups = new Map<Group, number[]>();
  private readonly logpoints = new Map<number, MessagePart[]>();
  /**
   * Breakpoints made in the Debug Console. Announced to the UI with a `breakpoint` event (reason
   * `new`), which VS Code shows as a source breakpoint at their file:line; from then on VS Code's
   * setBreakpoints for that file includes the line, and setSource adopts (or, when the line is
   * gone, clears) them.
   */
  private readonly consoleBps = new Map<number, { label: string; bp: DebugProtocol.Breakpoint }>();

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
    return (this.groups.get('instruction')?.includes(id) ?? false) || this.consoleBps.has(id);
  }

  isFunction(id: number): boolean {
    return this.groups.get('function')?.includes(id) ?? false;
  }

  /** Every Delve breakpoint id we created. */
  allIds(): number[] {
    return [...this.groups.values()].flat().concat([...this.consoleBps.keys()]);
  }

  // ---- the Debug Console's -b, -bl, -bc ----

  /** A breakpoint typed in the Debug Console (`-b *0x…`, `-b name+0x18`, `-b name`), judged like every other. */
  async addConsole(text: string): Promise<DebugProtocol.Breakpoint> {
    let label = text;
    const { bp, id } = await this.plant(
      text,
      async (t) => {
        const where = await this.resolveSpec(t);
        if (typeof where === 'string') return where;
        label = where.label;
        return { spec: { addrs: where.addrs }, addrs: where.addrs };
      },
      (t) => t,
    );
    if (id !== undefined) this.consoleBps.set(id, { label, bp });
    return bp;
  }

  /** The Debug Console's breakpoints, in creation order. */
  consoleList(): { id: number; label: string; bp: DebugProtocol.Breakpoint }[] {
    return [...this.consoleBps].map(([id, c]) => ({ id, ...c }));
  }

  /** Clears a Debug Console breakpoint; false when `id` is not one. */
  async clearConsole(id: number): Promise<boolean> {
    if (!this.consoleBps.delete(id)) return false;
    await this.client.clearBreakpoint(id);
    return true;
  }

  /** What a wanted breakpoint becomes: Delve's spec and the addresses to judge, or why none. */
  private async plant<T>(
    w: T,
    create: (w: T) => Promise<Made | string>,
    describe: (w: T) => string,
  ): Promise<{ bp: DebugProtocol.Breakpoint; id?: number; at?: Made['at'] }> {
    let made: Made | string;
    try {
      made = await create(w);
    } catch (err) {
      return { bp: { verified: false, message: `${describe(w)}: ${errorText(err)}` } };
    }
    if (typeof made === 'string') return { bp: { verified: false, message: made } };
    const judged = await this.judge(made.addrs).catch((e: Error) => ({
      refused: `not set: the code kind of ${made.addrs.map(hex).join(', ')} is unknown (${e.message})`,
      warning: undefined,
    }));
    if (judged.refused) {
      return { bp: { verified: false, message: `${describe(w)}: ${judged.refused}`, instructionReference: hex(made.addrs[0]), ...this.atOf(made) } };
    }
    try {
      const bp = await this.client.createBreakpoint(made.spec);
      if (made.logMessage !== undefined) this.logpoints.set(bp.id, parseLogMessage(made.logMessage));
      const notes = [made.note, judged.warning].filter((n): n is string => !!n);
      // An address breakpoint made for a source or listing line: it belongs to that file and line.
      return {
        bp: { ...this.toDap(bp), ...this.atOf(made), ...(notes.length ? { message: `${describe(w)}: ${notes.join('; ')}` } : {}) },
        id: bp.id,
        at: made.at,
      };
    } catch (err) {
      return { bp: { verified: false, message: `${describe(w)}: ${errorText(err)}` } };
    }
  }

  private atOf(made: Made): Partial<DebugProtocol.Breakpoint> {
    if (!made.at) return {};
    return { source: made.at.source ?? { path: made.at.path, name: made.at.path.split('/').pop() }, line: made.at.line };
  }

  private async replace<T>(
    group: Group,
    wanted: readonly T[],
    create: (w: T) => Promise<Made | string>,
    describe: (w: T) => string,
  ): Promise<DebugProtocol.Breakpoint[]> {
    for (const id of this.groups.get(group) ?? []) {
      this.logpoints.delete(id);
      await this.client.clearBreakpoint(id).catch(() => undefined);
    }
    const ids: number[] = [];
    const out: DebugProtocol.Breakpoint[] = [];
    for (const w of wanted) {
      const { bp, id } = await this.plant(w, create, describe);
      if (id !== undefined) ids.push(id);
      out.push(bp);
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

  async setSource(path: string, wanted: readonly DebugProtocol.SourceBreakpoint[]): Promise<DebugProtocol.Breakpoint[]> {
    // Debug Console breakpoints VS Code now lists at a line of this file: kept while the line is
    // wanted (they stay instruction breakpoints), cleared when the user removed the line.
    const kept = new Map<number, DebugProtocol.Breakpoint>();
    for (const [id, c] of [...this.consoleBps]) {
      if (c.bp.source?.path !== path || c.bp.line === undefined) continue;
      if (wanted.some((b) => b.line === c.bp.line) && !kept.has(c.bp.line)) kept.set(c.bp.line, c.bp);
      else {
        this.consoleBps.delete(id);
        await this.client.clearBreakpoint(id).catch(() => undefined);
      }
    }
    const made = await this.setSourceLines(
      path,
      wanted.filter((b) => !kept.has(b.line)),
    );
    let i = 0;
    return wanted.map((b) => kept.get(b.line) ?? made[i++]);
  }

  private setSourceLines(path: string, wanted: readonly DebugProtocol.SourceBreakpoint[]): Promise<DebugProtocol.Breakpoint[]> {
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
        const where = await this.resolveSpec(b.name);
        if (typeof where === 'string') return where;
        return { spec: { addrs: where.addrs, Cond: b.condition || undefined, HitCond: toDelveHitCond(b.hitCondition) }, addrs: where.addrs };
      },
      (b) => b.name,
    );
  }

  /**
   * The addresses of a breakpoint written as `*0xADDR`, `0xADDR`, `name+0xOFF` or `name` (after
   * the prologue, as Delve's `break name`), or why there are none.
   */
  async resolveSpec(text: string): Promise<{ addrs: number[]; label: string } | string> {
    const spec = parseBreakSpec(text);
    if (!spec) return `"${text}" is not an address, name+0xOFF or function name`;
    if (spec.kind === 'address') return { addrs: [spec.addr], label: hex(spec.addr) };
    const locs = await this.findFunction(spec.name);
    if (!locs.length) return `no function "${spec.name}"`;
    const loc = locs[0];
    if (spec.kind === 'function') return { addrs: loc.pcs?.length ? loc.pcs : [loc.pc], label: loc.function?.name ?? spec.name };
    const fn = loc.function;
    if (!fn) return `Delve gives no entry address for "${spec.name}"`;
    const addr = fn.value + spec.offset;
    // The offset must stay inside the function: Delve names the function of any address.
    const inside = (await this.client.findLocation(`*${hex(addr)}`).catch(() => []))[0]?.function;
    if (!inside || !sameFunction(inside.name, fn.name)) {
      return `${nameOffset(fn.name, spec.offset)} is past the end of ${fn.name} (${hex(addr)} is in ${inside?.name ?? 'no function'})`;
    }
    return { addrs: [addr], label: `${hex(addr)} (${nameOffset(fn.name, spec.offset)})` };
  }

  /**
   * Breakpoints on instruction lines of a Go objdump listing (a `.objdump` file, or a listing
   * document whose text the extension passed along). Each line's address is checked against the
   * attached binary through its function: the dump may come from another build.
   */
  setListing(
    source: DebugProtocol.Source,
    key: string,
    wanted: readonly DebugProtocol.SourceBreakpoint[],
    lines: () => AsyncIterable<string> | Iterable<string>,
  ): Promise<DebugProtocol.Breakpoint[]> {
    const name = listingName(source.path ?? key);
    return this.replace(
      `source:${key}`,
      wanted,
      async (b) => {
        const found = await listingLineAt(lines(), b.line, name);
        if (typeof found === 'string') return found;
        const placed = await this.placeListingAddress(found, name);
        if (typeof placed === 'string') return placed;
        const addrs = [placed.addr];
        return {
          spec: { addrs, Cond: b.condition || undefined, HitCond: toDelveHitCond(b.hitCondition) },
          addrs,
          logMessage: b.logMessage,
          at: { path: source.path ?? key, line: b.line, source },
          note: placed.note,
        };
      },
      (b) => `line ${b.line} of ${name}`,
    );
  }

  /**
   * A listing's address in the attached binary. The same function at the same offset: the address
   * itself. The function elsewhere (another build): its entry there plus the same offset. No such
   * function: why not.
   */
  private async placeListingAddress(found: ListingLine, from: string): Promise<{ addr: number; note?: string } | string> {
    const addr = found.insn.address;
    if (found.function === undefined) return { addr };
    const dumpOffset = found.startsAtEntry && found.blockStart !== undefined ? addr - found.blockStart : undefined;
    const what = `${hex(addr)} (${nameOffset(found.function, dumpOffset)})`;
    const live = (await this.client.findLocation(`*${hex(addr)}`).catch(() => []))[0]?.function;
    if (live && sameFunction(live.name, found.function) && (dumpOffset === undefined || addr - live.value === dumpOffset)) return { addr };
    let locs: Awaited<ReturnType<DelveClient['findLocation']>>;
    try {
      locs = await this.findFunction(found.function);
    } catch (err) {
      return `${what} from ${from} is not in the attached binary: ${(err as Error).message.replace(/^Delve FindLocation: /, '')}`;
    }
    const entry = locs[0]?.function?.value;
    if (entry === undefined) return `${what} from ${from} is not in the attached binary: it has no function ${found.function}`;
    if (dumpOffset === undefined) {
      return `${what} from ${from}: the attached binary has ${found.function} at ${hex(entry)}, and this listing does not start at the function's entry, so the offset is unknown`;
    }
    const moved = entry + dumpOffset;
    return {
      addr: moved,
      note: `relocated: ${what} in ${from} is ${hex(moved)} in the attached binary (${found.function} starts at ${hex(entry)} there: the listing is of another build)`,
    };
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
