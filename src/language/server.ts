// The go-objdump language server process (bundled to dist/languageServer.js; also runs as
// `node --import tsx src/language/server.ts --stdio`). Hover on addresses in listings, notes
// and logs, go to definition in listings, outline, folding, workspace symbols, diagnostics.
// Nothing a user feeds it may crash it: every handler answers null on bad input.

import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createConnection,
  DiagnosticSeverity,
  MessageType,
  ShowMessageNotification,
  ProposedFeatures,
  SymbolKind,
  TextDocuments,
  TextDocumentSyncKind,
  type Diagnostic,
  type DocumentSymbol,
  type FoldingRange,
  type Hover,
  type InitializeParams,
  type Location,
  type LocationLink,
  type SymbolInformation,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { addressAt } from './addressAtPosition';
import { hoverMarkdown, symbolOffset, type HoverFacts } from './hoverMarkdown';
import { jumpTargetAt } from './jumpTarget';
import {
  AddSymbolFileRequest,
  FunctionListingRequest,
  ListFunctionsRequest,
  ListSymbolFilesRequest,
  SymbolizeRequest,
  type AddSymbolFileParams,
  type FunctionListingParams,
  type FunctionListingResult,
  type LanguageInitOptions,
  type ListFunctionsParams,
  type ListFunctionsResult,
  type ListSymbolFilesResult,
  type SymbolFileInfo,
  type SymbolizeParams,
  type SymbolizeResult,
} from '../protocol/languageMessages';
import { WRONG_TOOLCHAIN_ADVICE } from './symbolFiles';
import { SymbolStore } from './symbolStore';
import { DumpSource, type FunctionEntry, type TextLocation } from './symbolSources';

const LANGUAGE = 'go-objdump';
const INDEX_DELAY_MS = 250;
const LIVE_TIMEOUT_MS = 2000;
const WORKSPACE_SYMBOL_LIMIT = 500;

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
const store = new SymbolStore();
/** Document versions the store's index was built from. */
const indexedVersions = new Map<string, number>();
const indexTimers = new Map<string, ReturnType<typeof setTimeout>>();
/** Files added through AddSymbolFileRequest: kept across settings changes. */
const addedFiles = new Set<string>();
let roots: string[] = [];
let linkSupport = false;

store.onReload = (info) => report([info]);
connection.onShutdown(() => store.dispose());
process.on('unhandledRejection', (e) => connection.console.error(`unhandled: ${String(e)}`));

connection.onInitialize((params: InitializeParams) => {
  roots = (params.workspaceFolders ?? []).map((f) => uriToPath(f.uri)).filter((p): p is string => p !== undefined);
  if (roots.length === 0 && params.rootUri) {
    const p = uriToPath(params.rootUri);
    if (p !== undefined) roots.push(p);
  }
  linkSupport = params.capabilities.textDocument?.definition?.linkSupport === true;
  const init = (params.initializationOptions ?? {}) as LanguageInitOptions;
  if (init.liveSymbolize === true) store.live = symbolizeThroughClient;
  if (Array.isArray(init.settings?.symbolFiles)) void applySymbolFiles(init.settings.symbolFiles);
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      hoverProvider: true,
      definitionProvider: true,
      documentSymbolProvider: true,
      foldingRangeProvider: true,
      workspaceSymbolProvider: true,
    },
    serverInfo: { name: 'go-objdump' },
  };
});

connection.onDidChangeConfiguration((change) => {
  const settings = (change.settings ?? {}) as { bluepill?: { symbolFiles?: unknown } };
  const files = settings.bluepill?.symbolFiles;
  if (Array.isArray(files)) void applySymbolFiles(files.filter((f): f is string => typeof f === 'string'));
});

async function applySymbolFiles(paths: string[]): Promise<void> {
  const resolved = paths.map(resolveUserPath);
  try {
    report(await store.setFiles(resolved, addedFiles));
  } catch (e) {
    connection.console.error(`loading symbol files failed: ${String(e)}`);
  }
}

