// The DAP session: a thin translation from DAP requests to the attached state (./attachedSession.ts),
// which owns the target, the guarded engine and everything read while stopped.
import { InitializedEvent, Logger, logger, LoggingDebugSession, OutputEvent, TerminatedEvent } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { ConfigError, resolveAttachConfig } from '../config/attachConfig';
import { remoteToLocal } from '../config/substitutePath';
import { FetchBinaryRequest, type ListingTextArguments } from '../protocol/bluepillMessages';
import { isObjdumpPath, listingLines } from './addressSpecs';
import { AttachedSession } from './attachedSession';
import { errorText } from './errorText';
import { BluepillRequests } from './bluepillRequests';
import { consoleCommandRunsAnytime, isConsoleCommand } from './consoleCommands';
import { disassemble, readMemory } from './memoryRequests';

/** `stopped`: Delve must be able to answer (the target is not running); `any`: also while running. */
type Needs = 'stopped' | 'any';

export class BluepillDebugSession extends LoggingDebugSession {
  private attached: AttachedSession | undefined;
  private ended = false;
  private clientShowsProgress = false;

  constructor() {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  // ---- lifecycle ----

  protected override initializeRequest(response: DebugProtocol.InitializeResponse, args: DebugProtocol.InitializeRequestArguments): void {
    this.clientShowsProgress = args.supportsProgressReporting === true;
    response.body = {
      supportsCancelRequest: true,
      supportsConfigurationDoneRequest: true,
      supportsFunctionBreakpoints: true,
      supportsConditionalBreakpoints: true,
      supportsHitConditionalBreakpoints: true,
      supportsLogPoints: true,
      supportsInstructionBreakpoints: true,
      supportsDisassembleRequest: true,
      supportsReadMemoryRequest: true,
      supportsSteppingGranularity: true,
      supportsSetVariable: true,
      supportsEvaluateForHovers: true,
      supportsDelayedStackTraceLoading: true,
      supportTerminateDebuggee: false,
      supportsTerminateRequest: false,
      supportsRestartRequest: false,
    };
    this.sendResponse(response);
  }

  protected override async attachRequest(response: DebugProtocol.AttachResponse, args: DebugProtocol.AttachRequestArguments): Promise<void> {
    let config;
    try {
      config = resolveAttachConfig(args);
    } catch (err) {
      return this.fail(response, err instanceof ConfigError ? `Invalid launch configuration: ${err.message}` : (err as Error).message);
    }
    // "trace": DAP traffic (the library's logger) goes to the Debug Console, Delve's with it.
    if (config.trace) logger.setup(Logger.LogLevel.Verbose, false);
    try {
      this.attached = await AttachedSession.attach(config, {
        sendEvent: (ev) => this.sendEvent(ev),
        supportsProgress: this.clientShowsProgress,
        console: (text, category) => this.console(text, category),
        terminated: (message) => this.terminated(message),
      });
    } catch (err) {
      return this.fail(response, (err as Error).message);
    }
    this.sendResponse(response);
    this.sendEvent(new InitializedEvent());
    this.sendEvent(this.attached.attachedEvent());
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.sendResponse(response);
    this.attached?.configurationDone();
  }

  protected override async disconnectRequest(response: DebugProtocol.DisconnectResponse): Promise<void> {
    this.ended = true;
    await this.attached?.disconnect();
    this.sendResponse(response);
  }

  private terminated(message: string): void {
    if (this.ended) return;
    this.ended = true;
    this.console(message, 'stderr');
    this.sendEvent(new TerminatedEvent());
  }

  // ---- running and stopping ----

  protected override async threadsRequest(response: DebugProtocol.ThreadsResponse): Promise<void> {
    response.body = { threads: this.attached ? await this.attached.threadsForUi() : [] };
    this.sendResponse(response);
  }

  protected override continueRequest(response: DebugProtocol.ContinueResponse): Promise<void> {
    return this.answer(response, 'any', (s) => (s.continue(), { allThreadsContinued: true }));
  }

  protected override async pauseRequest(response: DebugProtocol.PauseResponse, args: DebugProtocol.PauseArguments): Promise<void> {
    const s = this.ready(response, 'any');
    if (!s) return;
    let reportStop: () => Promise<void>;
    try {
      reportStop = await s.pause(args.threadId);
    } catch (err) {
      return this.fail(response, `Pause failed: ${(err as Error).message}`);
    }
    // The response goes before the stopped event that pausing a stopped target reports.
    this.sendResponse(response);
    await reportStop();
  }

  /** Cancel on a progress notification (or on the pending request of a wait): ends the wait like Pause. */
  protected override async cancelRequest(response: DebugProtocol.CancelResponse, args: DebugProtocol.CancelArguments): Promise<void> {
    await this.attached?.cancel(args).catch((err: Error) => this.console(`Cancel: ${err.message}`, 'stderr'));
    this.sendResponse(response);
  }

  protected override nextRequest(response: DebugProtocol.NextResponse, args: DebugProtocol.NextArguments): Promise<void> {
    return this.answer(response, 'stopped', (s) => s.step(args.threadId, args.granularity, 'next', 'nextInstruction'));
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse, args: DebugProtocol.StepInArguments): Promise<void> {
    return this.answer(response, 'stopped', (s) => s.step(args.threadId, args.granularity, 'step', 'stepInstruction'));
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse, args: DebugProtocol.StepOutArguments): Promise<void> {
    return this.answer(response, 'stopped', (s) => s.step(args.threadId, args.granularity, 'stepOut', undefined));
  }

  // ---- stacks, scopes, variables, evaluation ----

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): Promise<void> {
    return this.answer(response, 'stopped', (s) => s.inspection.stackTrace(args));
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): Promise<void> {
    return this.answer(response, 'any', (s) => s.inspection.scopes(args));
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): Promise<void> {
    return this.answer(response, 'any', (s) => s.inspection.variables(args));
  }

