// What the process we are asked to attach to is, before Delve tries: its command line and its
// tracer (/proc/PID/cmdline and status, readable by anyone). A gofer picked by mistake, or a
// sandbox another debugger already holds, gets a message that says so instead of Delve's raw
// "operation not permitted" / "current user does not own the process".
import { basename } from 'node:path';
import type { CommandRunner } from './commandRunner';
import { argvFromCmdline, isSandboxArgv } from './sandboxProcess';

export interface ProcessFacts {
  pid: number;
  argv: string[];
  /** 0 when untraced. */
  tracerPid: number;
  /** The tracer's command name (comm), when readable. */
  tracerName: string | undefined;
}

/** Prints cmdline (NUL-separated), a marker, status, a marker, the tracer's comm. Argv: sh -c SCRIPT sh PID. */
export const PROCESS_FACTS_SCRIPT = [
  'cat "/proc/$1/cmdline" || exit 3',
  "printf '\\n@@status@@\\n'",
  'cat "/proc/$1/status" || exit 3',
  "t=$(sed -n 's/^TracerPid:[[:space:]]*//p' \"/proc/$1/status\")",
  "printf '@@tracer@@\\n'",
  '[ "${t:-0}" != 0 ] && cat "/proc/$t/comm" 2>/dev/null',
  'true',
].join('; ');

export function parseProcessFacts(pid: number, out: Buffer): ProcessFacts {
  const text = out.toString('utf8');
  const s = text.indexOf('\n@@status@@\n');
  const t = text.indexOf('@@tracer@@\n');
  if (s < 0 || t < 0) throw new Error(`process ${pid}: unexpected /proc output`);
  const status = text.slice(s + 12, t);
  const tracerPid = Number(/^TracerPid:\s*(\d+)/m.exec(status)?.[1] ?? 0);
  const comm = text.slice(t + 11).trim();
  return { pid, argv: argvFromCmdline(Buffer.from(text.slice(0, s), 'utf8')), tracerPid, tracerName: comm || undefined };
}

export async function readProcessFacts(runner: CommandRunner, pid: number): Promise<ProcessFacts | undefined> {
  const r = await runner.run(['sh', '-c', PROCESS_FACTS_SCRIPT, 'sh', String(pid)], { timeoutMs: 15_000 });
  if (r.code === 3) return undefined;
  if (r.code !== 0) throw new Error(`reading /proc/${pid} on ${runner.where} failed (exit ${r.code}): ${r.stderr.trim().slice(0, 200)}`);
  return parseProcessFacts(pid, Buffer.from(r.stdout, 'utf8'));
}

/** runsc's gofer: `runsc-gofer … gofer …` (what runsc re-execs itself as for the file proxy). */
export function isGoferArgv(argv: readonly string[]): boolean {
  return argv.length > 1 && (basename(argv[0]) === 'runsc-gofer' || (basename(argv[0]) === 'runsc' && argv.includes('gofer')));
}

/** Why this process must not be attached to (an error message), or a warning, or nothing. */
export function judgeProcess(f: ProcessFacts, where: string): { error?: string; warning?: string } {
  const cmd = f.argv.join(' ').slice(0, 160);
  if (f.tracerPid !== 0) {
    return { error: `Another debugger already traces process ${f.pid} on ${where}: pid ${f.tracerPid}${f.tracerName ? ` (${f.tracerName})` : ''}. Only one debugger can attach to a process: end that session (or stop that debugger), then attach again.` };
  }
  if (isGoferArgv(f.argv)) {
    return { error: `Process ${f.pid} on ${where} is runsc's gofer (${cmd}), not the sandbox. Attach to the runsc-sandbox … boot process of the same container (the picker lists it), or set "sandbox" to its container id.` };
  }
  if (!isSandboxArgv(f.argv)) return { warning: `process ${f.pid} on ${where} is not a runsc-sandbox … boot process (${cmd || 'no command line'}); attaching anyway` };
  return {};
}
