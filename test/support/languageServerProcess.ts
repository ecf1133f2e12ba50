// Test support: the go-objdump language server as a real child process, spoken to over its
// stdio with vscode-languageserver-protocol (no VS Code). Records diagnostics, window
// messages and whether the process died.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './repoRoot';
import {
  createProtocolConnection,
  DefinitionRequest,
  DidChangeConfigurationNotification,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  DocumentSymbolRequest,
  ExitNotification,
  FoldingRangeRequest,
  HoverRequest,
  InitializedNotification,
  InitializeRequest,
  LogMessageNotification,
  PublishDiagnosticsNotification,
  ShowMessageNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  WorkspaceSymbolRequest,
  type Definition,
  type DefinitionLink,
  type Diagnostic,
  type DocumentSymbol,
  type FoldingRange,
  type Hover,
  type Location,
  type ProtocolConnection,
  type SymbolInformation,
  type WorkspaceSymbol,
} from 'vscode-languageserver-protocol/node';

export const FIXTURES = join(repoRoot, 'test', 'fixtures', 'language');

export interface StartOptions {
  initializationOptions?: unknown;
  /** Use the bundled dist/languageServer.js instead of the TypeScript source. */
  bundled?: boolean;
  linkSupport?: boolean;
}

export class LanguageServerProcess {
  readonly diagnostics = new Map<string, Diagnostic[]>();
  readonly messages: string[] = [];
  readonly logs: string[] = [];
  stderr = '';
  /** Set when the process ended before stop() asked it to. */
  unexpectedExit: string | undefined;
  private stopping = false;
  private versions = new Map<string, number>();
  private waiters: (() => void)[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly connection: ProtocolConnection,
  ) {}

  static async start(options: StartOptions = {}): Promise<LanguageServerProcess> {
    const args = options.bundled
      ? [join(repoRoot, 'dist', 'languageServer.js'), '--stdio']
      : ['--import', 'tsx', join(repoRoot, 'src', 'language', 'server.ts'), '--stdio'];
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    const connection = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    const server = new LanguageServerProcess(child, connection);
    child.stderr!.on('data', (d: Buffer) => (server.stderr += d.toString()));
    child.on('exit', (code, signal) => {
      if (!server.stopping) server.unexpectedExit = `exit code ${code} signal ${signal}: ${server.stderr}`;
      server.notify();
    });
    connection.onNotification(PublishDiagnosticsNotification.type, (p) => {
      server.diagnostics.set(p.uri, p.diagnostics);
      server.notify();
    });
    connection.onNotification(ShowMessageNotification.type, (p) => {
      server.messages.push(p.message);
      server.notify();
    });
    connection.onNotification(LogMessageNotification.type, (p) => server.logs.push(p.message));
    connection.listen();
    await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: pathToFileURL(repoRoot).href,
      workspaceFolders: null,
      capabilities: { textDocument: { definition: { linkSupport: options.linkSupport ?? false } } },
      initializationOptions: options.initializationOptions ?? {},
    });
    await connection.sendNotification(InitializedNotification.type, {});
    return server;
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when cond() holds, checked after every notification (rejects after 20 s or on exit). */
  async waitFor(cond: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!cond()) {
      if (this.unexpectedExit !== undefined) throw new Error(`server died while waiting for ${what}: ${this.unexpectedExit}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  async open(uri: string, languageId: string, text: string): Promise<void> {
    this.versions.set(uri, 1);
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId, version: 1, text } });
  }

  async replace(uri: string, text: string): Promise<void> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: [{ text }] });
  }

  async configure(settings: unknown): Promise<void> {
    await this.connection.sendNotification(DidChangeConfigurationNotification.type, { settings });
  }

  hover(uri: string, line: number, character: number): Promise<Hover | null> {
    return this.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line, character } });
  }

  definition(uri: string, line: number, character: number): Promise<Definition | DefinitionLink[] | null> {
    return this.connection.sendRequest(DefinitionRequest.type, { textDocument: { uri }, position: { line, character } });
  }

  documentSymbols(uri: string): Promise<DocumentSymbol[]> {
    return this.connection.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri } }) as Promise<DocumentSymbol[]>;
  }

  folding(uri: string): Promise<FoldingRange[] | null> {
    return this.connection.sendRequest(FoldingRangeRequest.type, { textDocument: { uri } });
  }

  workspaceSymbols(query: string): Promise<SymbolInformation[] | WorkspaceSymbol[] | null> {
    return this.connection.sendRequest(WorkspaceSymbolRequest.type, { query });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.child.exitCode === null && this.unexpectedExit === undefined) {
      try {
        await this.connection.sendRequest(ShutdownRequest.type);
        await this.connection.sendNotification(ExitNotification.type);
      } catch {
        // already gone
      }
      await new Promise<void>((r) => {
        const t = setTimeout(() => {
          this.child.kill();
          r();
        }, 3000);
        this.child.once('exit', () => {
          clearTimeout(t);
          r();
        });
      });
    }
    this.connection.dispose();
  }
}

/** Markdown text of a hover. */
export function hoverText(h: Hover | null): string {
  if (h === null) return '';
  const c = h.contents;
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map((x) => (typeof x === 'string' ? x : x.value)).join('\n');
  return c.value;
}

/** Line and character of the n-th occurrence of needle in text (plus delta characters). */
export function positionOf(text: string, needle: string, delta = 0, occurrence = 0): { line: number; character: number } {
  let at = -1;
  for (let i = 0; i <= occurrence; i++) {
    at = text.indexOf(needle, at + 1);
    if (at < 0) throw new Error(`${JSON.stringify(needle)} not in text`);
  }
  const before = text.slice(0, at);
  const line = before.split('\n').length - 1;
  return { line, character: at - (before.lastIndexOf('\n') + 1) + delta };
}

/** The first location of a definition answer (Location or LocationLink). */
export function firstLocation(d: Definition | DefinitionLink[] | null): { uri: string; line: number } | undefined {
  if (d === null) return undefined;
  const first = Array.isArray(d) ? d[0] : d;
  if (first === undefined) return undefined;
  if ('targetUri' in first) return { uri: first.targetUri, line: first.targetSelectionRange.start.line };
  return { uri: (first as Location).uri, line: (first as Location).range.start.line };
}
