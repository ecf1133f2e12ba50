// Activation glue: registers the debug adapter (./debugAdapterFactory.ts), the objdump language client
// and the commands. Everything of substance lives in the engine layers.
import * as vscode from 'vscode';
import { startLanguageClient, type StoppableClient } from './languageClient';
import { registerBluepillViews } from './bluepillViews';
import { registerDisassemblyDocuments } from './disassemblyDocument';
import { registerDebugConfiguration } from './debugConfigurationProvider';
import { registerObjdumpCommands } from './objdumpCommands';
import { registerSessionBinary } from './sessionBinary';
import { registerAddressBreakpoints } from './addressBreakpoints';
import { debugAdapterFactory } from './debugAdapterFactory';
import { DEBUG_TYPE } from './ids';

let languageClient: StoppableClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, debugAdapterFactory(context)));
  registerDebugConfiguration(context);
  registerBluepillViews(context);
  const client = startLanguageClient(context);
  languageClient = client;
  registerObjdumpCommands(context, client);
  registerDisassemblyDocuments(context, client);
  registerSessionBinary(context, client);
  registerAddressBreakpoints(context);
}

export async function deactivate(): Promise<void> {
  await languageClient?.stop();
}
