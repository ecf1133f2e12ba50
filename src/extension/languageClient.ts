// Starts the go-objdump language server (dist/languageServer.js) in its own Node process.
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';

export interface StoppableClient {
  stop(): Promise<void>;
}

/** Documents whose addresses get hovers: objdump dumps, Markdown notes, logs and plain text. */
export const HOVER_DOCUMENTS = [
  { language: 'go-objdump' },
  { language: 'markdown' },
  { language: 'plaintext' },
  { language: 'log' },
];

export function startLanguageClient(context: vscode.ExtensionContext): StoppableClient {
  const module = path.join(context.extensionPath, 'dist', 'languageServer.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: HOVER_DOCUMENTS,
    synchronize: { configurationSection: 'bluepill' },
  };
  const client = new LanguageClient('bluepill.objdump', 'Go objdump', serverOptions, clientOptions);
  void client.start();
  return client;
}
