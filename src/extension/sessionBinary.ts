// When a bluepill session attaches, its sandbox binary becomes a symbol file of the objdump
// language server: hovers in notes, logs and dumps then resolve against the very build under
// the debugger (copied once over SSH, cached by Go build ID).
import * as vscode from 'vscode';
import { AttachedEvent, FetchBinaryRequest } from '../protocol/bluepillMessages';
import { AddSymbolFileRequest, type AddSymbolFileParams } from '../protocol/languageMessages';
import { DEBUG_TYPE } from './ids';

export interface SymbolFileSink {
  sendRequest<R>(method: string, params: AddSymbolFileParams): Promise<R>;
}

export function registerSessionBinary(context: vscode.ExtensionContext, client: SymbolFileSink): void {
  context.subscriptions.push(
    vscode.debug.onDidReceiveDebugSessionCustomEvent(async (e) => {
      if (e.session.type !== DEBUG_TYPE || e.event !== AttachedEvent.event) return;
      try {
        const body = (await e.session.customRequest(FetchBinaryRequest.command)) as { path: string };
        await client.sendRequest(AddSymbolFileRequest.method, { path: body.path });
      } catch (err) {
        void vscode.window.showWarningMessage(`Bluepill: the sandbox's binary is not available for symbols: ${(err as Error).message}`);
      }
    }),
  );
}
