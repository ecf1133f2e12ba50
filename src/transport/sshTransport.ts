// The system OpenSSH client as a CommandRunner. One ControlMaster connection (control socket in
// a private 0700 temp dir) carries every command of a session, so the user authenticates once.
// BatchMode: ssh never prompts; host-key checking stays whatever the user's config says.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collect, withRoot, type CommandResult, type CommandRunner, type RunOptions, type SpawnOptions } from './commandRunner';
import { describeSshFailure } from './sshErrors';
import { shellQuoteHomePath } from './shellQuote';

export interface SshOptions {
  destination: string;
  /** ssh -F: a client config file instead of ~/.ssh/config. */
  configFile?: string;
  sshPath?: string;
  connectTimeoutSeconds?: number;
}

export class SshRunner implements CommandRunner {
  readonly isLocal = false;
  readonly where: string;
  private readonly controlDir: string;
  private closed = false;

  private constructor(private readonly options: SshOptions) {
    this.where = options.destination;
    this.controlDir = mkdtempSync(join(tmpdir(), 'bluepill-ssh-'));
    chmodSync(this.controlDir, 0o700);
  }

  /** Connects (authenticates once) and returns a runner over that connection. */
  static async open(options: SshOptions): Promise<SshRunner> {
    const runner = new SshRunner(options);
    try {
      const r = await collect(runner.sshProcess(['exit', '0'].join(' ')), runner.where, 'ssh', 60_000);
      if (r.code !== 0) throw describeSshFailure(r.stderr, options.destination);
    } catch (err) {
      await runner.close();
      throw err;
    }
    return runner;
  }

  get controlPath(): string {
    return join(this.controlDir, 'cm');
  }

  /** Options every ssh invocation carries; the destination always follows "--". */
  baseArgs(): string[] {
    const args: string[] = [];
    if (this.options.configFile) args.push('-F', this.options.configFile);
    args.push(
      '-o',
      'BatchMode=yes',
      '-o',
      'ControlMaster=auto',
      '-o',
      `ControlPath=${this.controlPath}`,
      // Only for a crashed adapter: the master leaves this long after its last client.
      '-o',
      'ControlPersist=30',
      '-o',
      `ConnectTimeout=${this.options.connectTimeoutSeconds ?? 15}`,
      '-o',
      'ServerAliveInterval=5',
      '-o',
      'ServerAliveCountMax=3',
      // A RemoteCommand in the user's config would replace ours; errors must reach stderr.
      '-o',
      'RemoteCommand=none',
      '-o',
      'LogLevel=ERROR',
      '-T',
    );
    return args;
  }

  private sshProcess(remoteCommand: string): ChildProcessWithoutNullStreams {
    if (this.closed) throw new Error(`the SSH connection to ${this.where} is closed`);
    return spawn(this.options.sshPath ?? 'ssh', [...this.baseArgs(), '--', this.options.destination, remoteCommand], { stdio: 'pipe' });
  }

  spawn(argv: readonly string[], options: SpawnOptions = {}): ChildProcessWithoutNullStreams {
    return this.sshProcess(withRoot(argv, options.asRoot).map(shellQuoteHomePath).join(' '));
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const r = await collect(this.spawn(argv, options), this.where, argv[0], options.timeoutMs ?? 30_000);
    // 255 is ssh's own failure (the remote command's 255 is rare); map it to a clear message.
    if (r.code === 255 && /^(ssh|mux_client|Control socket|kex_|Connection|Host key|Permission denied|Could not resolve)/m.test(r.stderr)) {
      throw describeSshFailure(r.stderr, this.where);
    }
    return r;
  }

  /** The master's pid ("ssh -O check"), or undefined when none runs. */
  async masterPid(): Promise<number | undefined> {
    const child = spawn(this.options.sshPath ?? 'ssh', [...this.baseArgs(), '-O', 'check', '--', this.options.destination], { stdio: 'pipe' });
    const r = await collect(child, this.where, 'ssh -O check', 10_000);
    const m = /pid=(\d+)/.exec(r.stderr + r.stdout);
    return m ? Number(m[1]) : undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      const child = spawn(this.options.sshPath ?? 'ssh', [...this.baseArgs(), '-O', 'exit', '--', this.options.destination], { stdio: 'pipe' });
      await collect(child, this.where, 'ssh -O exit', 10_000).catch(() => undefined);
    } finally {
      this.closed = true;
      rmSync(this.controlDir, { recursive: true, force: true });
    }
  }
}