  protected override setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): Promise<void> {
    return this.answer(response, 'any', (s) => s.inspection.setVariable(args));
  }

  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): Promise<void> {
    if (args.context === 'repl' && isConsoleCommand(args.expression)) {
      const needs = consoleCommandRunsAnytime(args.expression) ? 'any' : 'stopped';
      return this.answer(response, needs, async (s) => ({ result: await s.consoleCommand(args.expression), variablesReference: 0 }));
    }
    return this.answer(response, 'stopped', (s) => s.inspection.evaluate(args));
  }

  // ---- breakpoints (set while running too: a Continue is halted, changed and resumed) ----

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): Promise<void> {
    const path = args.source.path;
    const text = (args as ListingTextArguments).bluepillListingText;
    if (typeof text === 'string' || isObjdumpPath(path)) {
      // A Go objdump listing: each line's instruction address becomes an address breakpoint.
      const key = path ?? (args.source.sourceReference ? `ref:${args.source.sourceReference}` : undefined);
      if (!key) return Promise.resolve(this.fail(response, 'Breakpoints need a source with a path.'));
      const lines = listingLines(key, text);
      return this.answer(response, 'any', async (s) => ({
        breakpoints: await s.execution.withTargetStopped(() => s.book.setListing(args.source, key, args.breakpoints ?? [], lines)),
      }));
    }
    if (!path) return Promise.resolve(this.fail(response, 'Breakpoints need a source with a path.'));
    return this.answer(response, 'any', async (s) => ({
      breakpoints: await s.execution.withTargetStopped(() => s.book.setSource(path, args.breakpoints ?? [])),
    }));
  }

  protected override setFunctionBreakPointsRequest(
    response: DebugProtocol.SetFunctionBreakpointsResponse,
    args: DebugProtocol.SetFunctionBreakpointsArguments,
  ): Promise<void> {
    return this.answer(response, 'any', async (s) => ({ breakpoints: await s.execution.withTargetStopped(() => s.book.setFunctions(args.breakpoints)) }));
  }

  protected override setInstructionBreakpointsRequest(
    response: DebugProtocol.SetInstructionBreakpointsResponse,
    args: DebugProtocol.SetInstructionBreakpointsArguments,
  ): Promise<void> {
    return this.answer(response, 'any', async (s) => ({ breakpoints: await s.execution.withTargetStopped(() => s.book.setInstructions(args.breakpoints)) }));
  }

  // ---- memory and code ----

  protected override disassembleRequest(response: DebugProtocol.DisassembleResponse, args: DebugProtocol.DisassembleArguments): Promise<void> {
    return this.answer(response, 'stopped', (s) => disassemble(s.client, args, (p) => remoteToLocal(p, s.config.substitutePath)));
  }

  protected override readMemoryRequest(response: DebugProtocol.ReadMemoryResponse, args: DebugProtocol.ReadMemoryArguments): Promise<void> {
    return this.answer(response, 'stopped', (s) => readMemory(s.client, args));
  }

  // ---- custom requests (src/protocol/bluepillMessages.ts) ----

  protected override customRequest(command: string, response: DebugProtocol.Response, args: unknown): void {
    if (command === FetchBinaryRequest.command) void this.answer(response, 'any', (s) => s.fetchBinary());
    else if (BluepillRequests.handles(command)) void this.answer(response, 'any', (s) => s.bluepill.handle(command, args));
    else super.customRequest(command, response, args);
  }

  // ---- helpers ----

  /** Sends `response` with the body `handler` gives, or an error response with the handler's message. */
  private async answer<R extends DebugProtocol.Response>(
    response: R,
    needs: Needs,
    handler: (s: AttachedSession) => R['body'] | void | Promise<R['body'] | void>,
  ): Promise<void> {
    const s = this.ready(response, needs);
    if (!s) return;
    try {
      const body = await handler(s);
      if (body) response.body = body;
      this.sendResponse(response);
    } catch (err) {
      this.fail(response, errorText(err));
    }
  }

  private ready(response: DebugProtocol.Response, needs: Needs): AttachedSession | undefined {
    if (!this.attached) {
      this.fail(response, 'Not attached.');
      return undefined;
    }
    if (needs === 'stopped' && this.attached.running) {
      this.fail(response, 'The target is running; press Pause first.');
      return undefined;
    }
    return this.attached;
  }

  private fail(response: DebugProtocol.Response, message: string): void {
    this.sendErrorResponse(response, { id: 1, format: message, showUser: true, variables: {} });
  }

  private console(text: string, category: 'console' | 'stderr' = 'console'): void {
    this.sendEvent(new OutputEvent(text + '\n', category));
  }
}
