// Real gVisor `runsc --platform=kvm` on an amd64 machine whose /dev/kvm cannot run gVisor's guest:
// the KVM stand-in (test/fixtures/kvm-standin) answers runsc's KVM ioctls through a seccomp user
// notification, so the sandbox's vCPU thread makes real bluepill round trips (CLI → SIGSEGV →
// kvm.sighandler → bluepillHandler → KVM_RUN → KVM_EXIT_HLT → rt_sigreturn → the same CLI), as
// fast as the stand-in's mode lets KVM_RUN return. The workload never runs; the sandbox stays up.
// See the fixture's README.md.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { debuggerProcesses, healthProblems, parseProcStatus } from './runsc';
import { repoRoot } from './repoRoot';
import { resolveToolchain } from './simulator';
import { StopWaiting, waitFor } from './waitFor';

export const kvmStandinSourceDir = join(repoRoot, 'test', 'fixtures', 'kvm-standin');

/** One vCPU in the stand-in's status file. */
export interface StandinVcpu {
  vm: number;
  id: number;
  /** The vCPU's fd number in the process that created it. */
  fd: number;
  /** The process that created it (the sandbox). */
  pid: number;
  /** The thread of its latest KVM_RUN (0 before the first). */
  tid: number;
  createdBy: number;
  /** KVM_RUNs answered, plus the one waiting. */
  runs: number;
  /** KVM_RUNs that returned with KVM_EXIT_HLT: equals gVisor's vCPU.guestExits. */
  exits: number;
  waiting: boolean;
  waitingMs: number;
  irqWindowExits: number;
  eintr: number;
  /** KVM_RUN notifications the kernel withdrew (signal, ptrace stop) and the thread restarted. */
  interruptions: number;
  /** -1 before the first exit. */
  lastExitMsAgo: number;
}

export interface StandinVm {
  id: number;
  fd: number;
  pid: number;
  memorySlots: number;
  tssAddr: number;
  vcpus: number;
}

/** The stand-in's JSON status file (rewritten at most every 100 ms while anything changes). */
export interface StandinStatus {
  supervisorPid: number;
  /** runsc (the supervisor's direct child). */
  childPid: number;
  device: string;
  mode: string;
  modeSource: 'flag' | 'file';
  /** How the filter was installed: 'tsync' or 'calling-thread'. */
  filter: string;
  vms: StandinVm[];
  vcpus: StandinVcpu[];
  totalExits: number;
  totalRuns: number;
  waiting: number;
  /** Answered ioctls by name (KVM_RUN, KVM_SET_REGS, …; unknown requests as 0x…). */
  ioctls: Record<string, number>;
  notifications: number;
  withdrawn: number;
  passthrough: number;
  errors: string[];
  childExited: boolean;
  childStatus?: string;
  /** No process holds the filter any more: the supervisor's final status. */
  done: boolean;
  uptimeMs: number;
  updatedAt: string;
}

export interface RunscUnderStandinOptions {
  /** A runsc binary with the KVM platform (amd64). */
  runsc: string;
  /** `never`, `once:DURATION` or `every:DURATION` (Go durations: 5ms, 2s). */
  mode: string;
  /** What `runsc do` runs (never reached on the stand-in); default a loop of /bin/true. */
  workload?: string[];
  /** How long to wait for the supervisor's ready line and the sandbox process (default 60 s). */
  readyTimeoutMs?: number;
}

export interface RunscSandbox {
  /** The `runsc-sandbox … boot … <container-id>` process. */
  sandboxPid: number;
  containerId: string;
  goferPid: number;
  /** `runsc do` (the supervisor's child). */
  runscPid: number;
  supervisorPid: number;
  /** Private directory: device file, status and mode files, runsc's --root, --debug-log and TMPDIR. */
  dir: string;
  debugLogDir: string;
  statusFile: string;
  status(): Promise<StandinStatus>;
  /** Writes the mode file; resolves once the supervisor runs in that mode. */
  setMode(mode: string, timeoutMs?: number): Promise<StandinStatus>;
  /** Polls the status file until totalExits ≥ n. */
  waitForExits(n: number, timeoutMs: number): Promise<StandinStatus>;
  /** The sandbox process exists (not a zombie) and the supervisor still serves. */
  alive(): boolean;
  /** The supervisor's stderr (its log, and runsc's own stderr). */
  stderr(): string;
  /**
   * Throws unless the sandbox is alive, not stopped, untraced, has no SIGTRAP pending, no Delve or
   * bridge is left, and round trips go on (it switches the stand-in to `every:5ms` for that).
   */
  assertHealthy(what: string): Promise<void>;
  /** Kills the sandbox, gofer and runsc this started, waits for the supervisor, removes the directory. */
  stop(): Promise<void>;
}