function report(infos: SymbolFileInfo[]): void {
  for (const info of infos) {
    if (info.problem === undefined) {
      connection.console.log(`loaded ${info.kind} ${info.path}: ${info.functionCount} functions`);
      continue;
    }
    const problem = /[.)]$/.test(info.problem) ? info.problem : `${info.problem}.`;
    const text = `Go objdump: ${info.path}: ${problem}${info.skipped ? ' The file is skipped.' : ''}`;
    connection.console.warn(text);
    // A notification, not window/showMessageRequest: nothing to answer, nothing to wait for.
    void connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Warning, message: text });
  }
}

function resolveUserPath(p: string): string {
  let out = p.replace(/\$\{workspaceFolder\}/g, roots[0] ?? process.cwd());
  if (out === '~' || out.startsWith('~/')) out = join(homedir(), out.slice(1));
  return isAbsolute(out) ? out : resolve(roots[0] ?? process.cwd(), out);
}

function uriToPath(uri: string): string | undefined {
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}

async function symbolizeThroughClient(addresses: number[]): Promise<SymbolizeResult['symbols'] | undefined> {
  const params: SymbolizeParams = { addresses };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), LIVE_TIMEOUT_MS)));
  try {
    const result = await Promise.race([connection.sendRequest<SymbolizeResult | null>(SymbolizeRequest.method, params), timeout]);
    return Array.isArray(result?.symbols) ? result.symbols : undefined;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

// ---- documents: indexed on open, re-indexed after edits settle, always fresh for requests

documents.onDidOpen(({ document }) => indexDocument(document));
documents.onDidChangeContent(({ document }) => {
  if (document.languageId !== LANGUAGE) return;
  if (!indexedVersions.has(document.uri)) return void indexDocument(document);
  clearTimeout(indexTimers.get(document.uri));
  indexTimers.set(
    document.uri,
    setTimeout(() => {
      indexTimers.delete(document.uri);
      const current = documents.get(document.uri);
      if (current !== undefined) indexDocument(current);
    }, INDEX_DELAY_MS),
  );
});
documents.onDidClose(({ document }) => {
  clearTimeout(indexTimers.get(document.uri));
  indexTimers.delete(document.uri);
  indexedVersions.delete(document.uri);
  store.setDocument(document.uri, undefined);
  void connection.sendDiagnostics({ uri: document.uri, diagnostics: [] });
});

function indexDocument(doc: TextDocument): DumpSource | undefined {
  if (doc.languageId !== LANGUAGE) return undefined;
  if (indexedVersions.get(doc.uri) === doc.version) return store.document(doc.uri);
  let source: DumpSource | undefined;
  try {
    source = DumpSource.fromText(doc.getText(), doc.uri, doc.uri);
  } catch (e) {
    connection.console.error(`indexing ${doc.uri} failed: ${String(e)}`);
  }
  store.setDocument(doc.uri, source);
  indexedVersions.set(doc.uri, doc.version);
  void connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics: diagnosticsOf(doc, source) });
  return source;
}

function indexAllDocuments(): void {
  for (const d of documents.all()) indexDocument(d);
}

function diagnosticsOf(doc: TextDocument, source: DumpSource | undefined): Diagnostic[] {
  if (source === undefined) return [];
  return source.warnings.map((w) => ({
    range: { start: { line: w.line, character: 0 }, end: { line: w.line, character: Math.min(lineText(doc, w.line).length, 1000) } },
    severity: w.code === 'wrong-toolchain' ? DiagnosticSeverity.Warning : DiagnosticSeverity.Information,
    code: w.code,
    source: LANGUAGE,
    message: w.code === 'wrong-toolchain' ? WRONG_TOOLCHAIN_ADVICE : w.message,
  }));
}

function lineText(doc: TextDocument, line: number): string {
  if (line < 0 || line >= doc.lineCount) return '';
  return doc.getText({ start: { line, character: 0 }, end: { line: line + 1, character: 0 } }).replace(/\r?\n$/, '');
}

// ---- hover

