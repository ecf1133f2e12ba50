// "Open disassembly at an address": a read-only go-objdump document around any address, made
// from the debug session's DAP `disassemble` answer (Go syntax), in Delve's listing shape.
import * as vscode from 'vscode';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { formatDisassembly } from './disassemblyText';
import { DEBUG_TYPE, COMMANDS } from './ids';

export const DISASSEMBLY_SCHEME = 'bluepill-disasm';

export function registerDisassemblyDocuments(context: vscode.ExtensionContext): void {
  const provider: vscode.TextDocumentContentProvider = {
    async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
      const address = uri.path.replace(/^\//, '').replace(/\.objdump$/, '');
      const session = vscode.debug.activeDebugSession;
      if (!session || session.type !== DEBUG_TYPE) return `// no bluepill debug session: cannot disassemble ${address}\n`;
      const args: DebugProtocol.DisassembleArguments = { memoryReference: address, instructionOffset: -24, instructionCount: 96, resolveSymbols: true };
      const body = (await session.customRequest('disassemble', args)) as DebugProtocol.DisassembleResponse['body'];
      return formatDisassembly(body?.instructions ?? [], address);
    },
  };
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(DISASSEMBLY_SCHEME, provider),
    vscode.commands.registerCommand(COMMANDS.openDisassembly, async (address?: string) => {
      const addr =
        address ??
        (await vscode.window.showInputBox({
          prompt: 'Address to disassemble',
          placeHolder: '0x95c6d8',
          validateInput: (v) => (/^(0x)?[0-9a-fA-F]+$/.test(v.trim()) ? undefined : 'a hex address, e.g. 0x95c6d8'),
        }));
      if (!addr) return;
      const norm = '0x' + BigInt(addr.trim().startsWith('0x') ? addr.trim() : '0x' + addr.trim()).toString(16);
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.from({ scheme: DISASSEMBLY_SCHEME, path: `/${norm}.objdump` }));
      await vscode.languages.setTextDocumentLanguage(doc, 'go-objdump');
      await vscode.window.showTextDocument(doc, { preview: true });
    }),
  );
}
