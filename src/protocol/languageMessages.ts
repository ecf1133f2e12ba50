// Custom LSP requests between the objdump language server and the extension, each defined once
// with its types. Plain data only (no VS Code or LSP imports) so every process can use this file.
//
// Addresses are JSON numbers: every code address a Go program runs at is below 2^53
// (see src/symbols/symbolTable.ts).
import { lspRequest } from './messageTypes';

/**
 * Server → client request (LSP), forwarded by the extension to the active `bluepill` debug
 * session as the DAP custom request of the same name with the same arguments and body.
 */
export const SymbolizeRequest = lspRequest<SymbolizeParams, SymbolizeResult>('bluepill/symbolize');

export interface SymbolizeParams {
  addresses: number[];
}

export interface LiveSymbol {
  /** Function name as the debugger knows it (e.g. `runtime.futex` or `[vdso]+0x7bc`). */
  function: string;
  /** Entry address of that function. */
  entry: number;
  /** Absolute source path, '' when unknown. */
  file: string;
  /** 0 when unknown. */
  line: number;
}

export interface SymbolizeResult {
  /** One entry per requested address, in order; null when the session does not know it. */
  symbols: (LiveSymbol | null)[];
}

/** Client → server request: load (or reload) one binary or dump from disk, e.g. a file picked in the command. */
export const AddSymbolFileRequest = lspRequest<AddSymbolFileParams, SymbolFileInfo>('bluepill/addSymbolFile');

export interface AddSymbolFileParams {
  path: string;
}

export interface SymbolFileInfo {
  path: string;
  kind: 'binary' | 'dump';
  functionCount: number;
  /** Why the file was skipped or what is wrong with it; absent when it loaded cleanly. */
  problem?: string;
  /** True when the file is not used at all (problem says why). */
  skipped: boolean;
}

/** Client → server request: every file loaded from disk (settings and added files). */
export const ListSymbolFilesRequest = lspRequest<void, ListSymbolFilesResult>('bluepill/listSymbolFiles');

export interface ListSymbolFilesResult {
  files: SymbolFileInfo[];
}

/** Client → server request: the functions of one loaded file, for the quick pick. */
export const ListFunctionsRequest = lspRequest<ListFunctionsParams, ListFunctionsResult>('bluepill/listFunctions');

export interface ListFunctionsParams {
  path: string;
}

export interface FunctionSummary {
  name: string;
  start: number;
  size: number;
}

export interface ListFunctionsResult {
  functions: FunctionSummary[];
}

/** Client → server request: the text of one function's block from a loaded dump (null for binaries). */
export const FunctionListingRequest = lspRequest<FunctionListingParams, FunctionListingResult>('bluepill/functionListing');

export interface FunctionListingParams {
  path: string;
  name: string;
}

export interface FunctionListingResult {
  listing: string | null;
}

/** Scheme of the read-only documents that show one function's disassembly. */
export const FUNCTION_DOCUMENT_SCHEME = 'go-objdump';

export interface FunctionDocumentTarget {
  /** The binary or dump on disk the function comes from. */
  file: string;
  name: string;
}

/**
 * `go-objdump:/<short name>.objdump?<json>`: the path is for the tab title only; the query
 * carries the file and the exact function name (JSON survives any character in either).
 */
export function functionDocumentUri(target: FunctionDocumentTarget): string {
  const short = target.name.slice(target.name.lastIndexOf('/') + 1) || 'function';
  const json = JSON.stringify({ file: target.file, name: target.name });
  return `${FUNCTION_DOCUMENT_SCHEME}:/${encodeURIComponent(short)}.objdump?${encodeURIComponent(json)}`;
}

/** Reads back functionDocumentUri's target from a URI string or from an already-decoded query. */
export function parseFunctionDocumentQuery(query: string): FunctionDocumentTarget | undefined {
  for (const candidate of [query, safeDecode(query)]) {
    if (candidate === undefined) continue;
    try {
      const v: unknown = JSON.parse(candidate);
      if (typeof v === 'object' && v !== null) {
        const { file, name } = v as Record<string, unknown>;
        if (typeof file === 'string' && typeof name === 'string') return { file, name };
      }
    } catch {
      // not this spelling; try the next
    }
  }
  return undefined;
}

export function parseFunctionDocumentUri(uri: string): FunctionDocumentTarget | undefined {
  if (!uri.startsWith(`${FUNCTION_DOCUMENT_SCHEME}:`)) return undefined;
  const q = uri.indexOf('?');
  if (q < 0) return undefined;
  const hash = uri.indexOf('#', q);
  return parseFunctionDocumentQuery(uri.slice(q + 1, hash < 0 ? undefined : hash));
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** Settings the server reads from the `bluepill` section. */
export interface LanguageSettings {
  /** Binaries (ELF) or objdump dumps on disk to resolve addresses with. */
  symbolFiles: string[];
}

/** initializationOptions the client passes. */
export interface LanguageInitOptions {
  settings?: Partial<LanguageSettings>;
  /** The client answers SYMBOLIZE_REQUEST (it forwards to the debug session). */
  liveSymbolize?: boolean;
}
