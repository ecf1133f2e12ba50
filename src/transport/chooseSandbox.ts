// The picker rules: processId → that; sandbox → match container id (unique prefix ok); else the
// only one, or the only one on the KVM platform (the one this debugger is for). Several or none →
// an error that says what to do (the extension shows a QuickPick before we get here, so the
// adapter only sees "several" when no picker ran).
import { describeSandbox, type SandboxProcess } from './sandboxProcess';

export class SandboxChoiceError extends Error {
  constructor(
    message: string,
    readonly candidates: SandboxProcess[],
  ) {
    super(message);
    this.name = 'SandboxChoiceError';
  }
}

export interface SandboxWanted {
  processId?: number;
  sandbox?: string;
}

export function chooseSandbox(found: readonly SandboxProcess[], wanted: SandboxWanted, where: string): SandboxProcess | { pid: number } {
  if (wanted.processId !== undefined) return found.find((s) => s.pid === wanted.processId) ?? { pid: wanted.processId };
  const list = found.map((s) => `  ${describeSandbox(s)}`).join('\n');
  if (wanted.sandbox !== undefined) {
    const exact = found.filter((s) => s.containerId === wanted.sandbox);
    if (exact.length === 1) return exact[0];
    const prefixed = found.filter((s) => s.containerId.startsWith(wanted.sandbox!));
    if (prefixed.length === 1) return prefixed[0];
    if (prefixed.length > 1) {
      throw new SandboxChoiceError(
        `"sandbox": "${wanted.sandbox}" matches ${prefixed.length} sandboxes on ${where}; give more of the container id:\n${prefixed.map((s) => `  ${describeSandbox(s)}`).join('\n')}`,
        prefixed,
      );
    }
    throw new SandboxChoiceError(
      found.length
        ? `"sandbox": no sandbox with container id "${wanted.sandbox}" on ${where}. Running sandboxes:\n${list}`
        : `"sandbox": no sandbox with container id "${wanted.sandbox}" on ${where}: no runsc-sandbox … boot process is running there.`,
      [],
    );
  }
  if (found.length === 1) return found[0];
  const kvm = onlyKvmSandbox(found);
  if (kvm) return kvm;
  if (found.length === 0) {
    throw new SandboxChoiceError(`No runsc-sandbox … boot process found on ${where}. Start the sandbox (runsc --platform=kvm …) or set "processId".`, []);
  }
  throw new SandboxChoiceError(`${found.length} sandboxes run on ${where}; set "processId" or "sandbox" (or use \${command:bluepill.pickSandbox}):\n${list}`, [
    ...found,
  ]);
}

/** The one sandbox on --platform=kvm when several run but only one of them is KVM. */
export function onlyKvmSandbox(found: readonly SandboxProcess[]): SandboxProcess | undefined {
  const kvm = found.filter((s) => s.platform === 'kvm');
  return found.length > 1 && kvm.length === 1 ? kvm[0] : undefined;
}

/** KVM sandboxes first (what this debugger is for), then the others; each group newest first. */
export function rankSandboxes(found: readonly SandboxProcess[]): SandboxProcess[] {
  const kvm = (s: SandboxProcess): number => (s.platform === 'kvm' ? 0 : 1);
  return [...found].sort((a, b) => kvm(a) - kvm(b) || (a.uptimeSeconds ?? 0) - (b.uptimeSeconds ?? 0));
}
