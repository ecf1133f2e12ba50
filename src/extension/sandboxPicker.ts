// `bluepill.pickSandbox`: lists the runsc-sandbox boot processes on the target (this machine or
// the configuration's "ssh" host) and lets the user pick one. Returns the pid as a string, as
// `${command:bluepill.pickSandbox}` needs, or undefined when cancelled.
import * as vscode from 'vscode';
import { resolveAttachConfig } from '../config/attachConfig';
import { onlyKvmSandbox, rankSandboxes } from '../transport/chooseSandbox';
import { listSandboxes, openRunner } from '../transport/sandboxListing';
import { describeSandbox, formatUptime, type SandboxProcess } from '../transport/sandboxProcess';

interface SandboxItem extends vscode.QuickPickItem {
  sandbox: SandboxProcess;
}

/** The target of a launch configuration VS Code hands to the command (when it does). */
function targetOf(arg: unknown): { ssh: string | undefined; sshConfigFile: string | undefined } {
  if (typeof arg !== 'object' || arg === null) return { ssh: undefined, sshConfigFile: undefined };
  const raw = arg as Record<string, unknown>;
  const config = resolveAttachConfig({ ssh: raw.ssh, sshConfigFile: raw.sshConfigFile });
  return { ssh: config.ssh, sshConfigFile: config.sshConfigFile };
}

export async function listSandboxesOn(target: { ssh: string | undefined; sshConfigFile: string | undefined }): Promise<SandboxProcess[]> {
  const runner = await openRunner(target);
  try {
    return await listSandboxes(runner);
  } finally {
    await runner.close();
  }
}

/** Asks the user to choose among several sandboxes; the only one is returned without asking. */
export async function chooseSandboxInteractively(found: readonly SandboxProcess[], where: string): Promise<SandboxProcess | undefined> {
  if (found.length === 0) {
    void vscode.window.showErrorMessage(`No runsc-sandbox … boot process found on ${where}. Start the sandbox (runsc --platform=kvm …) or set "processId".`);
    return undefined;
  }
  if (found.length === 1) return found[0];
  const kvm = onlyKvmSandbox(found);
  if (kvm) {
    void vscode.window.showInformationMessage(
      `Attaching to the only KVM sandbox on ${where}: pid ${kvm.pid}, container ${kvm.containerId} (${found.length - 1} other sandbox${found.length > 2 ? 'es run' : ' runs'} on another platform).`,
    );
    return kvm;
  }
  const items: SandboxItem[] = rankSandboxes(found).map((s) => ({
    label: `${s.platform === 'kvm' ? '$(vm) ' : ''}pid ${s.pid}`,
    description: `container ${s.containerId}`,
    detail: `platform ${s.platform ?? '(default)'} · up ${formatUptime(s.uptimeSeconds)}${s.root ? ` · root ${s.root}` : ''}`,
    sandbox: s,
  }));
  const picked = await vscode.window.showQuickPick(items, {
    title: `Sandboxes on ${where}`,
    placeHolder: 'Attach to which runsc-sandbox?',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  return picked?.sandbox;
}

export async function pickSandboxCommand(arg?: unknown): Promise<string | undefined> {
  try {
    const target = targetOf(arg);
    const where = target.ssh ?? 'this machine';
    const found = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Looking for sandboxes on ${where}…` }, () =>
      listSandboxesOn(target),
    );
    const chosen = await chooseSandboxInteractively(found, where);
    return chosen ? String(chosen.pid) : undefined;
  } catch (err) {
    void vscode.window.showErrorMessage((err as Error).message);
    return undefined;
  }
}

export { describeSandbox };