connection.onHover(async ({ textDocument, position }): Promise<Hover | null> => {
  const doc = documents.get(textDocument.uri);
  if (doc === undefined) return null;
  indexAllDocuments();
  const text = lineText(doc, position.line);
  const ref = addressAt(text, position.character, {
    bareHex: doc.languageId === LANGUAGE,
    previousLine: position.line > 0 ? lineText(doc, position.line - 1) : undefined,
  });
  if (ref === undefined) return null;
  const address = await addressOf(ref, doc.uri);
  if (address === undefined) return null;
  const resolved = await store.resolve(address, doc.uri);
  if (resolved === undefined) return null;
  // A binary has no listing to quote: its instruction comes from go tool objdump, if Go is there.
  if (resolved.instruction === undefined) {
    const insn = await store.binaryInstruction(address, doc.uri);
    if (insn !== undefined) resolved.instruction = insn;
  }
  const facts: HoverFacts = { resolved };
  if (ref.returnAddress && address > 0) {
    const before = await store.resolve(address - 1, doc.uri);
    const call = before?.instruction;
    if (call !== undefined && call.address !== resolved.instruction?.address && /^(CALL|BL|call)\b/.test(call.text)) facts.callSite = call;
  }
  return {
    contents: { kind: 'markdown', value: hoverMarkdown(facts) },
    range: { start: { line: position.line, character: ref.start }, end: { line: position.line, character: ref.end } },
  };
});

async function addressOf(ref: NonNullable<ReturnType<typeof addressAt>>, uri: string): Promise<number | undefined> {
  if (ref.kind === 'address') return ref.address;
  let fn = store.functionByName(ref.function, uri);
  if (fn === undefined) {
    await store.settled();
    fn = store.functionByName(ref.function, uri);
  }
  return fn === undefined ? undefined : fn.start + ref.offset;
}

// ---- go to definition

connection.onDefinition(async ({ textDocument, position }): Promise<Location[] | LocationLink[] | null> => {
  const doc = documents.get(textDocument.uri);
  if (doc === undefined) return null;
  indexAllDocuments();
  const text = lineText(doc, position.line);
  let target: TextLocation | undefined;
  let origin: { start: number; end: number } | undefined;
  if (doc.languageId === LANGUAGE) {
    const jump = jumpTargetAt(text, position.character);
    if (jump !== undefined) {
      origin = jump;
      if (jump.kind === 'function') {
        target = store.functionByName(jump.name, doc.uri)?.location;
        if (target === undefined) {
          await store.settled();
          target = store.functionByName(jump.name, doc.uri)?.location;
        }
      } else {
        target = await store.instructionLocation(jump.address, doc.uri);
      }
    }
  }
  if (target === undefined) {
    const ref = addressAt(text, position.character, {
      bareHex: doc.languageId === LANGUAGE,
      previousLine: position.line > 0 ? lineText(doc, position.line - 1) : undefined,
    });
    if (ref !== undefined) {
      const address = await addressOf(ref, doc.uri);
      if (address !== undefined) target = await store.instructionLocation(address, doc.uri);
      origin = ref;
    }
  }
  if (target === undefined) return null;
  const selection = { start: { line: target.line, character: 0 }, end: { line: target.line, character: 0 } };
  if (linkSupport && origin !== undefined) {
    return [
      {
        originSelectionRange: { start: { line: position.line, character: origin.start }, end: { line: position.line, character: origin.end } },
        targetUri: target.uri,
        targetRange: { start: selection.start, end: { line: target.endLine ?? target.line, character: 0 } },
        targetSelectionRange: selection,
      },
    ];
  }
  return [{ uri: target.uri, range: selection }];
});

// ---- outline, folding, workspace symbols

