// What the process we are asked to attach to is, before Delve tries: its command line and its
// tracer (/proc/PID/cmdline and status, which Delve's supervisor prints before it starts Delve:
// delveLauncher.ts). A gofer picked by mistake, or a sandbox another debugger already holds, gets a
// message that says so instead of Delve's raw "operation not permitted" / "current user does not
// own the process".
import { basename } from 'node:path';
import { isSandboxArgv } from './sandboxProcess';

export interface ProcessFacts {
  pid: number;
  argv: string[];
  /** 0 when untraced. */
  tracerPid: number;
  /** The tracer's command name (comm), when readable. */
  tracerName: string | undefined;
}

/** runsc's gofer: `runsc-gofer … gofer …` (what runsc re-execs itself as for the file proxy). */
export function isGoferArgv(argv: readonly string[]): boolean {
  return argv.length > 1 && (basename(argv[0]) === 'runsc-gofer' || (basename(argv[0]) === 'runsc' && argv.includes('gofer')));
}

/** Why this process must not be attached to (an error message), or a warning, or nothing. */
export function judgeProcess(f: ProcessFacts, where: string): { error?: string; warning?: string } {
  const cmd = f.argv.join(' ').slice(0, 160);
  if (f.tracerPid !== 0) {
    return {
      error: `Another debugger already traces process ${f.pid} on ${where}: pid ${f.tracerPid}${f.tracerName ? ` (${f.tracerName})` : ''}. Only one debugger can attach to a process: end that session (or stop that debugger), then attach again.`,
    };
  }
  if (isGoferArgv(f.argv)) {
    return {
      error: `Process ${f.pid} on ${where} is runsc's gofer (${cmd}), not the sandbox. Attach to the runsc-sandbox … boot process of the same container (the picker lists it), or set "sandbox" to its container id.`,
    };
  }
  if (!isSandboxArgv(f.argv))
    return { warning: `process ${f.pid} on ${where} is not a runsc-sandbox … boot process (${cmd || 'no command line'}); attaching anyway` };
  return {};
}
