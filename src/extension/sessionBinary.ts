// When a bluepill session attaches, its sandbox binary becomes a symbol file of the objdump
// language server: hovers in notes, logs and dumps then resolve against the very build under
// the debugger (copied once over SSH, cached by Go build ID).
import * as vscode from 'vscode';
import { ATTACHED_EVENT, FETCH_BINARY_REQUEST } from '../protocol/bluepillMessages';
import { ADD_SYMBOL_FILE_REQUEST, type AddSymbolFileParams } from '../language/protocol';

export interface SymbolFileSink {
  sendRequest<R>(method: string, params: AddSymbolFileParams): Promise<R>;
}

export function registerSessionBinary(context: vscode.ExtensionContext, client: SymbolFileSink): void {
  context.subscriptions.push(
    vscode.debug.onDidReceiveDebugSessionCustomEvent(async (e) => {
      if (e.session.type !== 'bluepill' || e.event !== ATTACHED_EVENT) return;
      try {
        const body = (await e.session.customRequest(FETCH_BINARY_REQUEST)) as { path: string };
        await client.sendRequest(ADD_SYMBOL_FILE_REQUEST, { path: body.path });
      } catch (err) {
        void vscode.window.showWarningMessage(`Bluepill: the sandbox's binary is not available for symbols: ${(err as Error).message}`);
      }
    }),
  );
}
