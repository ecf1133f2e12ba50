// Starts a headless Delve on the target through a CommandRunner (this machine or SSH), and
// connects to it through a bridge that runs as Delve's own user (Delve's --only-same-user check
// rejects loopback connections from any other uid, e.g. an `ssh -L` forward to a root dlv).
//
// Delve runs under a tiny sh supervisor whose stdin is our ssh channel: when that closes (we
// stop, or the link drops), the supervisor sends Delve SIGINT, and a headless Delve that attached
// detaches on SIGINT, removing its breakpoints; SIGKILL follows only if it hangs. Before it starts
// Delve, the supervisor prints what /proc says of the target (command line, tracer) and waits for
// our "go": the checks of processCheck.ts cost no remote command of their own.
import { Duplex } from 'node:stream';
import { connect as netConnect } from 'node:net';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { dlvAttachArgv } from './dlvCommandLine';
import { isLoopback, parseListeningLine, type DelveListenAddress } from './listeningLine';
import { describeAttachFailure } from './localDelve';
import type { CommandRunner } from '../transport/commandRunner';
import { SshError, describeSshFailure } from '../transport/sshErrors';
import type { ProcessFacts } from '../transport/processCheck';
import { argvFromCmdline } from '../transport/sandboxProcess';
import { strippedMessage } from './strippedMessage';

export type DelveStartFailureKind =
  | 'no-dlv'
  | 'sudo-password'
  | 'no-sudo'
  | 'attach-refused'
  | 'stripped-binary'
  | 'refused'
  | 'not-loopback'
  | 'timeout'
  | 'ssh'
  | 'other';

