// Starts the go-objdump language server (dist/languageServer.js) in its own Node process and
// answers its questions about the live debug session.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { SymbolizeRequest, type LanguageInitOptions, type SymbolizeParams, type SymbolizeResult } from '../protocol/languageMessages';
import { DEBUG_TYPE } from './ids';
import { readSettings, SETTINGS_SECTION } from './config';

export interface StoppableClient {
  stop(): Promise<void>;
}

/** Documents whose addresses get hovers: objdump dumps, Markdown notes, logs and plain text. */
export const HOVER_DOCUMENTS = [{ language: 'go-objdump' }, { language: 'markdown' }, { language: 'plaintext' }, { language: 'log' }];

export function startLanguageClient(context: vscode.ExtensionContext): LanguageClient {
  const module = path.join(context.extensionPath, 'dist', 'languageServer.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc },
  };
  const initializationOptions: LanguageInitOptions = {
    settings: { symbolFiles: readSettings(vscode.workspace).symbolFiles },
    liveSymbolize: true,
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: HOVER_DOCUMENTS,
    synchronize: { configurationSection: SETTINGS_SECTION },
    initializationOptions,
  };
  const client = new LanguageClient('bluepill.objdump', 'Go objdump', serverOptions, clientOptions);
  client.onRequest(SymbolizeRequest.method, (params: SymbolizeParams) => symbolizeInSession(params));
  void client.start();
  return client;
}

/** Forwards to the active bluepill debug session; nulls when there is none or it fails. */
async function symbolizeInSession(params: SymbolizeParams): Promise<SymbolizeResult> {
  const addresses = Array.isArray(params?.addresses) ? params.addresses : [];
  const none: SymbolizeResult = { symbols: addresses.map(() => null) };
  const session = vscode.debug.activeDebugSession;
  if (session?.type !== DEBUG_TYPE || addresses.length === 0) return none;
  try {
    const body = (await session.customRequest(SymbolizeRequest.method, { addresses } satisfies SymbolizeParams)) as SymbolizeResult | undefined;
    return Array.isArray(body?.symbols) && body.symbols.length === addresses.length ? body : none;
  } catch {
    return none;
  }
}
