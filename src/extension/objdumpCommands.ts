// "Go objdump: Open function…": pick a loaded binary or dump (or any file), pick one of its
// functions, read its disassembly in a read-only go-objdump document. This is how a 500 MB
// runsc dump is read: VS Code never opens the whole file, the language server indexes it.

import * as vscode from 'vscode';
import {
  AddSymbolFileRequest,
  functionDocumentUri,
  ListFunctionsRequest,
  ListSymbolFilesRequest,
  type AddSymbolFileParams,
  type FunctionSummary,
  type ListFunctionsParams,
  type ListFunctionsResult,
  type ListSymbolFilesResult,
  type SymbolFileInfo,
} from '../protocol/languageMessages';
import { registerFunctionDocuments, showFunctionDocument, type ObjdumpServer } from './objdumpDocuments';
import { COMMANDS } from './ids';

/** Optional arguments: open that function directly (other commands, tests). */
export interface OpenFunctionArgs {
  file?: string;
  name?: string;
}

/** Registers the command and the go-objdump: document provider. Call once from activate(). */
export function registerObjdumpCommands(context: vscode.ExtensionContext, client: ObjdumpServer): void {
  registerFunctionDocuments(context, client);
  context.subscriptions.push(
    vscode.commands.registerCommand(COMMANDS.openFunction, async (args?: OpenFunctionArgs) => {
      try {
        return await openFunction(client, args ?? {});
      } catch (e) {
        void vscode.window.showErrorMessage(`Go objdump: ${e instanceof Error ? e.message : String(e)}`);
        return undefined;
      }
    }),
  );
}

async function openFunction(server: ObjdumpServer, args: OpenFunctionArgs): Promise<vscode.TextEditor | undefined> {
  const file = args.file ?? (await pickFile(server));
  if (file === undefined) return undefined;
  const info = await server.sendRequest<SymbolFileInfo>(AddSymbolFileRequest.method, { path: file } satisfies AddSymbolFileParams);
  if (info.skipped) {
    void vscode.window.showErrorMessage(`Go objdump: ${file}: ${info.problem ?? 'cannot be read'}`);
    return undefined;
  }
  if (info.problem !== undefined) void vscode.window.showWarningMessage(`Go objdump: ${file}: ${info.problem}`);
  const name = args.name ?? (await pickFunction(server, info.path));
  if (name === undefined) return undefined;
  return showFunctionDocument(vscode.Uri.parse(functionDocumentUri({ file: info.path, name })));
}

interface FileItem extends vscode.QuickPickItem {
  path?: string;
}

async function pickFile(server: ObjdumpServer): Promise<string | undefined> {
  const { files } = await server.sendRequest<ListSymbolFilesResult>(ListSymbolFilesRequest.method, {});
  const usable = files.filter((f) => !f.skipped);
  const other: FileItem = { label: '$(folder-opened) Choose a binary or dump…' };
  if (usable.length > 0) {
    const items: FileItem[] = usable.map((f) => ({
      label: vscode.workspace.asRelativePath(f.path),
      description: `${f.kind}, ${f.functionCount} functions`,
      detail: f.problem,
      path: f.path,
    }));
    const picked = await vscode.window.showQuickPick([...items, other], { placeHolder: 'Binary or dump to open a function of (bluepill.symbolFiles)' });
    if (picked === undefined) return undefined;
    if (picked.path !== undefined) return picked.path;
  }
  const chosen = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Load symbols', title: 'Go binary (ELF) or go tool objdump output' });
  return chosen?.[0]?.fsPath;
}

async function pickFunction(server: ObjdumpServer, path: string): Promise<string | undefined> {
  const { functions } = await server.sendRequest<ListFunctionsResult>(ListFunctionsRequest.method, { path } satisfies ListFunctionsParams);
  const items = functions.map((f: FunctionSummary) => ({
    label: f.name,
    description: `0x${f.start.toString(16)}${f.size > 0 ? ` (${f.size} bytes)` : ''}`,
  }));
  const picked = await vscode.window.showQuickPick(items, {
    placeHolder: `Function of ${vscode.workspace.asRelativePath(path)} (type a name or an address)`,
    matchOnDescription: true,
  });
  return picked?.label;
}
