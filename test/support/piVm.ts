// The emulated Raspberry Pi (scripts/pi-vm) for arm64 e2e tests: builds the image if it is not
// cached, boots a throw-away overlay of it with SSH on 127.0.0.1, and hands out what a client
// needs (port, key, pinned known_hosts, an ssh_config with a Host alias). Each VM gets its own
// state dir, so tests never touch the cached image or each other's VMs.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shellQuote } from '../../src/transport/shellQuote';
import { repoRoot } from './repoRoot';
import { waitFor } from './waitFor';

export const PI_VM_SCRIPT = join(repoRoot, 'scripts', 'pi-vm');
/** scripts/pi-vm exits with this when the VM cannot be had on this machine (not a failure). */
export const PI_VM_UNAVAILABLE_EXIT = 77;
/** Setting this to 0 skips the VM suites (a cold image build takes several minutes). */
export const PI_VM_DISABLE_ENV = 'BLUEPILL_PI_VM';

export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SshOptions {
  /** Bytes for the remote command's stdin. */
  input?: string | Buffer;
  /** Kill ssh after this long (default 120 s); code is then -1. */
  timeoutMs?: number;
}

export interface PiVm {
  port: number;
  /** QEMU's pid on this host. */
  pid: number;
  stateDir: string;
  keyPath: string;
  knownHostsPath: string;
  /** For `ssh -F`: defines `hostAlias` (user pi, key, pinned host key, BatchMode). */
  sshConfigPath: string;
  hostAlias: string;
  /** Seconds from QEMU start to the first SSH answer, as the script measured it. */
  bootSeconds: number;
  /** Runs argv as pi (each element shell-quoted, so it arrives as one argument). */
  ssh(cmd: string[], opts?: SshOptions): Promise<SshResult>;
  /** Copies a local file to the VM, keeping its permission bits; remote paths are pi's. */
  copyIn(localPath: string, remotePath: string): Promise<void>;
  /** Powers the VM off (SIGTERM/SIGKILL fallback) and removes its state dir. */
  stop(): Promise<void>;
}

/** The script could run but said this machine cannot have the VM (its exit code 77). */
export class PiVmUnavailableError extends Error {}

/** Why the VM cannot run here, or undefined when it can (checked without building anything). */
export function piVmUnavailableReason(): string | undefined {
  if (process.env[PI_VM_DISABLE_ENV] === '0') return `${PI_VM_DISABLE_ENV}=0`;
  if (process.platform !== 'linux') return 'the emulated Pi needs a Linux host';
  if (!existsSync(PI_VM_SCRIPT)) return `${PI_VM_SCRIPT} is missing`;
  const status = spawnSync('bash', [PI_VM_SCRIPT, 'status', '--state', join(tmpdir(), 'bluepill-pi-vm-probe')], {
    encoding: 'utf8',
  });
  const cached = /^PI_VM_IMAGE_CACHED=1$/m.test(status.stdout ?? '');
  const root = process.getuid?.() === 0;
  if (!root && !cached) {
    return 'not root: building the Pi image needs debootstrap, chroot and mkfs (run the tests as root once)';
  }
  if (!root && !onPath('qemu-system-aarch64')) {
    return 'qemu-system-aarch64 is not installed and installing it needs root (apt install qemu-system-arm qemu-utils)';
  }
  if (root && !onPath('qemu-system-aarch64') && !onPath('apt-get')) {
    return 'qemu-system-aarch64 is not installed and there is no apt-get to install it';
  }
  return undefined;
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, cmd)));
}

interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runScript(args: string[]): Promise<ScriptResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', [PI_VM_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (stderr.length > 1 << 20) stderr = stderr.slice(-(1 << 19));
      // The script's own progress lines (not debootstrap's) show what a slow step is doing.
      for (const line of d.split('\n')) if (line.startsWith('pi-vm: ')) process.stderr.write(`${line}\n`);
    });
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
  });
}

