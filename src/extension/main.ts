// Activation glue: registers the debug adapter (its own process), the objdump language client
// and the commands. Everything of substance lives in the engine layers.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { startLanguageClient, type StoppableClient } from './languageClient';

let languageClient: StoppableClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.debug.registerDebugAdapterDescriptorFactory('bluepill', {
      createDebugAdapterDescriptor: () =>
        new vscode.DebugAdapterExecutable(process.execPath, [path.join(context.extensionPath, 'dist', 'adapter.js')]),
    }),
  );
  languageClient = startLanguageClient(context);
}

export async function deactivate(): Promise<void> {
  await languageClient?.stop();
}
