// Starts a headless Delve on the target through a CommandRunner (this machine or SSH), and
// connects to it through a bridge that runs as Delve's own user (Delve's --only-same-user check
// rejects loopback connections from any other uid, e.g. an `ssh -L` forward to a root dlv).
//
// Delve runs under a tiny sh supervisor whose stdin is our ssh channel: when that closes (we
// stop, or the link drops), the supervisor sends Delve SIGINT, and a headless Delve that attached
// detaches on SIGINT, removing its breakpoints; SIGKILL follows only if it hangs.
import { Duplex } from 'node:stream';
import { connect as netConnect } from 'node:net';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { dlvAttachArgv } from './dlvCommandLine';
import { isLoopback, parseListeningLine, type DelveListenAddress } from './listeningLine';
import { describeAttachFailure } from './localDelve';
import type { CommandRunner } from './commandRunner';
import { SshError, describeSshFailure } from './sshErrors';

export type DelveStartFailureKind = 'no-dlv' | 'sudo-password' | 'no-sudo' | 'attach-refused' | 'not-loopback' | 'timeout' | 'ssh' | 'other';

export class DelveLaunchError extends Error {
  constructor(readonly kind: DelveStartFailureKind, message: string, readonly output: string) {
    super(message);
    this.name = 'DelveLaunchError';
  }
}

export interface DelveLaunchOptions {
  pid: number;
  dlvPath: string;
  dlvFlags: readonly string[];
  sudo: boolean;
  startTimeoutMs?: number;
  /** Connect straight to Delve's TCP port (only when Delve runs here as our own user). */
  directTcp?: boolean;
}

export interface LaunchedDelve {
  readonly address: DelveListenAddress;
  /** Delve's pid on the target (for diagnostics and tests). */
  readonly dlvPid: number;
  readonly version: string;
  output(): string;
  exited(): boolean;
  onExit(listener: (output: string) => void): void;
  /** A fresh stream to Delve's JSON-RPC server, through a bridge running as Delve's user. */
  connect(): Promise<Duplex>;
  /** Ends the supervisor (Delve gets SIGINT, detaches), waits, and ends every bridge. */
  stop(): Promise<void>;
}

// $1.. = dlv argv. Prints Delve's pid, relays its output, ends it when our stdin closes.
const SUPERVISOR = [
  'exec 3<&0',
  '"$@" </dev/null &',
  'p=$!',
  'echo "bluepill-dlv-pid $p"',
  '( while read -r _; do :; done',
  '  kill -INT "$p" 2>/dev/null',
  '  i=0; while kill -0 "$p" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i+1)); done',
  '  kill -KILL "$p" 2>/dev/null ) <&3 >/dev/null 2>&1 &',
  'w=$!',
  'exec 3<&-',
  'wait "$p"',
  'echo "bluepill-dlv-exit $?"',
  'kill "$w" 2>/dev/null',
].join('\n');

// $1 = port. Joins our stdio to Delve's loopback port; ends when Delve closes the connection.
const BRIDGE = 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1; exec 4<&0; cat <&4 >&3 2>/dev/null & exec cat <&3 4<&-';

function sudoPrefix(sudo: boolean): string[] {
  return sudo ? ['sudo', '-n', '--'] : [];
}

/** Maps the output of a failed `[sudo -n] dlv version` to what the user should do. */
export function describeDlvCheckFailure(code: number | null, output: string, dlvPath: string, where: string, sudo: boolean): DelveLaunchError {
  if (/a password is required|a terminal is required|no tty present/i.test(output)) {
    return new DelveLaunchError('sudo-password', `sudo on ${where} asks for a password, and the adapter runs "sudo -n" (it cannot type one). Allow passwordless sudo for this user, e.g. a line "<user> ALL=(root) NOPASSWD: ALL" (or limited to dlv, sh, bash, cat and kill) in /etc/sudoers.d/bluepill edited with visudo, or set "sudo": false if your user may ptrace the sandbox.`, output);
  }
  if (/is not in the sudoers file|not allowed to execute|may not run sudo/i.test(output)) {
    return new DelveLaunchError('sudo-password', `sudo on ${where} refuses this user (${output.trim().split('\n')[0]}). Add a NOPASSWD sudoers rule for dlv (and sh, bash) in /etc/sudoers.d/, or set "sudo": false.`, output);
  }
  if (sudo && /sudo: (command )?not found|sudo: No such file/i.test(output) && !output.includes(dlvPath)) {
    return new DelveLaunchError('no-sudo', `sudo is not installed on ${where}. Install it, or set "sudo": false and run as a user that may ptrace the sandbox.`, output);
  }
  if (code === 127 || /not found|No such file or directory|command not found/i.test(output)) {
    return new DelveLaunchError('no-dlv', `Delve ("${dlvPath}") was not found on ${where}. Install it there (apt install delve, or go install github.com/go-delve/delve/cmd/dlv@latest) or set "dlvPath" to its full path.`, output);
  }
  return new DelveLaunchError('other', `"${dlvPath} version" failed on ${where} (exit ${code}): ${output.trim().split('\n').slice(-2).join(' | ')}`, output);
}