const MODE_RE = /^(never|(once|every):\d+(\.\d+)?(ns|us|µs|ms|s|m|h)([\d.]+(ns|us|µs|ms|s|m|h))*)$/;

// ---- build ---------------------------------------------------------------------------------------

async function sourceFiles(): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(kvmStandinSourceDir)) {
    if (/\.(go|s|mod|sum)$/.test(name) && !name.endsWith('_test.go')) out.push(join(kvmStandinSourceDir, name));
  }
  return out.sort();
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}):\n${out}`))));
  });
}

let building: Promise<string> | undefined;

/**
 * Builds the stand-in with Debian 12's Go (CGO off) into test/fixtures/kvm-standin/bin/kvm-standin,
 * rebuilt when a source file or the Go version changes.
 */
export function buildKvmStandin(): Promise<string> {
  building ??= buildOnce();
  building.catch(() => (building = undefined));
  return building;
}

async function buildOnce(): Promise<string> {
  const tc = await resolveToolchain('debian12');
  const outDir = join(kvmStandinSourceDir, 'bin');
  const binary = join(outDir, 'kvm-standin');
  const stampFile = join(outDir, '.source-hash');
  const h = createHash('sha256');
  h.update(`${tc.goVersion}|amd64\n`);
  for (const f of await sourceFiles()) {
    h.update(relative(kvmStandinSourceDir, f) + '\n');
    h.update(await readFile(f));
  }
  const hash = h.digest('hex').slice(0, 16);
  const stamp = await readFile(stampFile, 'utf8').catch(() => '');
  if (stamp.trim() === hash && existsSync(binary)) return binary;
  await mkdir(outDir, { recursive: true });
  // A private name, then rename: concurrent test processes never run half a binary.
  const tmp = `${binary}.tmp.${process.pid}.${randomBytes(4).toString('hex')}`;
  const env = { ...process.env, GOROOT: tc.goroot, GOARCH: 'amd64', GOOS: 'linux', CGO_ENABLED: '0', GOTOOLCHAIN: 'local' };
  await run(tc.go, ['build', '-buildvcs=false', '-o', tmp, '.'], env, kvmStandinSourceDir);
  await rename(tmp, binary);
  await writeFile(stampFile, hash + '\n');
  return binary;
}

// ---- processes -----------------------------------------------------------------------------------

/** A process we started, identified by pid and start time (a reused pid is never killed). */
interface Proc {
  pid: number;
  startTime: string;
}

function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is [0], ppid [1], starttime [19].
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function procOf(pid: number): Proc | undefined {
  const f = statFields(pid);
  return f ? { pid, startTime: f[19] } : undefined;
}

/** Still the same process, and not a zombie. */
function procAlive(p: Proc): boolean {
  const f = statFields(p.pid);
  return !!f && f[19] === p.startTime && f[0] !== 'Z' && f[0] !== 'X';
}

function killProc(p: Proc): void {
  const f = statFields(p.pid);
  if (!f || f[19] !== p.startTime) return;
  try {
    process.kill(p.pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}

/** The live descendants of `root` (synchronous: also used from the exit hook). */
function descendants(root: number): Proc[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (f) parent.set(Number(name), Number(f[1]));
  }
  const out: Proc[] = [];
  for (const pid of parent.keys()) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        const proc = procOf(pid);
        if (proc) out.push(proc);
        break;
      }
    }
  }
  return out;
}

function argvOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '').split('\0');
  } catch {
    return [];
  }
}

interface Live {
  supervisor: ChildProcess;
  supervisorProc: Proc | undefined;
  known: Proc[];
  dir: string;
}

const live = new Set<Live>();
let exitHookInstalled = false;

/** Kills what one sandbox started (sandbox first: a dead supervisor would make its KVM_RUN fail). */
function killAll(l: Live): void {
  const sup = l.supervisorProc;
  const procs = [...l.known, ...(sup ? descendants(sup.pid) : [])];
  const isSandbox = (p: Proc): boolean => argvOf(p.pid)[0] === 'runsc-sandbox';
  for (const p of procs.filter(isSandbox)) killProc(p);
  for (const p of procs.filter((q) => !isSandbox(q))) killProc(p);
  if (sup) killProc(sup);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Tests must never leave a sandbox behind, even when they crash.
  process.on('exit', () => {
    for (const l of live) {
      killAll(l);
      rmSync(l.dir, { recursive: true, force: true });
    }
  });
}

/** Resolves when `p` settles or after `ms`, whichever comes first (no timer left behind). */
function settleWithin(p: Promise<void>, ms: number): Promise<void> {
  return new Promise((res) => {
    const timer = setTimeout(res, ms);
    void p.then(() => {
      clearTimeout(timer);
      res();
    });
  });
}

/**
 * Starts `runsc --platform=kvm … do WORKLOAD` under the stand-in (private --root, --debug-log
 * and TMPDIR under the OS temp dir) and resolves once the sandbox process exists.
 */
export async function startRunscUnderStandin(opts: RunscUnderStandinOptions): Promise<RunscSandbox> {
  if (!MODE_RE.test(opts.mode)) throw new Error(`kvm-standin: bad mode ${JSON.stringify(opts.mode)}`);
  const binary = await buildKvmStandin();
  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000;
  const dir = await mkdtemp(join(tmpdir(), 'kvm-standin-'));
  const rootDir = join(dir, 'root');
  const debugLogDir = join(dir, 'log');
  const tmp = join(dir, 'tmp');
  for (const d of [rootDir, debugLogDir, tmp]) await mkdir(d, { mode: 0o700 });
  const devicePath = join(dir, 'kvm');
  const statusFile = join(dir, 'status.json');
  const modeFile = join(dir, 'mode');
  const workload = opts.workload ?? ['/bin/sh', '-c', 'while :; do /bin/true; done'];
  const args = [
    '--device',
    devicePath,
    '--mode',
    opts.mode,
    '--mode-file',
    modeFile,
    '--status-file',
    statusFile,
    '--die-with-parent',
    '--',
    opts.runsc,
    '--platform=kvm',
    `--platform_device_path=${devicePath}`,
    '--network=none',
    `--root=${rootDir}`,
    '--debug',
    `--debug-log=${debugLogDir}/`,
    'do',
    ...workload,
  ];
  const supervisor = spawn(binary, args, { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
  const l: Live = { supervisor, supervisorProc: undefined, known: [], dir };
  installExitHook();
  live.add(l);

  let stderrText = '';
  supervisor.stderr?.setEncoding('utf8');
  supervisor.stderr?.on('data', (d: string) => {
    stderrText += d;
    if (stderrText.length > 1 << 20) stderrText = stderrText.slice(-(1 << 19));
  });
  let exited = false;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((res) => {
    supervisor.once('exit', () => {
      exited = true;
      res();
    });
    supervisor.once('error', (err) => {
      spawnError = err;
      exited = true;
      res();
    });
  });
  const why = (): string => `(supervisor ${spawnError?.message ?? `code ${supervisor.exitCode}, signal ${supervisor.signalCode}`})\n${stderrText.slice(-4000)}`;

  const cleanup = async (): Promise<void> => {
    killAll(l);
    await settleWithin(exitPromise, 10_000);
    live.delete(l);
    await rm(dir, { recursive: true, force: true });
  };

  let sandboxPid = 0;
  let goferPid = 0;
  let containerId = '';
  try {
    const deadline = Date.now() + readyTimeoutMs;
    const ready = await new Promise<string>((res, reject) => {
      let buf = '';
      const timer = setTimeout(() => done(new Error(`kvm-standin: no ready line within ${readyTimeoutMs} ms ${why()}`)), readyTimeoutMs);
      const onData = (d: Buffer): void => {
        buf += d.toString('utf8');
        const line = buf.split('\n').find((x) => x.startsWith('kvm-standin ready'));
        if (line) done(undefined, line);
      };
      const onExit = (): void => done(new Error(`kvm-standin exited before it was ready ${why()}`));
      function done(err: Error | undefined, line?: string): void {
        clearTimeout(timer);
        supervisor.stdout?.off('data', onData);
        supervisor.off('exit', onExit);
        if (err) reject(err);
        else res(line ?? '');
      }
      supervisor.stdout?.on('data', onData);
      supervisor.once('exit', onExit);
    });
    supervisor.stdout?.resume(); // keep draining (runsc shares this stdout)
    const supervisorPid = Number(/\bsupervisor=(\d+)/.exec(ready)?.[1]);
    const runscPid = Number(/\bchild=(\d+)/.exec(ready)?.[1]);
    l.supervisorProc = procOf(supervisorPid);
    const runscProc = procOf(runscPid);
    if (runscProc) l.known.push(runscProc);

    // The sandbox and the gofer: descendants of the supervisor, found by their argv.
    // (Within what is left of the ready line's deadline.)
    await waitFor(
      () => `runsc-sandbox and runsc-gofer under ${supervisorPid} (kvm-standin: ${readyTimeoutMs} ms from the start) ${why()}`,
      () => {
        if (exited) throw new StopWaiting(`kvm-standin exited before the sandbox appeared ${why()}`);
        for (const p of descendants(supervisorPid)) {
          if (!l.known.some((k) => k.pid === p.pid)) l.known.push(p);
          const argv = argvOf(p.pid);
          if (argv[0] === 'runsc-sandbox' && argv.includes('boot')) {
            sandboxPid = p.pid;
            containerId = argv[argv.length - 1];
          } else if (argv[0] === 'runsc-gofer') {
            goferPid = p.pid;
          }
        }
        return Boolean(sandboxPid && goferPid);
      },
      { timeoutMs: Math.max(0, deadline - Date.now()), intervalMs: 50 },
    );
    if (!containerId || containerId.startsWith('-')) throw new Error(`kvm-standin: no container id in ${argvOf(sandboxPid).join(' ')}`);

    const status = async (): Promise<StandinStatus> => JSON.parse(await readFile(statusFile, 'utf8')) as StandinStatus;
    const sandboxProc = l.known.find((p) => p.pid === sandboxPid);
    const sandbox: RunscSandbox = {
      sandboxPid,
      containerId,
      goferPid,
      runscPid,
      supervisorPid,
      dir,
      debugLogDir,
      statusFile,
      status,
      async setMode(mode: string, timeoutMs = 10_000): Promise<StandinStatus> {
        if (!MODE_RE.test(mode)) throw new Error(`kvm-standin: bad mode ${JSON.stringify(mode)}`);
        const t = `${modeFile}.tmp`;
        await writeFile(t, mode + '\n');
        await rename(t, modeFile); // the supervisor never reads half a mode
        let last: StandinStatus | undefined;
        return waitFor(
          () => `kvm-standin mode ${mode} to be in force (status says ${last?.mode ?? 'nothing'})`,
          async () => {
            last = await status().catch(() => last);
            if (last && last.mode === mode && last.modeSource === 'file') return last;
            if (exited) throw new StopWaiting(`kvm-standin exited while switching to ${mode} ${why()}`);
            return undefined;
          },
          { timeoutMs, intervalMs: 25 },
        );
      },
      async waitForExits(n: number, timeoutMs: number): Promise<StandinStatus> {
        let last: StandinStatus | undefined;
        return waitFor(
          () =>
            `${n} KVM_RUN exits of kvm-standin (totalExits ≥ ${n}); last status: ` +
            (last ? `${last.totalExits} exits, mode ${last.mode}, ${last.waiting} waiting, errors ${JSON.stringify(last.errors)}` : 'none') +
            ` ${why()}`,
          async () => {
            last = await status().catch(() => last);
            if (last && last.totalExits >= n) return last;
            if (exited) throw new StopWaiting(`kvm-standin exited while waiting for ${n} KVM_RUN exits (last: ${last?.totalExits ?? 'no status'}) ${why()}`);
            return undefined;
          },
          { timeoutMs, intervalMs: 25 },
        );
      },
      alive: () => !exited && !!sandboxProc && procAlive(sandboxProc),
      async assertHealthy(what: string): Promise<void> {
        const text = await readFile(`/proc/${sandboxPid}/status`, 'utf8').catch(() => '');
        const problems = text ? healthProblems(parseProcStatus(text)) : ['the sandbox process is gone'];
        const left = debuggerProcesses(execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }));
        if (left.length) problems.push(`left running: ${left.join('; ')}`);
        if (!problems.length) {
          const st = await this.setMode('every:5ms');
          await this.waitForExits(st.totalExits + 5, 60_000).catch((e: Error) => problems.push(e.message));
        }
        if (problems.length) throw new Error(`${what}: ${problems.join('; ')}\n${stderrText.slice(-2000)}`);
      },
      stderr: () => stderrText,
      async stop(): Promise<void> {
        if (!live.has(l)) return;
        // The sandbox first: runsc and the gofer follow it, then the supervisor (its listener
        // reports that no process holds the filter any more).
        if (sandboxProc) killProc(sandboxProc);
        await settleWithin(exitPromise, 20_000);
        await cleanup();
      },
    };
    return sandbox;
  } catch (e) {
    await cleanup();
    throw e;
  }
}
