// What the UI reads while the target is stopped: stack frames, scopes, variables (and setting
// them), and evaluation. Frame and variable handles live until the next stop.
import { Handles } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { MAX_STACK_FRAMES, type ResolvedAttachConfig } from '../config/attachConfig';
import { remoteToLocal } from '../config/substitutePath';
import { DEFAULT_LOAD_CONFIG, type DelveClient } from '../delve/delveClient';
import type { EvalScope, Thread, Variable } from '../delve/delveTypes';
import { formatSymbol, shortFunctionName, type Symbolizer } from '../bluepill/symbolizer';
import type { MachineContext } from '../bluepill/machineContext';
import { hex, parseAddress } from './addresses';
import { errorText } from './errorText';
import { evaluateMachineExpression, parseMachineExpression } from './machineExpression';
import type { StackCache } from './stackCache';
import { childrenOf, formatValue, hexOfDecimal, isCompound, isUnsignedInteger, memoryReferenceOf, needsReload } from './variableView';

type FrameRef = { threadId: number; frame: number };
type VarRef =
  | { kind: 'locals' | 'args' | 'registers'; threadId: number; frame: number }
  | { kind: 'ucontext'; context: MachineContext }
  | { kind: 'value'; variable: Variable; evaluateName: string | undefined; scope: EvalScope };

export interface InspectionContext {
  readonly client: DelveClient;
  readonly config: ResolvedAttachConfig;
  readonly stacks: StackCache;
  readonly symbolizer: Symbolizer;
  /** The address is in an executable mapping of the target (so a symbol may name it). */
  isCode?(addr: number): Promise<boolean>;
  /** file:line from the binary's own tables, where Delve gives none (a stripped binary). */
  positionOf?(pc: number): Promise<{ file: string; line: number } | undefined>;
  /** The binary's name when it is stripped (no DWARF: Delve has no variables), else undefined. */
  readonly strippedBinary: string | undefined;
  threads(): readonly Thread[];
  currentThreadId(): number | undefined;
}

export class Inspection {
  private frameHandles = new Handles<FrameRef>();
  private varHandles = new Handles<VarRef>();

  constructor(private readonly ctx: InspectionContext) {}

  /** The target ran: every frame and variable handle is stale. */
  reset(): void {
    this.frameHandles = new Handles<FrameRef>();
    this.varHandles = new Handles<VarRef>();
  }

  async stackTrace(args: DebugProtocol.StackTraceArguments): Promise<DebugProtocol.StackTraceResponse['body']> {
    const start = args.startFrame ?? 0;
    const levels = args.levels && args.levels > 0 ? args.levels : this.ctx.config.stackTraceDepth;
    const want = Math.min(MAX_STACK_FRAMES, start + levels);
    let frames;
    try {
      // One frame more than asked for tells whether there are more ("Load More Stack Frames").
      ({ frames } = await this.ctx.stacks.get(args.threadId, Math.min(MAX_STACK_FRAMES, want + 1)));
    } catch (err) {
      throw new Error(`Stack of thread ${args.threadId}: ${(err as Error).message}`, { cause: err });
    }
    const page = frames.slice(start, Math.min(want, frames.length));
    // Frames Delve cannot name (the vDSO) are named as everywhere else: `[vdso]+0x7bc`.
    const unnamed = await Promise.all(page.map((f) => (f.function?.name ? undefined : this.ctx.symbolizer.symbolize(f.pc).catch(() => undefined))));
    // A stripped binary: file:line Delve did not give comes from the binary's .gopclntab.
    const located = await Promise.all(
      page.map((f) =>
        f.file || f.synthetic === 'signal-handler-called' || !this.ctx.positionOf ? undefined : this.ctx.positionOf(f.pc).catch(() => undefined),
      ),
    );
    const stackFrames: DebugProtocol.StackFrame[] = page.map((f, i) => {
      const name = f.function?.name ?? formatSymbol(f.pc, unnamed[i]);
      const file = f.file || located[i]?.file;
      const sf: DebugProtocol.StackFrame = {
        id: this.frameHandles.create({ threadId: args.threadId, frame: start + i }),
        name: f.Err ? `${name} (${f.Err})` : name,
        line: f.file ? f.line : (located[i]?.line ?? f.line),
        column: 0,
        instructionPointerReference: hex(f.pc),
      };
      if (file) sf.source = { name: file.split('/').pop(), path: remoteToLocal(file, this.ctx.config.substitutePath) };
      else sf.presentationHint = 'subtle';
      if (f.synthetic === 'signal-handler-called') sf.presentationHint = 'label';
      return sf;
    });
    return { stackFrames, totalFrames: Math.min(frames.length, MAX_STACK_FRAMES) };
  }

