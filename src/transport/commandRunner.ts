// Runs programs on the target, given as argv (never as a shell string). The local runner spawns
// them here; the SSH runner quotes every word for the remote login shell. Everything above this
// (sandbox listing, starting Delve, the bridge) is written once against this interface.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  /** Run as root through `sudo -n --` (never prompts: a password request fails the command). */
  asRoot?: boolean;
}

export interface RunOptions extends SpawnOptions {
  timeoutMs?: number;
}

/** The one spelling of "as root" on a target: non-interactive sudo, argv unchanged after `--`. */
export function withRoot(argv: readonly string[], asRoot: boolean | undefined): string[] {
  return asRoot ? ['sudo', '-n', '--', ...argv] : [...argv];
}

export interface CommandRunner {
  /** "this machine" or the SSH destination, for messages. */
  readonly where: string;
  readonly isLocal: boolean;
  /** Starts argv on the target with piped stdio. A leading "~/" in a word means the login user's home. */
  spawn(argv: readonly string[], options?: SpawnOptions): ChildProcessWithoutNullStreams;
  /** Runs argv to completion and collects its output. */
  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /** Releases what the runner holds (the SSH control connection). */
  close(): Promise<void>;
}

export class CommandTimeoutError extends Error {
  constructor(
    readonly where: string,
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`${what} on ${where} did not finish within ${timeoutMs} ms`);
    this.name = 'CommandTimeoutError';
  }
}

/** Collects a spawned child's output; kills it after timeoutMs. */
export function collect(child: ChildProcessWithoutNullStreams, where: string, what: string, timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.stdin.end();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new CommandTimeoutError(where, what, timeoutMs));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
