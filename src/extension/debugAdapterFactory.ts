// Where the debug adapter runs. Shipped: its own process (a crash or a hang there never takes the
// extension host with it). When developing the extension, BLUEPILL_ADAPTER_INLINE=1 runs it inside
// the extension host instead, so one debugger stops in both (vscode-mock-debug's "inline" mode).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { BluepillDebugSession } from '../adapter/bluepillDebugSession';

export function debugAdapterFactory(context: vscode.ExtensionContext): vscode.DebugAdapterDescriptorFactory {
  const inline = context.extensionMode === vscode.ExtensionMode.Development && process.env.BLUEPILL_ADAPTER_INLINE === '1';
  return {
    createDebugAdapterDescriptor: () =>
      inline
        ? new vscode.DebugAdapterInlineImplementation(new BluepillDebugSession())
        : // The extension host's own runtime: Node in code-server, Electron run as Node in VS Code.
          new vscode.DebugAdapterExecutable(process.execPath, [path.join(context.extensionPath, 'dist', 'adapter.js')], {
            env: { ELECTRON_RUN_AS_NODE: '1' },
          }),
  };
}
