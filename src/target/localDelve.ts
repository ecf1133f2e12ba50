// Starts a headless Delve on this machine attached to a process, and connects to it.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { dlvAttachArgv } from './dlvCommandLine';
import { isLoopback, parseListeningLine, type DelveListenAddress } from './listeningLine';
import { isAlive, processStateLetter } from '../transport/processState';

export class DelveStartError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
    this.name = 'DelveStartError';
  }
}

export interface LocalDelveOptions {
  pid: number;
  dlvPath?: string;
  extraFlags?: readonly string[];
  /** How long to wait for "API server listening at:". */
  startTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface RunningDelve {
  readonly address: DelveListenAddress;
  readonly process: ChildProcess;
  readonly targetPid: number;
  /** Everything Delve printed so far (stdout and stderr). */
  output(): string;
  /** Opens a new JSON-RPC connection (Delve runs with --accept-multiclient). */
  connect(): Promise<Socket>;
  exited(): boolean;
  /**
   * Makes sure Delve is gone and the target is not left stopped. Call after Detach; if Delve is
   * still there it gets SIGINT (a headless attach detaches without killing), then SIGKILL.
   */
  stop(): Promise<void>;
}

export function describeAttachFailure(output: string, pid: number): string {
  if (/operation not permitted/i.test(output)) {
    return `Delve could not attach to process ${pid}: operation not permitted. Another debugger may be attached, or ptrace is restricted (kernel.yama.ptrace_scope); run Delve as root ("sudo": true) or as the sandbox's user.`;
  }
  if (/no such process/i.test(output)) return `Delve could not attach: process ${pid} does not exist (it may have exited).`;
  const last = output.trim().split('\n').slice(-3).join(' | ');
  return `Delve exited before it was ready: ${last || 'no output'}`;
}

export function startLocalDelve(options: LocalDelveOptions): Promise<RunningDelve> {
  const argv = dlvAttachArgv({ pid: options.pid, listen: 'tcp', extraFlags: options.extraFlags });
  const dlvPath = options.dlvPath ?? 'dlv';
  const child = spawn(dlvPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
  let output = '';
  let exited = false;
  const exitPromise = new Promise<void>((resolve) =>
    child.once('close', () => {
      exited = true;
      resolve();
    }),
  );
  return new Promise<RunningDelve>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new DelveStartError(`Delve did not report its listening address within ${options.startTimeoutMs ?? 30_000} ms`, output));
    }, options.startTimeoutMs ?? 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const address = parseListeningLine(output);
      if (!address) return;
      clearTimeout(timer);
      if (!isLoopback(address)) {
        child.kill('SIGINT');
        reject(new DelveStartError(`Delve listens on ${JSON.stringify(address)}, which is not loopback; refusing to use it`, output));
        return;
      }
      resolve(running(address));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      const enoent = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new DelveStartError(
          enoent ? `Delve ("${dlvPath}") was not found on this machine. Install Delve or set "dlvPath".` : `Could not start Delve: ${err.message}`,
          output,
        ),
      );
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (!parseListeningLine(output)) reject(new DelveStartError(describeAttachFailure(output, options.pid) + ` (exit code ${code})`, output));
    });
  });

  function running(address: DelveListenAddress): RunningDelve {
    return {
      address,
      process: child,
      targetPid: options.pid,
      output: () => output,
      exited: () => exited,
      connect: () =>
        new Promise<Socket>((resolve, reject) => {
          const sock = address.kind === 'tcp' ? connect(address.port, address.host) : connect(address.path);
          sock.once('connect', () => {
            sock.off('error', reject);
            resolve(sock);
          });
          sock.once('error', reject);
        }),
      stop: async () => {
        if (!exited) {
          child.kill('SIGINT');
          await Promise.race([exitPromise, delay(5000)]);
        }
        if (!exited) {
          child.kill('SIGKILL');
          await Promise.race([exitPromise, delay(5000)]);
        }
        await ensureNotStopped(options.pid);
      },
    };
  }
}

/** A tracer that vanished can leave its tracee in group-stop; the sandbox must keep running. */
export async function ensureNotStopped(pid: number): Promise<void> {
  for (let i = 0; i < 10 && isAlive(pid); i++) {
    const state = await processStateLetter(pid);
    if (state !== 'T' && state !== 't') return;
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      return;
    }
    await delay(50);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
