// The Run and Debug views of bluepill data: "Host context", "Guest context" and "Bluepill hops",
// fed by the adapter's custom events, plus the commands that act on them.
import * as vscode from 'vscode';
import {
  HopsEvent,
  LocationEvent,
  StepOverRequest,
  type HopsEventBody,
  type LocationEventBody,
  type StepOverResponseBody,
  type WireHop,
} from '../protocol/bluepillMessages';
import { contextRows, hopRow, type ContextRow } from './contextItems';
import { hopsMarkdown } from './hopsMarkdown';
import { DEBUG_TYPE, COMMANDS, VIEWS, CONTEXT_KEYS } from './ids';
import { StepGuardStatus } from './stepGuardStatus';
import { readSettings } from './config';

class ContextItem extends vscode.TreeItem {
  constructor(readonly row: ContextRow) {
    super(row.label, vscode.TreeItemCollapsibleState.None);
    this.description = row.description;
    this.tooltip = row.tooltip;
    this.iconPath = new vscode.ThemeIcon(row.changed ? 'diff-modified' : 'circle-small', row.changed ? new vscode.ThemeColor('charts.orange') : undefined);
    this.contextValue = row.isAddress ? 'bluepillRegister.address' : 'bluepillRegister';
  }
}

class ContextView implements vscode.TreeDataProvider<ContextItem> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  hop: WireHop | undefined;

  constructor(private readonly side: 'host' | 'guest') {}

  show(hop: WireHop | undefined): void {
    this.hop = hop;
    this.changed.fire();
  }

  getTreeItem(item: ContextItem): ContextItem {
    return item;
  }

  getChildren(): ContextItem[] {
    return contextRows(this.side === 'host' ? this.hop?.host : this.hop?.guest).map((r) => new ContextItem(r));
  }
}

type HopNode = { kind: 'summary'; text: string } | { kind: 'hop'; hop: WireHop } | { kind: 'detail'; label: string; description: string; address?: string };

class HopsView implements vscode.TreeDataProvider<HopNode> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  hops: WireHop[] = [];
  /** The last step's summary, pinned on top (the status bar's copy goes after a few seconds). */
  summary: string | undefined;

  set(hops: WireHop[], summary: string | undefined): void {
    this.hops = hops;
    this.summary = summary || this.summary;
    this.changed.fire();
  }

  getTreeItem(node: HopNode): vscode.TreeItem {
    if (node.kind === 'summary') {
      const item = new vscode.TreeItem('Last step', vscode.TreeItemCollapsibleState.None);
      item.description = node.text;
      item.tooltip = node.text;
      item.iconPath = new vscode.ThemeIcon('pinned');
      item.contextValue = 'bluepillSummary';
      return item;
    }
    if (node.kind === 'hop') {
      const row = hopRow(node.hop);
      const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.Collapsed);
      item.description = row.description;
      item.contextValue = 'bluepillHop';
      item.iconPath = new vscode.ThemeIcon('debug-step-over');
      item.command = { command: COMMANDS.showHop, title: 'Show hop contexts', arguments: [node.hop.index] };
      return item;
    }
    const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
    item.description = node.description;
    if (node.address) item.contextValue = 'bluepillHopAddress';
    return item;
  }

  getChildren(node?: HopNode): HopNode[] {
    if (!node) {
      const hops: HopNode[] = [...this.hops].reverse().map((hop) => ({ kind: 'hop' as const, hop }));
      return this.summary ? [{ kind: 'summary', text: this.summary }, ...hops] : hops;
    }
    if (node.kind === 'hop') return hopRow(node.hop).children.map((c) => ({ kind: 'detail' as const, ...c }));
    return [];
  }
}

function activeThreadId(): number | undefined {
  const item = vscode.debug.activeStackItem;
  return item ? item.threadId : undefined;
}

export function registerBluepillViews(context: vscode.ExtensionContext): void {
  const host = new ContextView('host');
  const guest = new ContextView('guest');
  const hops = new HopsView();
  const show = (hop: WireHop | undefined): void => {
    host.show(hop);
    guest.show(hop);
  };

  const guards = new StepGuardStatus();
  context.subscriptions.push(
    guards,
    // Running again: the location is stale until the next stop reports one.
    vscode.debug.onDidChangeActiveStackItem(() => {
      if (vscode.debug.activeDebugSession?.type === DEBUG_TYPE && !vscode.debug.activeStackItem) guards.hide();
    }),
    vscode.window.registerTreeDataProvider(VIEWS.hostContext, host),
    vscode.window.registerTreeDataProvider(VIEWS.guestContext, guest),
    vscode.window.registerTreeDataProvider(VIEWS.hops, hops),

    vscode.debug.onDidReceiveDebugSessionCustomEvent((e) => {
      if (e.session.type !== DEBUG_TYPE) return;
      if (e.event === HopsEvent.event) {
        const body = e.body as HopsEventBody;
        hops.set(body.hops, body.description);
        show(body.hops[body.hops.length - 1]);
      } else if (e.event === LocationEvent.event) {
        const body = e.body as LocationEventBody;
        void vscode.commands.executeCommand('setContext', CONTEXT_KEYS.stoppedInBluepill, body.kind !== 'other');
        guards.show(body.kind);
      }
    }),
    vscode.debug.onDidTerminateDebugSession((s) => {
      if (s.type !== DEBUG_TYPE) return;
      guards.hide();
      void vscode.commands.executeCommand('setContext', CONTEXT_KEYS.stoppedInBluepill, false);
    }),

    vscode.commands.registerCommand(COMMANDS.stepOverBluepill, async () => {
      const session = vscode.debug.activeDebugSession;
      if (!session || session.type !== DEBUG_TYPE) {
        void vscode.window.showErrorMessage('Step over bluepill needs a stopped "bluepill" debug session.');
        return;
      }
      const threadId = activeThreadId();
      if (threadId === undefined) {
        void vscode.window.showErrorMessage('Select a stopped thread in the Call Stack view first.');
        return;
      }
      try {
        const body = (await session.customRequest(StepOverRequest.command, {
          threadId,
          maxHops: readSettings(vscode.workspace).maxHops,
        })) as StepOverResponseBody;
        void vscode.window.setStatusBarMessage(body.description, 10_000);
      } catch (err) {
        void vscode.window.showErrorMessage(`Step over bluepill: ${(err as Error).message}`);
      }
    }),
    vscode.commands.registerCommand(COMMANDS.showHop, (index: number) => {
      show(hops.hops.find((h) => h.index === index));
    }),
    vscode.commands.registerCommand(COMMANDS.exportHops, async () => {
      const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: hopsMarkdown(hops.hops) });
      await vscode.window.showTextDocument(doc);
    }),
    vscode.commands.registerCommand(COMMANDS.copyValue, async (item?: ContextItem) => {
      if (item?.row) await vscode.env.clipboard.writeText(item.row.value);
    }),
    vscode.commands.registerCommand(COMMANDS.openDisassemblyAt, async (item?: ContextItem | { address?: string }) => {
      const address = item instanceof ContextItem ? item.row.value : item?.address;
      if (!address) return;
      await vscode.commands.executeCommand(COMMANDS.openDisassembly, address);
    }),
  );
}