export class DelveLaunchError extends Error {
  constructor(
    readonly kind: DelveStartFailureKind,
    message: string,
    readonly output: string,
  ) {
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
  /** Decides, from the target's /proc facts, whether Delve may attach (an error) and what to warn of. */
  judge?: (facts: ProcessFacts) => { error?: string; warning?: string };
  /** Told the judge's warning. */
  onWarning?: (message: string) => void;
}

export interface LaunchedDelve {
  readonly address: DelveListenAddress;
  /** Delve's pid on the target (for diagnostics and tests). */
  readonly dlvPid: number;
  output(): string;
  exited(): boolean;
  onExit(listener: (output: string) => void): void;
  /** A fresh stream to Delve's JSON-RPC server, through a bridge running as Delve's user. */
  connect(): Promise<Duplex>;
  /** Ends the supervisor (Delve gets SIGINT, detaches), waits, and ends every bridge. */
  stop(): Promise<void>;
}

// $1 = the target pid, $2.. = dlv argv. Prints the target's facts, waits for "go", starts Delve,
// prints its pid, relays its output, ends it when our stdin closes.
const SUPERVISOR = [
  't=$1; shift',
  'echo bluepill-facts-begin',
  `echo "bluepill-cmdline $(od -An -v -tx1 "/proc/$t/cmdline" 2>/dev/null | tr -d ' \\n')"`,
  'tr=$(sed -n "s/^TracerPid:[[:space:]]*//p" "/proc/$t/status" 2>/dev/null)',
  'echo "bluepill-tracer ${tr:-0} $(cat "/proc/${tr:-0}/comm" 2>/dev/null)"',
  'echo bluepill-facts-end',
  'read -r go && [ "$go" = go ] || exit 0',
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

/** Maps the output of a failed `[sudo -n] dlv version` to what the user should do. */
export function describeDlvCheckFailure(code: number | null, output: string, dlvPath: string, where: string, sudo: boolean): DelveLaunchError {
  if (/a password is required|a terminal is required|no tty present/i.test(output)) {
    return new DelveLaunchError(
      'sudo-password',
      `sudo on ${where} asks for a password, and the adapter runs "sudo -n" (it cannot type one). Allow passwordless sudo for this user, e.g. a line "<user> ALL=(root) NOPASSWD: ALL" (or limited to dlv, sh, bash, cat and kill) in /etc/sudoers.d/bluepill edited with visudo, or set "sudo": false if your user may ptrace the sandbox.`,
      output,
    );
  }
  if (/is not in the sudoers file|not allowed to execute|may not run sudo/i.test(output)) {
    return new DelveLaunchError(
      'sudo-password',
      `sudo on ${where} refuses this user (${output.trim().split('\n')[0]}). Add a NOPASSWD sudoers rule for dlv (and sh, bash) in /etc/sudoers.d/, or set "sudo": false.`,
      output,
    );
  }
  if (sudo && /sudo: (command )?not found|sudo: No such file/i.test(output) && !output.includes(dlvPath)) {
    return new DelveLaunchError(
      'no-sudo',
      `sudo is not installed on ${where}. Install it, or set "sudo": false and run as a user that may ptrace the sandbox.`,
      output,
    );
  }
  if (code === 127 || /not found|No such file or directory|command not found/i.test(output)) {
    return new DelveLaunchError(
      'no-dlv',
      `Delve ("${dlvPath}") was not found on ${where}. Install it there (apt install delve, or go install github.com/go-delve/delve/cmd/dlv@latest) or set "dlvPath" to its full path.`,
      output,
    );
  }
  return new DelveLaunchError('other', `"${dlvPath} version" failed on ${where} (exit ${code}): ${output.trim().split('\n').slice(-2).join(' | ')}`, output);
}

/** "Version: 1.20.2" → "1.20.2". */
export function parseDlvVersion(output: string): string | undefined {
  return /Version:\s*v?(\d+\.\d+\.\d+)/.exec(output)?.[1];
}

/** Why Delve exited during start-up, from what it printed. */
export function describeLaunchExit(output: string, pid: number, where: string): DelveLaunchError {
  const own = output
    .split('\n')
    .filter((l) => !l.startsWith('bluepill-dlv-'))
    .join('\n');
  // Delve < 1.21 on a stripped binary, when its headers could not be read before the start.
  if (/could not open debug info/.test(own)) {
    const text = strippedMessage({ binaryPath: `/proc/${pid}/exe`, hasSymtab: false, delveVersion: undefined, dlvPath: 'dlv', where }).replace(
      'Nothing was started.',
      'Delve exited.',
    );
    return new DelveLaunchError('stripped-binary', text, output);
  }
  const refused = /could not attach|operation not permitted|no such process/i.test(own);
  return new DelveLaunchError(refused ? 'attach-refused' : 'other', describeAttachFailure(own, pid).replace(/^Delve/, `Delve on ${where}`), output);
}

/**
 * `[sudo -n] dlv version` on the target: Delve's version, or an error that says what to do (no
 * Delve, sudo wants a password…). Cheap enough to run alongside the other checks before attach.
 */
export async function checkDelve(runner: CommandRunner, dlvPath: string, sudo: boolean): Promise<string> {
  const check = await runner.run([dlvPath, 'version'], { timeoutMs: 30_000, asRoot: sudo });
  const version = check.code === 0 ? parseDlvVersion(check.stdout) : undefined;
  if (!version) throw describeDlvCheckFailure(check.code, check.stdout + check.stderr, dlvPath, runner.where, sudo);
  return version;
}

export async function launchDelve(runner: CommandRunner, options: DelveLaunchOptions): Promise<LaunchedDelve> {
  const argv = [
    'sh',
    '-c',
    SUPERVISOR,
    'sh',
    String(options.pid),
    options.dlvPath,
    ...dlvAttachArgv({ pid: options.pid, listen: 'tcp', extraFlags: options.dlvFlags }),
  ];
  const supervisor = runner.spawn(argv, { asRoot: options.sudo });
  const bridges = new Set<ChildProcessWithoutNullStreams>();
  let output = '';
  let stderr = '';
  let exited = false;
  const exitListeners: Array<(output: string) => void> = [];
  const closed = new Promise<void>((resolve) =>
    supervisor.once('close', () => {
      exited = true;
      for (const b of bridges) b.kill('SIGKILL');
      for (const l of exitListeners.splice(0)) l(output);
      resolve();
    }),
  );

  const starting = new Promise<{ address: DelveListenAddress; dlvPid: number }>((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      supervisor.stdin.end();
      reject(
        new DelveLaunchError(
          'timeout',
          `Delve on ${runner.where} did not report its listening address within ${timeoutMs} ms. Its output: ${output.trim().slice(-400) || 'none'}`,
          output,
        ),
      );
    }, timeoutMs);
    let judged = false;
    const check = (): void => {
      if (!judged && output.includes('bluepill-facts-end\n')) {
        judged = true;
        const facts = parseSupervisorFacts(options.pid, output);
        const verdict =
          facts.argv.length === 0
            ? { error: `No process ${options.pid} on ${runner.where}: set "processId" to the runsc-sandbox … boot process, or pick it.` }
            : (options.judge?.(facts) ?? {});
        if (verdict.error) {
          clearTimeout(timer);
          supervisor.stdin.end('stop\n');
          reject(new DelveLaunchError('refused', verdict.error, output));
          return;
        }
        if (verdict.warning) options.onWarning?.(verdict.warning);
        supervisor.stdin.write('go\n');
      }
      const pid = /bluepill-dlv-pid (\d+)/.exec(output);
      const address = parseListeningLine(output);
      if (!pid || !address) return;
      clearTimeout(timer);
      if (!isLoopback(address)) {
        supervisor.stdin.end();
        reject(
          new DelveLaunchError(
            'not-loopback',
            `Delve on ${runner.where} listens on ${JSON.stringify(address)}, which is not loopback; refusing to use it.`,
            output,
          ),
        );
        return;
      }
      resolve({ address, dlvPid: Number(pid[1]) });
    };
    supervisor.stdout.setEncoding('utf8').on('data', (d: string) => {
      output += d;
      check();
    });
    supervisor.stderr.setEncoding('utf8').on('data', (d: string) => {
      output += d;
      stderr += d;
    });
    supervisor.once('error', (err) => {
      clearTimeout(timer);
      reject(new DelveLaunchError('other', `Could not start Delve on ${runner.where}: ${err.message}`, output));
    });
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

  let started: { address: DelveListenAddress; dlvPid: number };
  try {
    started = await starting;
  } catch (launchError) {
    // No check runs before the launch (over a slow link, with a second dlv competing for the
    // target's CPUs, it costs seconds; the version comes from GetVersion once connected). A failed
    // launch runs it now: its message says what to do (no Delve, sudo wants a password), Delve's
    // own output after a failed exec does not.
    if (!(launchError instanceof DelveLaunchError && (launchError.kind === 'attach-refused' || launchError.kind === 'refused'))) {
      await checkDelve(runner, options.dlvPath, options.sudo);
    }
    throw launchError;
  }
  const { address, dlvPid } = started;
  return {
    address,
    dlvPid,
    output: () => output,
    exited: () => exited,
    onExit: (listener) => {
      if (exited) listener(output);
      else exitListeners.push(listener);
    },
    connect: async () => {
      if (address.kind !== 'tcp') throw new Error('unix sockets are not used by this launcher');
      if (options.directTcp) {
        const sock = netConnect(address.port, address.host);
        await new Promise<void>((resolve, reject) => {
          sock.once('connect', resolve);
          sock.once('error', reject);
        });
        return sock;
      }
      const bridge = runner.spawn(['bash', '-c', BRIDGE, 'bash', String(address.port)], { asRoot: options.sudo });
      bridges.add(bridge);
      let bridgeErr = '';
      bridge.stderr.setEncoding('utf8').on('data', (d: string) => {
        bridgeErr += d;
      });
      bridge.once('close', () => bridges.delete(bridge));
      await new Promise<void>((resolve, reject) => {
        bridge.once('spawn', resolve);
        bridge.once('error', (err) => reject(new Error(`Could not start the bridge to Delve on ${runner.where}: ${err.message}`)));
      });
      const stream = Duplex.from({ readable: bridge.stdout, writable: bridge.stdin });
      // The stream's close means the bridge is gone; give its stderr to whoever reads the error.
      stream.once('close', () => {
        if (bridgeErr && !exited) output += `\n[bridge] ${bridgeErr}`;
        bridge.kill('SIGKILL');
      });
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

/** The facts block the supervisor prints before it starts Delve. */
export function parseSupervisorFacts(pid: number, output: string): ProcessFacts {
  const hex = /^bluepill-cmdline ([0-9a-f]*)$/m.exec(output)?.[1] ?? '';
  const tracer = /^bluepill-tracer (\d+) ?(.*)$/m.exec(output);
  return { pid, argv: argvFromCmdline(Buffer.from(hex, 'hex')), tracerPid: Number(tracer?.[1] ?? 0), tracerName: tracer?.[2]?.trim() || undefined };
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export { SshError };
