// A workspace for the demo and the UI tests: launch configurations for the simulator, a Markdown
// debugging note full of the simulator's addresses, and an objdump of its bluepill code.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DemoWorkspaceOptions {
  folder: string;
  binary: string;
  /** The `go` that built the binary (its objdump understands the binary's pclntab). */
  go?: string;
  /** An extra SSH launch configuration (e.g. the test sshd). */
  ssh?: { destination: string; sshConfigFile?: string; sudo?: boolean };
  /** A fixed pid instead of the sandbox picker (tests). */
  processId?: number;
}

interface NmSymbol {
  addr: number;
  name: string;
}

function symbols(go: string, binary: string): NmSymbol[] {
  return execFileSync(go, ['tool', 'nm', '-sort', 'address', binary], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 3 && f[1] === 'T')
    .map((f) => ({
      addr: parseInt(f[0], 16),
      name: f
        .slice(2)
        .join(' ')
        .replace(/\.abi0$/, ''),
    }));
}

const hex = (n: number): string => `0x${n.toString(16)}`;

export function writeDemoWorkspace(opts: DemoWorkspaceOptions): { objdump: string; note: string } {
  const go = opts.go ?? 'go';
  mkdirSync(join(opts.folder, '.vscode'), { recursive: true });
  const configurations: Array<Record<string, unknown>> = [
    {
      name: 'Attach to a local runsc-sandbox',
      type: 'bluepill',
      request: 'attach',
      processId: opts.processId ?? '${command:bluepill.pickSandbox}',
      sudo: false,
      stopOnAttach: false,
    },
  ];
  if (opts.ssh) {
    configurations.push({
      name: 'Attach to runsc-sandbox on a Pi (SSH)',
      type: 'bluepill',
      request: 'attach',
      ssh: opts.ssh.destination,
      ...(opts.ssh.sshConfigFile ? { sshConfigFile: opts.ssh.sshConfigFile } : {}),
      processId: opts.processId ?? '${command:bluepill.pickSandbox}',
      sudo: opts.ssh.sudo ?? true,
      stopOnAttach: false,
    });
  }
  writeFileSync(join(opts.folder, '.vscode', 'launch.json'), JSON.stringify({ version: '0.2.0', configurations }, null, 2) + '\n');
  writeFileSync(join(opts.folder, '.vscode', 'settings.json'), JSON.stringify({ 'bluepill.symbolFiles': [opts.binary] }, null, 2) + '\n');

  const objdump = execFileSync(go, ['tool', 'objdump', '-s', 'platform/kvm\\.|ring0\\.', opts.binary], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const objdumpPath = join(opts.folder, 'bluepill-sim.objdump');
  writeFileSync(objdumpPath, objdump);

  const syms = symbols(go, opts.binary);
  const find = (suffix: string): NmSymbol | undefined => syms.find((s) => s.name.endsWith(suffix));
  const bluepill = find('platform/kvm.bluepill');
  const handler = find('platform/kvm.sighandler');
  const ring0 = find('ring0.kernelExitToEl0');
  const exit = find('platform/kvm.guestExitSyscall');
  const cli = objdump.split('\n').find((l) => /\tCLI\t/.test(l) && bluepill && l.includes(hex(bluepill.addr).slice(0, 6)));
  const cliAddr = cli ? /0x[0-9a-f]+/.exec(cli)?.[0] : undefined;
  const note = `# Debugging note: one bluepill round trip

Addresses from \`go tool objdump\` of the simulator (${opts.binary}). Hover any of them.

\`\`\`go-objdump
${bluepill ? hex(bluepill.addr) : '?'} kvm.bluepill
${cliAddr ?? '?'} CLI                       // faults: SIGSEGV
${handler ? hex(handler.addr) : '?'} kvm.sighandler             // with PC: ${cliAddr ?? '?'}
${ring0 ? hex(ring0.addr) : '?'} ring0.kernelExitToEl0      // first instruction faults again
${exit ? hex(exit.addr) : '?'} kvm.guestExitSyscall       // the guest exit lands on its SYSCALL
\`\`\`

Breakpoints I used:

- b *${handler ? hex(handler.addr) : '?'}   (sighandler entry)
- the landing PC was ${exit ? hex(exit.addr + 0xa) : '?'}, pc=${exit ? hex(exit.addr + 0xa) : '?'}
`;
  const notePath = join(opts.folder, 'notes.md');
  writeFileSync(notePath, note);
  return { objdump: objdumpPath, note: notePath };
}