  scopes(args: DebugProtocol.ScopesArguments): DebugProtocol.ScopesResponse['body'] {
    const ref = this.frameHandles.get(args.frameId);
    if (!ref) throw new Error('That frame is gone (the target ran since).');
    const mk = (kind: 'locals' | 'args' | 'registers'): number => this.varHandles.create({ kind, threadId: ref.threadId, frame: ref.frame });
    // Frames unwound through the signal frame are ours, not Delve's: Delve has no scope for them;
    // the interrupted one has the registers the kernel saved in the ucontext.
    const made = this.ctx.stacks.cachedFrame(ref.threadId, ref.frame);
    if (made?.synthetic) {
      if (!made.context) return { scopes: [] };
      const name = `Registers (interrupted, from the ucontext at ${hex(made.ucontextAddress ?? 0)})`;
      return {
        scopes: [
          { name, presentationHint: 'registers', variablesReference: this.varHandles.create({ kind: 'ucontext', context: made.context }), expensive: false },
        ],
      };
    }
    const registers = ref.frame === 0 ? `Registers (thread ${ref.threadId})` : `Registers (frame ${ref.frame}, unwound)`;
    if (this.ctx.strippedBinary) {
      // No DWARF, so no variables: one line that says so, instead of Delve's error per scope.
      return {
        scopes: [
          { name: `No variables: ${this.ctx.strippedBinary} is stripped (registers and memory are available)`, variablesReference: 0, expensive: false },
          { name: registers, presentationHint: 'registers', variablesReference: mk('registers'), expensive: false },
        ],
      };
    }
    return {
      scopes: [
        { name: 'Locals', presentationHint: 'locals', variablesReference: mk('locals'), expensive: false },
        { name: 'Arguments', presentationHint: 'arguments', variablesReference: mk('args'), expensive: false },
        { name: registers, presentationHint: 'registers', variablesReference: mk('registers'), expensive: false },
      ],
    };
  }

  async variables(args: DebugProtocol.VariablesArguments): Promise<DebugProtocol.VariablesResponse['body']> {
    const ref = this.varHandles.get(args.variablesReference);
    if (!ref) throw new Error('Those variables are gone (the target ran since).');
    const variables = await this.variablesOf(ref);
    const start = args.start ?? 0;
    return { variables: args.count ? variables.slice(start, start + args.count) : variables.slice(start) };
  }

  private async variablesOf(ref: VarRef): Promise<DebugProtocol.Variable[]> {
    const client = this.ctx.client;
    switch (ref.kind) {
      case 'ucontext':
        return Promise.all(
          ref.context.registers.map(async (r) => {
            const text = `0x${r.value.toString(16)}`;
            const value = r.value < 1n << 53n ? await this.withSymbol(text, Number(r.value)) : text;
            return { name: r.name, value, variablesReference: 0, memoryReference: text };
          }),
        );
      case 'value': {
        let parent = ref.variable;
        if (needsReload(parent) && ref.evaluateName) parent = await client.eval(ref.evaluateName, ref.scope, DEFAULT_LOAD_CONFIG);
        return childrenOf(parent, ref.evaluateName).map((c) => this.toDapVariable(c.name, c.variable, c.evaluateName, ref.scope));
      }
      case 'registers': {
        const regs =
          ref.frame === 0
            ? await client.listRegisters(ref.threadId, false)
            : await client.listRegisters(0, false, await this.evalScope(ref.threadId, ref.frame));
        return Promise.all(
          regs.map(async (r) => {
            const v: DebugProtocol.Variable = { name: r.Name, value: r.Value, variablesReference: 0 };
            const addr = parseAddress(r.Value.split(/\s/)[0]);
            if (addr) {
              v.memoryReference = hex(addr);
              v.value = await this.withSymbol(r.Value, addr);
            }
            return v;
          }),
        );
      }
      default: {
        const scope = await this.evalScope(ref.threadId, ref.frame);
        const vars = ref.kind === 'locals' ? await client.listLocalVars(scope) : await client.listFunctionArgs(scope);
        return vars.map((v) => this.toDapVariable(v.name, v, v.name, scope));
      }
    }
  }

