// What a `runsc-sandbox … boot … <container id>` process looks like in /proc, and how we read
// the fields the picker shows. Shared by local discovery (Node reads /proc) and remote discovery
// (a small sh script prints the same raw fields).
import { basename } from 'node:path';

export interface SandboxProcess {
  pid: number;
  containerId: string;
  /** --platform value (kvm, systrap, ptrace), or undefined when the flag is absent. */
  platform: string | undefined;
  /** --root value (runsc's state directory), or undefined. */
  root: string | undefined;
  /** Seconds since the process started. */
  uptimeSeconds: number;
  argv: string[];
}

/** Value of a Go-style flag (-name=v, --name=v, -name v, --name v) among the args before `boot`. */
function flagValue(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    for (const prefix of [`--${name}`, `-${name}`]) {
      if (a === prefix && i + 1 < args.length) return args[i + 1];
      if (a.startsWith(prefix + '=')) return a.slice(prefix.length + 1);
    }
  }
  return undefined;
}

/** Is this argv a sandbox's `boot` process? argv[0] runsc-sandbox (what runsc re-execs itself as) or runsc. */
export function isSandboxArgv(argv: readonly string[]): boolean {
  if (argv.length < 3) return false;
  const name = basename(argv[0]);
  if (name !== 'runsc-sandbox' && name !== 'runsc') return false;
  return argv.slice(1).includes('boot');
}

/** Seconds since start from /proc/PID/stat's starttime (field 22, clock ticks since boot). */
export function uptimeFromStat(statLine: string, systemUptimeSeconds: number, clockTicksPerSecond: number): number {
  // comm (field 2) may hold spaces and parentheses: split after the last ')'.
  const afterComm = statLine
    .slice(statLine.lastIndexOf(')') + 2)
    .trim()
    .split(/\s+/);
  const startTicks = Number(afterComm[19]);
  if (!Number.isFinite(startTicks)) return 0;
  return Math.max(0, systemUptimeSeconds - startTicks / clockTicksPerSecond);
}

/** argv from /proc/PID/cmdline (NUL-separated, usually NUL-terminated). */
export function argvFromCmdline(cmdline: Buffer): string[] {
  const text = cmdline.toString('utf8');
  const parts = text.split('\0');
  if (parts.length && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

export function sandboxFromArgv(pid: number, argv: string[], uptimeSeconds: number): SandboxProcess | undefined {
  if (!isSandboxArgv(argv)) return undefined;
  const bootAt = argv.indexOf('boot', 1);
  return {
    pid,
    containerId: argv[argv.length - 1],
    platform: flagValue(argv.slice(1, bootAt), 'platform') ?? flagValue(argv.slice(bootAt + 1), 'platform'),
    root: flagValue(argv.slice(1, bootAt), 'root'),
    uptimeSeconds,
    argv,
  };
}

/** "3h 12m", "45s": for the picker and messages. */
export function formatUptime(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export function describeSandbox(s: SandboxProcess): string {
  return `pid ${s.pid}, container ${s.containerId}, platform ${s.platform ?? '(default)'}, up ${formatUptime(s.uptimeSeconds)}`;
}