connection.onDocumentSymbol(({ textDocument }): DocumentSymbol[] | null => {
  const doc = documents.get(textDocument.uri);
  const source = doc === undefined ? undefined : indexDocument(doc);
  if (doc === undefined || source === undefined) return null;
  return source.blocks().map((fn) => {
    const last = lastNonBlankLine(doc, fn.line, fn.endLine);
    return {
      name: fn.name || '(unnamed)',
      detail: fn.start >= 0 ? `0x${fn.start.toString(16)}${fn.path ? ` ${fn.path}` : ''}` : fn.path,
      kind: SymbolKind.Function,
      range: { start: { line: fn.line, character: 0 }, end: { line: last, character: lineText(doc, last).length } },
      selectionRange: { start: { line: fn.line, character: 5 }, end: { line: fn.line, character: 5 + fn.name.length } },
    };
  });
});

connection.onFoldingRanges(({ textDocument }): FoldingRange[] | null => {
  const doc = documents.get(textDocument.uri);
  const source = doc === undefined ? undefined : indexDocument(doc);
  if (doc === undefined || source === undefined) return null;
  const out: FoldingRange[] = [];
  for (const fn of source.blocks()) {
    const last = lastNonBlankLine(doc, fn.line, fn.endLine);
    if (last > fn.line) out.push({ startLine: fn.line, endLine: last, kind: 'region' });
  }
  return out;
});

function lastNonBlankLine(doc: TextDocument, first: number, last: number): number {
  let l = Math.min(last, doc.lineCount - 1);
  while (l > first && lineText(doc, l).trim() === '') l--;
  return l;
}

connection.onWorkspaceSymbol(async ({ query }): Promise<SymbolInformation[]> => {
  indexAllDocuments();
  await store.settled();
  const out: SymbolInformation[] = [];
  const seen = new Set<string>();
  const push = (f: FunctionEntry, name: string, container: string): void => {
    const key = `${name}\0${f.location.uri}\0${f.location.line}`;
    if (seen.has(key) || out.length >= WORKSPACE_SYMBOL_LIMIT) return;
    seen.add(key);
    const at = { line: f.location.line, character: 0 };
    out.push({ name, kind: SymbolKind.Function, location: { uri: f.location.uri, range: { start: at, end: at } }, containerName: container });
  };
  const hex = /^\s*0x([0-9a-fA-F]+)\s*$/.exec(query);
  for (const source of store.sources()) {
    const container = containerOf(source.label);
    if (hex !== null) {
      const addr = parseInt(hex[1], 16);
      const f = source.functionAt(addr);
      if (f !== undefined) push(f, `${symbolOffset({ name: f.name, offset: addr - f.start })} (0x${addr.toString(16)})`, container);
    } else {
      for (const f of source.search(query.trim(), WORKSPACE_SYMBOL_LIMIT)) push(f, f.name, container);
    }
  }
  return out;
});

function containerOf(label: string): string {
  return label.startsWith('file:') ? (uriToPath(label) ?? label) : label;
}

// ---- requests of the extension (the "Open function…" command)

connection.onRequest(AddSymbolFileRequest.method, async (params: AddSymbolFileParams): Promise<SymbolFileInfo> => {
  const path = resolveUserPath(String(params?.path ?? ''));
  addedFiles.add(path);
  return store.addFile(path);
});

connection.onRequest(ListSymbolFilesRequest.method, async (): Promise<ListSymbolFilesResult> => {
  await store.settled();
  return { files: store.fileInfos() };
});

connection.onRequest(ListFunctionsRequest.method, async (params: ListFunctionsParams): Promise<ListFunctionsResult> => {
  await store.settled();
  const source = store.fileSource(resolveUserPath(String(params?.path ?? '')));
  if (source === undefined) return { functions: [] };
  return {
    functions: source
      .functions()
      .filter((f) => f.start >= 0)
      .map((f) => ({ name: f.name, start: f.start, size: f.size })),
  };
});

connection.onRequest(FunctionListingRequest.method, async (params: FunctionListingParams): Promise<FunctionListingResult> => {
  await store.settled();
  const source = store.fileSource(resolveUserPath(String(params?.path ?? '')));
  if (!(source instanceof DumpSource)) return { listing: null };
  return { listing: (await source.blockText(String(params?.name ?? ''))) ?? null };
});

documents.listen(connection);
connection.listen();
