// A status bar item while the stopped thread is on the bluepill path: there the ordinary steps are
// not what they seem. The adapter's engine takes every step through its guards (no breakpoint in
// code that runs in guest mode, no single step into a syscall); this says so, and names the one
// step that goes through the fault, the handler and the trampoline (docs/architecture.md §3).
import * as vscode from 'vscode';
import type { LocationKind } from '../protocol/bluepillMessages';
import { COMMANDS } from './ids';

const TEXT: Record<Exclude<LocationKind, 'other'>, string> = {
  bluepill: 'at a bluepill fault',
  handler: 'in the bluepill signal handler',
  trampoline: 'in the signal trampoline',
};

export class StepGuardStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('bluepill.stepGuards', vscode.StatusBarAlignment.Left, 50);

  constructor() {
    this.item.name = 'Bluepill step guards';
    this.item.command = COMMANDS.stepOverBluepill;
  }

  /** The stopped thread's location kind, from the adapter's location event. */
  show(kind: LocationKind): void {
    if (kind === 'other') return this.hide();
    this.item.text = `$(shield) Guarded steps ${TEXT[kind]}`;
    this.item.tooltip = new vscode.MarkdownString(
      `The thread is ${TEXT[kind]}. Step Over, Step Into and the instruction steps here are guarded: they plant no breakpoint in code that runs in guest mode and never single-step into a system call, so a plain step may stop somewhere else than you expect, and says where.\n\n**Step over bluepill** (click, or Ctrl+Shift+F10) goes through the fault, the handler and the trampoline to where the guest exit puts the thread.`,
    );
    this.item.show();
  }

  hide(): void {
    this.item.hide();
  }

  dispose(): void {
    this.item.dispose();
  }
}
