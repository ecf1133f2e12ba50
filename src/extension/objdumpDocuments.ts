// Read-only virtual documents `go-objdump:/<name>.objdump?{file,name}` holding one function's
// disassembly: the block of a loaded dump (read from disk by the language server), else
// `go tool objdump -s '^name$' <binary>` when Go is installed, else the live debug session.
// One function at a time keeps every document far below VS Code's 20 MB / 50 MB limits.

import * as vscode from 'vscode';
import { GoNotFoundError, goObjdumpFunction } from '../language/goObjdump';
import { DisassembleFunctionRequest, type DisassembleArguments, type DisassembleResponseBody } from '../protocol/bluepillMessages';
import {
  FUNCTION_DOCUMENT_SCHEME,
  FunctionListingRequest,
  parseFunctionDocumentQuery,
  type FunctionListingParams,
  type FunctionListingResult,
} from '../protocol/languageMessages';
import { DEBUG_TYPE } from './ids';
import { readSettings } from './config';

/** What the documents need from the language client. */
export interface ObjdumpServer {
  sendRequest<R>(method: string, params: unknown): Promise<R>;
}

export class FunctionDocumentProvider implements vscode.TextDocumentContentProvider {
  constructor(private readonly server: ObjdumpServer) {}

  async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
    const target = parseFunctionDocumentQuery(uri.query);
    if (target === undefined) return `// ${uri.toString()} does not name a function.\n`;
    const problems: string[] = [];

    try {
      const params: FunctionListingParams = { path: target.file, name: target.name };
      const fromDump = await this.server.sendRequest<FunctionListingResult>(FunctionListingRequest.method, params);
      if (fromDump?.listing) return fromDump.listing;
    } catch (e) {
      problems.push(`language server: ${messageOf(e)}`);
    }

    const abort = new AbortController();
    const cancel = token.onCancellationRequested(() => abort.abort());
    try {
      const goPath = readSettings(vscode.workspace).goExecutable;
      return await goObjdumpFunction(target.file, target.name, { goPath, signal: abort.signal });
    } catch (e) {
      problems.push(e instanceof GoNotFoundError ? e.message : messageOf(e));
    } finally {
      cancel.dispose();
    }

    const session = vscode.debug.activeDebugSession;
    if (session?.type === DEBUG_TYPE) {
      try {
        const args: DisassembleArguments = { function: target.name };
        const body = (await session.customRequest(DisassembleFunctionRequest.command, args)) as DisassembleResponseBody | undefined;
        if (typeof body?.listing === 'string' && body.listing !== '') return body.listing;
        problems.push('the debug session returned no listing');
      } catch (e) {
        problems.push(`debug session: ${messageOf(e)}`);
      }
    } else {
      problems.push('no bluepill debug session is running');
    }
    // A document is still shown, saying why there is no listing (an error would only flash).
    return [`// No disassembly of ${target.name} from ${target.file}:`, ...problems.map((p) => `//   ${p.replace(/\n/g, ' ')}`), ''].join('\n');
  }
}

/** Registers the provider; the documents are go-objdump by their `.objdump` path. */
export function registerFunctionDocuments(context: vscode.ExtensionContext, server: ObjdumpServer): void {
  context.subscriptions.push(vscode.workspace.registerTextDocumentContentProvider(FUNCTION_DOCUMENT_SCHEME, new FunctionDocumentProvider(server)));
}

/** Opens one function's document (read-only) in the go-objdump language. */
export async function showFunctionDocument(uri: vscode.Uri): Promise<vscode.TextEditor> {
  let doc = await vscode.workspace.openTextDocument(uri);
  if (doc.languageId !== 'go-objdump') doc = await vscode.languages.setTextDocumentLanguage(doc, 'go-objdump');
  return vscode.window.showTextDocument(doc, { preview: true });
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
