// The bluepill custom requests of the DAP session: step over bluepill (engine in src/bluepill),
// the hop history the views show, and live symbols/disassembly for the objdump language server.
import type { DebugProtocol } from '@vscode/debugprotocol';
import { Event } from '@vscode/debugadapter';
import type { DelveClient } from '../delve/delveClient';
import { AsmFlavour } from '../delve/delveTypes';
import { symbolizeContext } from '../bluepill/contextDiff';
import type { GuardedEngine } from '../bluepill/guardedEngine';
import { hopsToMarkdown } from '../bluepill/hop';
import { locationText } from '../bluepill/hop';
import {
  HopsEvent,
  DisassembleFunctionRequest,
  HopsRequest,
  SymbolizeDapRequest,
  LocationEvent,
  StepOverRequest,
  type HopsEventBody,
  type LocationEventBody,
  type LocationKind,
  type StepOverArguments,
  type StepOverResponseBody,
  type WireHop,
} from '../protocol/bluepillMessages';
import { hopToWire, unfinishedToWire } from './hopToWire';
import { classifyLocation } from './bluepillLocation';
import type { ProgressReporter } from './progressReporter';
import type { TaskResult } from './execution';

/** Most hops kept for the views. */
const HOP_HISTORY = 200;

export interface BluepillHost {
  readonly delve: DelveClient;
  readonly engine: GuardedEngine;
  /** The target is stopped (Delve answers queries). */
  stopped(): boolean;
  runEngineTask(task: (signal: AbortSignal) => Promise<TaskResult>): void;
  sendEvent(event: DebugProtocol.Event): void;
  readonly progress: ProgressReporter;
}

export class BluepillRequests {
  private readonly hops: WireHop[] = [];
  private nextHopIndex = 1;
  defaultMaxHops = 8;

  constructor(private readonly host: BluepillHost) {}

  static handles(command: string): boolean {
    return [StepOverRequest.command, HopsRequest.command, SymbolizeDapRequest.command, DisassembleFunctionRequest.command].includes(command);
  }

  private delve(): DelveClient {
    return this.host.delve;
  }

  private engine(): GuardedEngine {
    return this.host.engine;
  }

  /** Answers a custom request; resolves with the response body. */
  handle(command: string, args: unknown): Promise<unknown> {
    switch (command) {
      case StepOverRequest.command:
        return this.stepOver(args as StepOverArguments);
      case HopsRequest.command:
        return Promise.resolve({ hops: this.hops, latest: [], description: '' } satisfies HopsEventBody);
      case SymbolizeDapRequest.command:
        return this.symbolize((args as { addresses?: number[] }).addresses ?? []);
      case DisassembleFunctionRequest.command:
        return this.disassembleFunction(String((args as { function?: string }).function ?? ''));
      default:
        return Promise.reject(new Error(`unknown request ${command}`));
    }
  }