function scriptFailure(what: string, r: ScriptResult): Error {
  const reason = /^pi-vm: unavailable: (.*)$/m.exec(r.stderr)?.[1];
  if (r.code === PI_VM_UNAVAILABLE_EXIT) return new PiVmUnavailableError(reason ?? `pi-vm ${what}: unavailable`);
  return new Error(`pi-vm ${what} failed (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
}

function parseLines(text: string): Map<string, string> {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(PI_VM_\w+)=(.*)$/.exec(line);
    if (m) kv.set(m[1], m[2]);
  }
  return kv;
}

const livePids = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A crashed test must not leave QEMU behind (it is daemonized, so not our child).
  process.on('exit', () => {
    for (const pid of livePids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie is gone for our purposes.
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export interface StartPiVmOptions {
  /** Host port for the VM's SSH (default: a free one). */
  port?: number;
  /** Emulated EL2: the guest gets a working /dev/kvm (for real runsc --platform=kvm) and 3 GiB. */
  kvm?: boolean;
  /** A VM of its own even when a shared one is offered (PI_VM_REUSE_ENV): for tests of the VM itself. */
  own?: boolean;
}

/**
 * A running VM (`scripts/pi-vm start --kvm --state DIR`) that the tests use instead of booting their
 * own: the arm64 suite boots one for all its files (scripts/test.mjs), and a developer can start
 * one by hand. Tests leave it running; whoever started it stops it.
 */
export const PI_VM_REUSE_ENV = 'BLUEPILL_PI_VM_STATE';

/** Builds the image if needed (root only, minutes when cold) and boots a VM. */
export async function startPiVm(opts: StartPiVmOptions = {}): Promise<PiVm> {
  const reuse = opts.own ? undefined : process.env[PI_VM_REUSE_ENV];
  if (reuse) {
    const status = await runScript(['status', '--state', reuse]);
    if (status.code !== 0) throw scriptFailure(`status --state ${reuse}`, status);
    return vmFromLines(reuse, parseLines(status.stdout), status.stdout, false);
  }
  const build = await runScript(['build']);
  if (build.code !== 0) throw scriptFailure('build', build);

  const stateDir = mkdtempSync(join(tmpdir(), 'bluepill-pi-vm-'));
  const startArgs = ['start', '--state', stateDir];
  if (opts.port !== undefined) startArgs.push('--port', String(opts.port));
  if (opts.kvm) startArgs.push('--kvm');
  const started = await runScript(startArgs);
  const kv = parseLines(started.stdout);
  const pid = Number(kv.get('PI_VM_PID'));
  if (pid > 0) {
    installExitHook();
    livePids.add(pid);
  }
  if (started.code !== 0) {
    if (pid > 0) await runScript(['stop', '--state', stateDir]);
    rmSync(stateDir, { recursive: true, force: true });
    throw scriptFailure('start', started);
  }
  return vmFromLines(stateDir, kv, started.stdout, true);
}

function vmFromLines(stateDir: string, kv: Map<string, string>, text: string, owned: boolean): PiVm {
  const pid = Number(kv.get('PI_VM_PID'));
  const get = (k: string): string => {
    const v = kv.get(k);
    if (!v) throw new Error(`pi-vm printed no ${k}:\n${text}`);
    return v;
  };
  const sshConfigPath = get('PI_VM_SSH_CONFIG');
  const hostAlias = get('PI_VM_HOST');

  const ssh = (cmd: string[], sshOpts: SshOptions = {}): Promise<SshResult> =>
    new Promise((resolvePromise, reject) => {
      const child = spawn('ssh', ['-F', sshConfigPath, hostAlias, '--', ...cmd.map(shellQuote)], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, sshOpts.timeoutMs ?? 120_000);
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolvePromise({ code: timedOut ? -1 : (code ?? -1), stdout, stderr: timedOut ? `${stderr}\n(timed out)` : stderr });
      });
      child.stdin.on('error', () => undefined); // the remote may not read its stdin
      child.stdin.end(sshOpts.input ?? '');
    });

  let stopped: Promise<void> | undefined;
  return {
    port: Number(get('PI_VM_PORT')),
    pid,
    stateDir,
    keyPath: get('PI_VM_KEY'),
    knownHostsPath: get('PI_VM_KNOWN_HOSTS'),
    sshConfigPath,
    hostAlias,
    bootSeconds: Number(kv.get('PI_VM_BOOT_SECONDS') ?? NaN),
    ssh,
    async copyIn(localPath: string, remotePath: string): Promise<void> {
      // cat over ssh rather than scp: no sftp-server dependency, and the mode is kept.
      const mode = (statSync(localPath).mode & 0o7777).toString(8);
      const r = await ssh(['sh', '-c', `cat > ${shellQuote(remotePath)} && chmod ${mode} ${shellQuote(remotePath)}`], {
        input: readFileSync(localPath),
      });
      if (r.code !== 0) throw new Error(`copyIn ${localPath} -> ${remotePath} failed (${r.code}): ${r.stderr}`);
    },
    stop(): Promise<void> {
      if (!owned) return Promise.resolve();
      stopped ??= (async () => {
        const r = await runScript(['stop', '--state', stateDir]);
        if (!processAlive(pid)) livePids.delete(pid);
        rmSync(stateDir, { recursive: true, force: true });
        if (r.code !== 0) throw scriptFailure('stop', r);
      })();
      return stopped;
    },
  };
}

/** The QEMU processes on this host (pid → command line), for leak checks. */
export function qemuProcesses(): Map<number, string> {
  const out = new Map<number, string>();
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  for (const line of ps.split('\n')) {
    const m = /^\s*(\d+)\s+(.*qemu-system-aarch64.*)$/.exec(line);
    if (m) out.set(Number(m[1]), m[2]);
  }
  return out;
}

/**
 * Starts the VM, or says why it cannot run on this machine (a test file then skips its tests with
 * that reason). Any other failure to start is an error.
 */
export async function startPiVmOrReason(opts: StartPiVmOptions = {}): Promise<{ vm?: PiVm; unavailable?: string }> {
  const reason = piVmUnavailableReason();
  if (reason) return { unavailable: reason };
  try {
    return { vm: await startPiVm(opts) };
  } catch (err) {
    if (err instanceof PiVmUnavailableError) return { unavailable: err.message };
    throw err;
  }
}

/** Runs argv in the VM and returns its stdout; a non-zero exit throws with the command and stderr. */
export async function vmOutput(vm: PiVm, cmd: string[]): Promise<string> {
  const r = await vm.ssh(cmd);
  if (r.code !== 0) throw new Error(`${cmd.join(' ')}: exit ${r.code}\n${r.stderr}`);
  return r.stdout;
}

/** Polls a file in the VM until `re` matches it. */
export async function vmWaitForMatch(vm: PiVm, file: string, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  let last = { stdout: '', stderr: '' };
  return waitFor(
    () => `${re} in ${file}:\n${last.stdout}\n${last.stderr}`,
    async () => {
      last = await vm.ssh(['cat', file]);
      return re.exec(last.stdout) ?? undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
}