  async setVariable(args: DebugProtocol.SetVariableArguments): Promise<DebugProtocol.SetVariableResponse['body']> {
    const ref = this.varHandles.get(args.variablesReference);
    if (!ref) throw new Error('That variable is gone (the target ran since).');
    if (ref.kind === 'registers' || ref.kind === 'ucontext') throw new Error('Registers are read-only here (Delve 1.20 cannot set them).');
    const failed = (err: unknown): Error => new Error(`Setting ${args.name}: ${errorText(err)}`);
    let scope: EvalScope;
    let expr: string | undefined;
    try {
      if (ref.kind === 'value') {
        scope = ref.scope;
        expr = childrenOf(ref.variable, ref.evaluateName).find((c) => c.name === args.name)?.evaluateName;
      } else {
        scope = await this.evalScope(ref.threadId, ref.frame);
        expr = args.name;
      }
    } catch (err) {
      throw failed(err);
    }
    if (!expr) throw new Error(`${args.name} cannot be named by an expression, so it cannot be set.`);
    try {
      await this.ctx.client.set(expr, args.value, scope);
      const v = await this.ctx.client.eval(expr, scope);
      return {
        value: formatValue(v),
        type: v.type,
        variablesReference: isCompound(v) ? this.varHandles.create({ kind: 'value', variable: v, evaluateName: expr, scope }) : 0,
      };
    } catch (err) {
      throw failed(err);
    }
  }

  /**
   * A Go expression, evaluated by Delve in the frame's (or the current thread's) scope. Registers by
   * name and typed memory reads are answered without Delve's types when Delve cannot (./machineExpression.ts).
   */
  async evaluate(args: DebugProtocol.EvaluateArguments): Promise<DebugProtocol.EvaluateResponse['body']> {
    const ref = args.frameId !== undefined ? this.frameHandles.get(args.frameId) : undefined;
    const threadId = ref?.threadId ?? this.ctx.currentThreadId();
    let scope: EvalScope = { GoroutineID: -1, Frame: 0 };
    try {
      if (threadId !== undefined) scope = await this.evalScope(threadId, ref?.frame ?? 0);
      const v = await this.ctx.client.eval(args.expression, scope);
      const dap = this.toDapVariable(args.expression, v, args.expression, scope);
      // A number that points into code is a PC: shown in hex, as disassembly and stacks show PCs.
      if (isUnsignedInteger(v) && BigInt(v.value) >= 0x1000n && BigInt(v.value) < 1n << 53n) {
        const sym = await this.ctx.symbolizer.symbolize(Number(v.value)).catch(() => undefined);
        if (sym && !sym.name.startsWith('[')) dap.value = hexOfDecimal(v.value) ?? dap.value;
      }
      return { result: dap.value, type: dap.type, variablesReference: dap.variablesReference, memoryReference: dap.memoryReference };
    } catch (err) {
      const machine = parseMachineExpression(args.expression);
      const own =
        machine && threadId !== undefined ? await evaluateMachineExpression(this.ctx.client, machine, threadId, scope).catch(() => undefined) : undefined;
      if (own) return { ...own, variablesReference: 0 };
      throw new Error(errorText(err), { cause: err });
    }
  }

  /**
   * A register's text with the symbol of its value when that is a code address (`0x4c36a0
   * kvm.sighandler+0x4`). Only addresses in an executable mapping are looked up: most register
   * values are data, and each lookup may be a round trip to Delve.
   */
  private async withSymbol(text: string, addr: number): Promise<string> {
    if (!this.ctx.isCode || !(await this.ctx.isCode(addr).catch(() => false))) return text;
    const sym = await this.ctx.symbolizer.symbolize(addr).catch(() => undefined);
    return sym ? `${text} ${formatSymbol(addr, { ...sym, name: shortFunctionName(sym.name) })}` : text;
  }

  /** The Delve scope of a frame of an OS thread; threads without a goroutine are selected first. */
  private async evalScope(threadId: number, frame: number): Promise<EvalScope> {
    const t = this.ctx.threads().find((x) => x.id === threadId);
    if (t && t.goroutineID > 0) return { GoroutineID: t.goroutineID, Frame: frame };
    await this.ctx.client.switchThread(threadId);
    return { GoroutineID: -1, Frame: frame };
  }

  private toDapVariable(name: string, v: Variable, evaluateName: string | undefined, scope: EvalScope): DebugProtocol.Variable {
    const out: DebugProtocol.Variable = {
      name,
      value: formatValue(v),
      type: v.type,
      variablesReference: isCompound(v) ? this.varHandles.create({ kind: 'value', variable: v, evaluateName, scope }) : 0,
    };
    if (evaluateName) out.evaluateName = evaluateName;
    const mem = memoryReferenceOf(v);
    if (mem) out.memoryReference = mem;
    return out;
  }
}
