// Real gVisor for the tests: the runsc binaries scripts/runsc builds (runsc 20221219 from Debian's
// source, DWARF kept, amd64 and arm64) and Debian's own stripped ones, plus the checks every real
// runsc test ends with: the sandbox is alive, not stopped, carries no pending SIGTRAP, and no Delve
// or bridge of ours is left.
import { execFile } from 'node:child_process';
import { repoRoot } from './repoRoot';
import { join } from 'node:path';

export interface RunscBinaries {
  dir: string;
  amd64: string;
  arm64: string;
  debianAmd64: string;
  debianArm64: string;
  version: string;
}

const RUNSC_SCRIPT = join(repoRoot, 'scripts', 'runsc');
/** scripts/runsc's exit code when real runsc cannot be had on this machine. */
const UNAVAILABLE_EXIT = 77;

let binaries: Promise<RunscBinaries> | undefined;

/** Builds runsc unless cached (about three minutes cold) and returns the paths. */
export function runscBinaries(): Promise<RunscBinaries> {
  binaries ??= new Promise<RunscBinaries>((resolve, reject) => {
    execFile('bash', [RUNSC_SCRIPT, 'build'], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const reason = /^runsc: unavailable: (.*)$/m.exec(stderr)?.[1];
        reject(
          err.code === UNAVAILABLE_EXIT && reason
            ? new RunscUnavailableError(reason)
            : new Error(`scripts/runsc build failed: ${err.message}\n${stderr.slice(-3000)}`),
        );
        return;
      }
      const kv = new Map(
        stdout
          .split('\n')
          .map((l) => l.split('=', 2) as [string, string])
          .filter((p) => p.length === 2),
      );
      const get = (k: string): string => {
        const v = kv.get(k);
        if (!v) throw new Error(`scripts/runsc build printed no ${k}:\n${stdout}`);
        return v;
      };
      try {
        resolve({
          dir: get('RUNSC_DIR'),
          amd64: get('RUNSC_AMD64'),
          arm64: get('RUNSC_ARM64'),
          debianAmd64: get('RUNSC_DEBIAN_AMD64'),
          debianArm64: get('RUNSC_DEBIAN_ARM64'),
          version: get('RUNSC_VERSION'),
        });
      } catch (e) {
        reject(e as Error);
      }
    });
  });
  binaries.catch(() => (binaries = undefined));
  return binaries;
}

export class RunscUnavailableError extends Error {}

/** SIGTRAP (5) as a bit of /proc/PID/status's SigPnd/ShdPnd masks. */
const SIGTRAP_BIT = 1n << 4n;

export interface ProcessHealth {
  /** The State line's letter: R, S, D, T, t, Z, X; undefined when the process is gone. */
  state: string | undefined;
  tracerPid: number;
  sigPnd: bigint;
  shdPnd: bigint;
}

/** Parses /proc/PID/status. */
export function parseProcStatus(text: string): ProcessHealth {
  const field = (name: string): string | undefined => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
  return {
    state: field('State')?.[0],
    tracerPid: Number(field('TracerPid') ?? 0),
    sigPnd: BigInt(`0x${field('SigPnd') ?? '0'}`),
    shdPnd: BigInt(`0x${field('ShdPnd') ?? '0'}`),
  };
}

/** What is wrong with a sandbox that should run untraced and unharmed; empty when nothing is. */
export function healthProblems(h: ProcessHealth): string[] {
  const problems: string[] = [];
  if (h.state === undefined) return ['the sandbox process is gone'];
  if (/[TtZX]/.test(h.state)) problems.push(`the sandbox is in state ${h.state}`);
  if (h.tracerPid !== 0) problems.push(`the sandbox is still traced by pid ${h.tracerPid}`);
  if (h.sigPnd & SIGTRAP_BIT) problems.push(`a SIGTRAP is pending on the main thread (SigPnd ${h.sigPnd.toString(16)})`);
  if (h.shdPnd & SIGTRAP_BIT) problems.push(`a SIGTRAP is pending on the process (ShdPnd ${h.shdPnd.toString(16)})`);
  return problems;
}

/** Delve's and our bridge's processes in a `ps -eo pid=,args=` listing. */
export function debuggerProcesses(psOutput: string): string[] {
  return psOutput
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /(^|\/|\s)dlv\s+(attach|exec|--)/.test(l) || l.includes('/dev/tcp/127.0.0.1/') || l.includes('bluepill-dlv'));
}

/** The `--root=` and container id of a `runsc-sandbox … boot … <id>` command line. */
export function sandboxIdentity(argv: string[]): { root: string; containerId: string } {
  const root = argv.find((a) => a.startsWith('--root='))?.slice('--root='.length);
  const containerId = argv[argv.length - 1];
  if (!root || !argv.includes('boot') || !containerId || containerId.startsWith('-')) {
    throw new Error(`not a runsc-sandbox boot command line: ${argv.join(' ')}`);
  }
  return { root, containerId };
}

/** The highest pid `runsc ps` lists (the workload's latest process). */
export function highestPid(runscPsOutput: string): number {
  let max = 0;
  for (const line of runscPsOutput.split('\n').slice(1)) {
    const pid = Number(line.trim().split(/\s+/)[1]);
    if (Number.isInteger(pid) && pid > max) max = pid;
  }
  return max;
}

/**
 * One of the runsc binaries, or why the tests that need it skip: not root on amd64 (runsc and the
 * KVM stand-in create namespaces), or no runsc build here.
 */
export async function runscOrReason(which: 'amd64' | 'arm64' | 'debianAmd64' | 'debianArm64'): Promise<{ binary: string } | { unavailable: string }> {
  if (!which.toLowerCase().endsWith('arm64') && process.getuid?.() !== 0) {
    return { unavailable: 'real runsc needs root (it creates namespaces), and so does the KVM stand-in' };
  }
  try {
    return { binary: (await runscBinaries())[which] };
  } catch (e) {
    if (!(e instanceof RunscUnavailableError)) throw e;
    return { unavailable: `real runsc unavailable: ${e.message}` };
  }
}