/** "Version: 1.20.2" → "1.20.2". */
export function parseDlvVersion(output: string): string | undefined {
  return /Version:\s*v?(\d+\.\d+\.\d+)/.exec(output)?.[1];
}

/** Why Delve exited during start-up, from what it printed. */
export function describeLaunchExit(output: string, pid: number, where: string): DelveLaunchError {
  const own = output.split('\n').filter((l) => !l.startsWith('bluepill-dlv-')).join('\n');
  const refused = /could not attach|operation not permitted|no such process/i.test(own);
  return new DelveLaunchError(refused ? 'attach-refused' : 'other', describeAttachFailure(own, pid).replace(/^Delve/, `Delve on ${where}`), output);
}

export async function launchDelve(runner: CommandRunner, options: DelveLaunchOptions): Promise<LaunchedDelve> {
  const sudo = sudoPrefix(options.sudo);
  const check = await runner.run([...sudo, options.dlvPath, 'version'], { timeoutMs: 30_000 });
  const version = check.code === 0 ? parseDlvVersion(check.stdout) : undefined;
  if (!version) throw describeDlvCheckFailure(check.code, check.stdout + check.stderr, options.dlvPath, runner.where, options.sudo);

  const argv = [...sudo, 'sh', '-c', SUPERVISOR, 'sh', options.dlvPath, ...dlvAttachArgv({ pid: options.pid, listen: 'tcp', extraFlags: options.dlvFlags })];
  const supervisor = runner.spawn(argv);
  const bridges = new Set<ChildProcessWithoutNullStreams>();
  let output = '';
  let stderr = '';
  let exited = false;
  const exitListeners: Array<(output: string) => void> = [];
  const closed = new Promise<void>((resolve) => supervisor.once('close', () => {
    exited = true;
    for (const b of bridges) b.kill('SIGKILL');
    for (const l of exitListeners.splice(0)) l(output);
    resolve();
  }));

  const started = await new Promise<{ address: DelveListenAddress; dlvPid: number }>((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      supervisor.stdin.end();
      reject(new DelveLaunchError('timeout', `Delve on ${runner.where} did not report its listening address within ${timeoutMs} ms. Its output: ${output.trim().slice(-400) || 'none'}`, output));
    }, timeoutMs);
    const check = (): void => {
      const pid = /bluepill-dlv-pid (\d+)/.exec(output);
      const address = parseListeningLine(output);
      if (!pid || !address) return;
      clearTimeout(timer);
      if (!isLoopback(address)) {
        supervisor.stdin.end();
        reject(new DelveLaunchError('not-loopback', `Delve on ${runner.where} listens on ${JSON.stringify(address)}, which is not loopback; refusing to use it.`, output));
        return;
      }
      resolve({ address, dlvPid: Number(pid[1]) });
    };
    supervisor.stdout.setEncoding('utf8').on('data', (d: string) => { output += d; check(); });
    supervisor.stderr.setEncoding('utf8').on('data', (d: string) => { output += d; stderr += d; });
    supervisor.once('error', (err) => { clearTimeout(timer); reject(new DelveLaunchError('other', `Could not start Delve on ${runner.where}: ${err.message}`, output)); });
    supervisor.once('close', (code) => {
      clearTimeout(timer);
      if (!runner.isLocal && code === 255 && !/bluepill-dlv-pid/.test(output)) {
        const e = describeSshFailure(stderr, runner.where);
        reject(new DelveLaunchError('ssh', e.message, output));
        return;
      }
      reject(describeLaunchExit(output, options.pid, runner.where));
    });
  });

  const { address, dlvPid } = started;
  return {
    address,
    dlvPid,
    version,
    output: () => output,
    exited: () => exited,
    onExit: (listener) => { if (exited) listener(output); else exitListeners.push(listener); },
    connect: async () => {
      if (address.kind !== 'tcp') throw new Error('unix sockets are not used by this launcher');
      if (options.directTcp) {
        const sock = netConnect(address.port, address.host);
        await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
        return sock;
      }
      const bridge = runner.spawn([...sudo, 'bash', '-c', BRIDGE, 'bash', String(address.port)]);
      bridges.add(bridge);
      let bridgeErr = '';
      bridge.stderr.setEncoding('utf8').on('data', (d: string) => { bridgeErr += d; });
      bridge.once('close', () => bridges.delete(bridge));
      await new Promise<void>((resolve, reject) => {
        bridge.once('spawn', resolve);
        bridge.once('error', (err) => reject(new Error(`Could not start the bridge to Delve on ${runner.where}: ${err.message}`)));
      });
      const stream = Duplex.from({ readable: bridge.stdout, writable: bridge.stdin });
      // The stream's close means the bridge is gone; give its stderr to whoever reads the error.
      stream.once('close', () => { if (bridgeErr && !exited) output += `\n[bridge] ${bridgeErr}`; bridge.kill('SIGKILL'); });
      return stream;
    },
    stop: async () => {
      supervisor.stdin.end();
      await Promise.race([closed, delay(15_000)]);
      if (!exited) supervisor.kill('SIGKILL');
      for (const b of bridges) b.kill('SIGKILL');
      await Promise.race([closed, delay(2_000)]);
    },
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export { SshError };
