// "Open disassembly at address…": a read-only go-objdump document around an address (`0x…`,
// `name`, `name+0xOFF`). While the target is stopped: Delve's disassembly of its memory (the DAP
// `disassemble` answer, in Delve's listing shape). While it runs Delve answers nothing, so: the
// enclosing function's static disassembly from the session's binary (the copy the extension already
// fetched, ./sessionBinary.ts), as "Open function…" shows it. The first line says which.
import * as vscode from 'vscode';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { FetchBinaryRequest, type FetchBinaryResponseBody } from '../protocol/bluepillMessages';
import {
  functionDocumentUri,
  ListFunctionsRequest,
  type FunctionSummary,
  type ListFunctionsParams,
  type ListFunctionsResult,
} from '../protocol/languageMessages';
import { formatDisassembly } from './disassemblyText';
import { DEBUG_TYPE, COMMANDS } from './ids';
import { FunctionDocumentProvider, type ObjdumpServer } from './objdumpDocuments';

export const DISASSEMBLY_SCHEME = 'bluepill-disasm';

const SPEC = /^(?:(0x[0-9a-f]+|[0-9a-f]+)|(.*?\S)(?:\s*\+\s*(0x[0-9a-f]+|\d+))?)$/i;

export function registerDisassemblyDocuments(context: vscode.ExtensionContext, server: ObjdumpServer): void {
  const provider: vscode.TextDocumentContentProvider = {
    async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
      const spec = decodeURIComponent(uri.path.replace(/^\//, '').replace(/\.objdump$/, ''));
      const session = vscode.debug.activeDebugSession;
      if (!session || session.type !== DEBUG_TYPE) return `// no bluepill debug session: cannot disassemble ${spec}\n`;
      let functions: FunctionSummary[] | undefined;
      let binary: string | undefined;
      const loadFunctions = async (): Promise<FunctionSummary[]> => {
        binary ??= ((await session.customRequest(FetchBinaryRequest.command)) as FetchBinaryResponseBody).path;
        functions ??= (await server.sendRequest<ListFunctionsResult>(ListFunctionsRequest.method, { path: binary } satisfies ListFunctionsParams)).functions;
        return functions;
      };
      let address: number;
      try {
        address = await resolveSpec(spec, loadFunctions);
      } catch (e) {
        return `// cannot disassemble ${spec}: ${(e as Error).message}\n`;
      }
      const addr = `0x${address.toString(16)}`;
      let liveProblem: string;
      try {
        const args: DebugProtocol.DisassembleArguments = { memoryReference: addr, instructionOffset: -24, instructionCount: 96, resolveSymbols: true };
        const body = (await session.customRequest('disassemble', args)) as DebugProtocol.DisassembleResponse['body'];
        return `// live: Delve's disassembly of the stopped target's memory around ${addr}\n${formatDisassembly(body?.instructions ?? [], addr)}`;
      } catch (e) {
        liveProblem = (e as Error).message;
      }
      // Running (or Delve could not read it): the static listing of the enclosing function.
      try {
        const fn = (await loadFunctions()).find((f) => f.start <= address && address < f.start + Math.max(f.size, 1));
        if (!fn) return `// ${addr}: ${liveProblem}; and no function of the session's binary ${binary} holds it\n`;
        const text = await new FunctionDocumentProvider(server).provideTextDocumentContent(
          vscode.Uri.parse(functionDocumentUri({ file: binary!, name: fn.name })),
          token,
        );
        return `// static: ${fn.name}+0x${(address - fn.start).toString(16)} from the session's binary ${binary}, not the target's memory (${liveProblem.replace(/\n/g, ' ')})\n${text}`;
      } catch (e) {
        return `// ${addr}: ${liveProblem}; the static disassembly failed too: ${(e as Error).message}\n`;
      }
    },
  };
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(DISASSEMBLY_SCHEME, provider),
    vscode.commands.registerCommand(COMMANDS.openDisassembly, async (address?: string) => {
      const spec =
        address ??
        (await vscode.window.showInputBox({
          prompt: 'Address to disassemble: 0x…, a function name, or name+0xOFF',
          placeHolder: '0x95c6d8 or kvm.bluepill+0x18',
          validateInput: (v) => (SPEC.test(v.trim()) ? undefined : 'an address (0x95c6d8), a function name, or name+0xOFF'),
        }));
      if (!spec) return;
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.from({ scheme: DISASSEMBLY_SCHEME, path: `/${encodeURIComponent(spec.trim())}.objdump` }));
      await vscode.languages.setTextDocumentLanguage(doc, 'go-objdump');
      await vscode.window.showTextDocument(doc, { preview: true });
    }),
  );
}

/** `0x…` (or bare hex) → that address; `name[+OFF]` → the function's start in the session's binary plus OFF. */
async function resolveSpec(spec: string, functions: () => Promise<FunctionSummary[]>): Promise<number> {
  const m = SPEC.exec(spec.trim());
  if (!m) throw new Error('not an address, function name or name+0xOFF');
  if (m[1]) return Number(BigInt(m[1].startsWith('0x') || m[1].startsWith('0X') ? m[1] : `0x${m[1]}`));
  const name = m[2].replace(/\.abi0$/, '');
  const offset = m[3] ? Number(m[3]) : 0;
  const all = await functions();
  const fn =
    all.find((f) => f.name.replace(/\.abi0$/, '') === name) ??
    all.find((f) => f.name.replace(/\.abi0$/, '').endsWith(`/${name}`) || f.name.endsWith(`.${name}`));
  if (!fn) throw new Error(`no function ${name} in the session's binary`);
  return fn.start + offset;
}
