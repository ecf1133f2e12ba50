// Breakpoints from addresses in text: the gutter of go-objdump documents (package.json contributes
// `breakpoints` for the language), "Break at Address" in the editor's context menu, and a
// "Break at name" code lens on each `TEXT name(SB)` line. The adapter turns each into an address
// breakpoint through its BreakpointBook, judged by the guest-mode rules (src/adapter/breakpoints.ts).
import * as vscode from 'vscode';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { addressAt } from '../language/addressAtPosition';
import { parseInstructionLine } from '../language/symbolSources';
import type { ListingTextArguments } from '../protocol/bluepillMessages';
import { COMMANDS, DEBUG_TYPE } from './ids';

const LANGUAGE = 'go-objdump';
const TEXT_LINE = /^TEXT (.+?)\(SB\)/;
const MAX_LENS_LINES = 200_000;

export function registerAddressBreakpoints(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, { createDebugAdapterTracker: () => ({ onWillReceiveMessage: addListingText }) }),
    vscode.commands.registerCommand(COMMANDS.breakAtAddress, (spec?: string) => breakAt(spec)),
    vscode.languages.registerCodeLensProvider({ language: LANGUAGE }, { provideCodeLenses: functionLenses }),
  );
}

/**
 * VS Code sends a breakpoint in a document that is not a file (the `go-objdump:` function listings,
 * the disassembly documents) with the document's URI string as `source.path`, which the adapter
 * cannot read. The extension host hands each request to the tracker before it goes to the adapter
 * (VS Code, src/vs/workbench/api/common/extHostDebugService.ts: `$sendDAMessage`), so the listing's
 * text is added to the request here.
 */
function addListingText(message: DebugProtocol.ProtocolMessage): void {
  if (message.type !== 'request') return;
  const req = message as DebugProtocol.Request;
  if (req.command !== 'setBreakpoints') return;
  const args = req.arguments as DebugProtocol.SetBreakpointsArguments & ListingTextArguments;
  const path = args.source?.path;
  if (!path || path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path)) return;
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === path);
  if (doc?.languageId === LANGUAGE) args.bluepillListingText = doc.getText();
}

/**
 * Adds a function breakpoint `*0xADDR` (or `name+0xOFF`, or `name`) that the Breakpoints view lists
 * and the adapter sets as an address breakpoint. Without an argument: the address under the cursor,
 * found as the hover finds it (src/language/addressAtPosition.ts), else the instruction of the line.
 */
async function breakAt(spec?: string): Promise<void> {
  const name = spec ?? specUnderCursor();
  if (!name) {
    void vscode.window.showWarningMessage('Break at Address: no address under the cursor (0x…, name+0x…, or an instruction line).');
    return;
  }
  vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint(name)]);
  if (!vscode.debug.activeDebugSession || vscode.debug.activeDebugSession.type !== DEBUG_TYPE) {
    void vscode.window.showInformationMessage(`Breakpoint ${name} added; it is set when a bluepill debug session starts.`);
  }
}

function specUnderCursor(): string | undefined {
  const editor = vscode.window.activeTextEditor;
  if (!editor) return undefined;
  const doc = editor.document;
  const pos = editor.selection.active;
  const text = doc.lineAt(pos.line).text;
  const ref = addressAt(text, pos.character, {
    bareHex: doc.languageId === LANGUAGE,
    previousLine: pos.line > 0 ? doc.lineAt(pos.line - 1).text : undefined,
  });
  if (ref?.kind === 'address') return `*0x${ref.address.toString(16)}`;
  if (ref?.kind === 'functionOffset') return `${ref.function}+0x${ref.offset.toString(16)}`;
  const insn = parseInstructionLine(text);
  if (insn) return `*0x${insn.address.toString(16)}`;
  const fn = TEXT_LINE.exec(text);
  return fn?.[1];
}

/** One lens per `TEXT name(SB)` line: a breakpoint on the function (after its prologue, as Delve's `break name`). */
function functionLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
  const lenses: vscode.CodeLens[] = [];
  // A whole-binary dump has tens of thousands of functions: no lenses there (the context menu works).
  if (doc.lineCount > MAX_LENS_LINES) return lenses;
  for (let i = 0; i < doc.lineCount; i++) {
    const m = TEXT_LINE.exec(doc.lineAt(i).text);
    if (!m) continue;
    const short = m[1].slice(m[1].lastIndexOf('/') + 1);
    lenses.push(new vscode.CodeLens(new vscode.Range(i, 0, i, 0), { title: `Break at ${short}`, command: COMMANDS.breakAtAddress, arguments: [m[1]] }));
  }
  return lenses;
}
