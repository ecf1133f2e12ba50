// Activation glue: registers the debug adapter (its own process), the objdump language client
// and the commands. Everything of substance lives in the engine layers.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { startLanguageClient, type StoppableClient } from './languageClient';
import { registerBluepillViews } from './bluepillViews';
import { registerDisassemblyDocuments } from './disassemblyDocument';
import { registerDebugConfiguration } from './debugConfigurationProvider';
import { registerObjdumpCommands } from './objdumpCommands';
import { registerSessionBinary } from './sessionBinary';

let languageClient: StoppableClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.debug.registerDebugAdapterDescriptorFactory('bluepill', {
      createDebugAdapterDescriptor: () =>
        // The extension host's own runtime: Node in code-server, Electron run as Node in VS Code.
        new vscode.DebugAdapterExecutable(process.execPath, [path.join(context.extensionPath, 'dist', 'adapter.js')], {
          env: { ELECTRON_RUN_AS_NODE: '1' },
        }),
    }),
  );
  registerDebugConfiguration(context);
  registerBluepillViews(context);
  registerDisassemblyDocuments(context);
  const client = startLanguageClient(context);
  languageClient = client;
  registerObjdumpCommands(context, client);
  registerSessionBinary(context, client);
}

export async function deactivate(): Promise<void> {
  await languageClient?.stop();
}