  private async stepOver(args: StepOverArguments): Promise<StepOverResponseBody> {
    if (!this.host.stopped()) throw new Error('the target is running: pause it or stop at a breakpoint first');
    if (typeof args?.threadId !== 'number') throw new Error('"threadId" is required');
    const engine = this.engine();
    // Nothing moves (and no stop is reported) for a thread that is nowhere near a bluepill.
    if (!(await engine.bluepillStartPoint(args.threadId))) {
      const pc = (await this.delve().listThreads()).find((t) => t.id === args.threadId)?.pc;
      const here = pc === undefined ? '' : ` at ${locationText({ pc, symbol: await engine.symbolizer.symbolize(pc) })}`;
      throw new Error(
        `Step over bluepill: thread ${args.threadId}${here} is not before a faulting instruction, in the bluepill handler or in its trampoline; nothing was done`,
      );
    }
    return new Promise<StepOverResponseBody>((resolve, reject) => {
      this.host.runEngineTask(async (signal) => {
        try {
          const result = await engine.stepOverBluepill(args.threadId, { maxHops: args.maxHops ?? this.defaultMaxHops, signal });
          this.host.progress.done(args.threadId);
          const latest: number[] = [];
          const arch = await engine.archOf(args.threadId);
          const wire: WireHop[] = [];
          for (const hop of result.hops) {
            const symbols = {
              host: hop.hostContext ? await symbolizeContext(hop.hostContext, engine.symbolizer) : undefined,
              guest: await symbolizeContext(hop.guestContext, engine.symbolizer),
            };
            const w = hopToWire(hop, this.nextHopIndex++, arch, symbols);
            wire.push(w);
            latest.push(w.index);
          }
          this.hops.push(...wire);
          this.hops.splice(0, Math.max(0, this.hops.length - HOP_HISTORY));
          const unfinished = result.unfinished
            ? unfinishedToWire(
                result.unfinished,
                arch,
                result.unfinished.hostContext ? await symbolizeContext(result.unfinished.hostContext, engine.symbolizer) : undefined,
              )
            : undefined;
          if (wire.length || unfinished) {
            this.host.sendEvent(
              new Event(HopsEvent.event, {
                hops: this.hops,
                latest,
                description: result.description,
                ...(unfinished ? { unfinished } : {}),
              } satisfies HopsEventBody) as DebugProtocol.Event,
            );
          }
          resolve({
            description: result.description,
            stopReason: result.stopReason,
            hops: wire,
            ...(unfinished ? { unfinished } : {}),
            markdown: hopsToMarkdown(result.hops, 'Bluepill hops', result.unfinished),
          });
          return { state: result.state, threadId: args.threadId, reason: 'step', description: result.description };
        } catch (err) {
          this.host.progress.done(args.threadId);
          reject(err as Error);
          throw err;
        }
      });
    });
  }

  /** After every stop: tell the extension whether the toolbar's "Step over bluepill" applies. */
  async reportLocation(threadId: number): Promise<void> {
    let kind: LocationKind;
    try {
      const engine = this.engine();
      kind = await classifyLocation(this.delve(), engine.code, await engine.archOf(threadId), threadId);
    } catch {
      kind = 'other';
    }
    this.host.sendEvent(new Event(LocationEvent.event, { threadId, kind } satisfies LocationEventBody) as DebugProtocol.Event);
  }

  private async symbolize(addresses: number[]): Promise<{ symbols: Array<{ function: string; entry: number; file: string; line: number } | null> }> {
    if (!this.host.stopped()) return { symbols: addresses.map(() => null) };
    const delve = this.delve();
    const symbols = [];
    for (const a of addresses.slice(0, 256)) {
      const loc = (await delve.findLocation(`*0x${a.toString(16)}`).catch(() => []))[0];
      symbols.push(loc?.function ? { function: loc.function.name, entry: loc.function.value, file: loc.file, line: loc.line } : null);
    }
    return { symbols };
  }

  private async disassembleFunction(name: string): Promise<{ listing: string }> {
    if (!this.host.stopped()) throw new Error('the target is running: pause it to read its code');
    const delve = this.delve();
    const loc = (await delve.findLocation(name))[0];
    if (!loc?.function) throw new Error(`Delve knows no function ${name}`);
    const code = await delve.disassemble(loc.function.value, 0, AsmFlavour.Go);
    const lines = [`TEXT ${loc.function.name}(SB) ${code[0]?.Loc.file ?? ''}`];
    for (const i of code) {
      const file = i.Loc.file ? i.Loc.file.slice(i.Loc.file.lastIndexOf('/') + 1) : '';
      lines.push(`  ${file}:${i.Loc.line}\t0x${i.Loc.pc.toString(16)}\t${Buffer.from(i.Bytes, 'base64').toString('hex')}\t${i.Text}\t`);
    }
    return { listing: lines.join('\n') + '\n' };
  }
}
