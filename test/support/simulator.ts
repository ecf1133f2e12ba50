// Builds and runs the bluepill simulator (test/fixtures/bluepill-sim) for e2e tests, benchmarks
// and the demo. The simulator names itself `runsc-sandbox … boot … <container-id>` and writes a
// JSON status file; see the fixture's main.go for its flags.
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { repoRoot } from './repoRoot';
import { StopWaiting, waitFor } from './waitFor';

export type SimArch = 'amd64' | 'arm64';
export type Toolchain = 'debian12' | 'debian13';

export interface BuildOptions {
  arch?: SimArch;
  toolchain?: Toolchain;
  /** false: `-gcflags=all=-N -l` (no optimisation, no inlining), like a `bazel -c dbg` runsc. Default true. */
  optimize?: boolean;
}

export interface StartOptions extends BuildOptions {
  vcpus?: number;
  /** Time "in the guest" per hop, a Go duration ("2ms", "5m"). */
  guestSpin?: string;
  /** Sleep between round trips on each vCPU, a Go duration (default 20ms). */
  interval?: string;
  /** vCPU i starts i×stagger late (a Go duration): keeps vCPUs out of lockstep. */
  stagger?: string;
  hops?: 'one' | 'two' | 'mixed';
  /** Any of 'seccomp', 'futex', 'vdso'. */
  hazards?: string[];
  containerId?: string;
  /** The --platform flag of the sandbox's command line (default kvm): what the picker reads. */
  platform?: string;
  /** More simulator flags, placed before `boot`. */
  extraArgs?: string[];
  /** How long to wait for the ready line (default 60 s; builds are not included). */
  readyTimeoutMs?: number;
}

export interface SimStatus {
  pid: number;
  roundTrips: number;
  hops: number;
  perThread: Record<string, number>;
  checksOK: boolean;
  [k: string]: unknown;
}

export interface RunningSimulator {
  pid: number;
  binary: string;
  containerId: string;
  vcpuTids: number[];
  /** Hazard threads by hazard name (only those started). */
  hazardTids: Record<string, number>;
  status(): Promise<SimStatus>;
  waitForProgress(minRoundTrips: number, timeoutMs: number): Promise<SimStatus>;
  alive(): boolean;
  stderr(): string;
  stop(): Promise<void>;
}

export interface ToolchainPaths {
  toolchain: Toolchain;
  goroot: string;
  go: string;
  dlv: string;
  goVersion: string;
  dlvVersion: string;
}

export const simulatorSourceDir = join(repoRoot, 'test', 'fixtures', 'bluepill-sim');
const toolchainsScript = join(repoRoot, 'scripts', 'toolchains.sh');

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv, cwd?: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(cmd, args, { env: env ?? process.env, cwd, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolvePromise(stdout);
    });
  });
}

const toolchainCache = new Map<Toolchain, Promise<ToolchainPaths>>();

/** Paths of a toolchain, from scripts/toolchains.sh (unpacks Debian 13's Go/Delve on first use). */
export function resolveToolchain(toolchain: Toolchain = 'debian12'): Promise<ToolchainPaths> {
  let p = toolchainCache.get(toolchain);
  if (!p) {
    p = run('bash', [toolchainsScript, toolchain]).then((out) => {
      const kv = new Map<string, string>();
      for (const line of out.split('\n')) {
        const eq = line.indexOf('=');
        if (eq > 0) kv.set(line.slice(0, eq), line.slice(eq + 1));
      }
      const get = (k: string): string => {
        const v = kv.get(k);
        if (!v) throw new Error(`toolchains.sh ${toolchain}: no ${k} in output:\n${out}`);
        return v;
      };
      return { toolchain, goroot: get('GOROOT'), go: get('GO'), dlv: get('DLV'), goVersion: get('GOVERSION'), dlvVersion: get('DLVVERSION') };
    });
    toolchainCache.set(toolchain, p);
    p.catch(() => toolchainCache.delete(toolchain));
  }
  return p;
}

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const ent of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) {
      if (ent.name !== 'bin') out.push(...(await sourceFiles(p)));
    } else if (/\.(go|s|h|mod|sum)$/.test(ent.name) && !ent.name.endsWith('_test.go')) {
      out.push(p);
    }
  }
  return out.sort();
}

async function sourceHash(tc: ToolchainPaths, arch: SimArch, optimize: boolean): Promise<string> {
  const h = createHash('sha256');
  h.update(`${tc.goVersion}|${arch}|${optimize}\n`);
  for (const f of await sourceFiles(simulatorSourceDir)) {
    h.update(relative(simulatorSourceDir, f) + '\n');
    h.update(await readFile(f));
  }
  return h.digest('hex').slice(0, 16);
}

const builds = new Map<string, Promise<string>>();

/**
 * Builds the simulator (CGO off, DWARF and symbols kept, optimised like Debian's runsc unless
 * `optimize: false`) into test/fixtures/bluepill-sim/bin/<toolchain>-<arch>[-N-l]/runsc-sandbox;
 * rebuilt when a source changes.
 */
export function buildSimulator(opts: BuildOptions = {}): Promise<string> {
  const arch = opts.arch ?? 'amd64';
  const toolchain = opts.toolchain ?? 'debian12';
  const optimize = opts.optimize ?? true;
  const key = `${toolchain}-${arch}${optimize ? '' : '-N-l'}`;
  let p = builds.get(key);
  if (!p) {
    p = buildOnce(toolchain, arch, optimize, key);
    builds.set(key, p);
    p.catch(() => builds.delete(key));
  }
  return p;
}

async function buildOnce(toolchain: Toolchain, arch: SimArch, optimize: boolean, dirName: string): Promise<string> {
  const tc = await resolveToolchain(toolchain);
  const outDir = join(simulatorSourceDir, 'bin', dirName);
  const binary = join(outDir, 'runsc-sandbox');
  const stampFile = join(outDir, '.source-hash');
  const hash = await sourceHash(tc, arch, optimize);
  const stamp = await readFile(stampFile, 'utf8').catch(() => '');
  if (stamp.trim() === hash && existsSync(binary)) return binary;
  await mkdir(outDir, { recursive: true });
  // Build to a private name and rename: concurrent test processes never see half a binary.
  const tmp = `${binary}.tmp.${process.pid}.${randomBytes(4).toString('hex')}`;
  const env = { ...process.env, GOROOT: tc.goroot, GOARCH: arch, GOOS: 'linux', CGO_ENABLED: '0', GOTOOLCHAIN: 'local' };
  const gcflags = optimize ? [] : ['-gcflags=all=-N -l'];
  await run(tc.go, ['build', ...gcflags, '-o', tmp, '.'], env, simulatorSourceDir);
  await rename(tmp, binary);
  await writeFile(stampFile, hash + '\n');
  return binary;
}

function hostArch(): SimArch {
  return process.arch === 'arm64' ? 'arm64' : 'amd64';
}

const liveSimulators = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Tests must never leave a simulator running, even when they crash.
  process.on('exit', () => {
    for (const child of liveSimulators) child.kill('SIGKILL');
  });
}

function parseReadyLine(line: string): { pid: number; vcpuTids: number[]; hazardTids: Record<string, number> } {
  const pid = Number(/\bpid=(\d+)/.exec(line)?.[1]);
  const tids = (/\btids=([\d,]+)/.exec(line)?.[1] ?? '').split(',').filter(Boolean).map(Number);
  const hazardTids: Record<string, number> = {};
  for (const m of line.matchAll(/\b(\w+)-tid=(\d+)/g)) hazardTids[m[1]] = Number(m[2]);
  return { pid, vcpuTids: tids, hazardTids };
}

/** Builds (if needed) and starts the simulator; resolves once it printed its ready line. */
export async function startSimulator(opts: StartOptions = {}): Promise<RunningSimulator> {
  const arch = opts.arch ?? hostArch();
  const binary = await buildSimulator({ arch, toolchain: opts.toolchain, optimize: opts.optimize });
  const containerId = opts.containerId ?? `bluepill-sim-${randomBytes(4).toString('hex')}`;
  const statusDir = await mkdtemp(join(tmpdir(), 'bluepill-sim-'));
  const statusFile = join(statusDir, 'status.json');
  const simFlags = [`--sim-vcpus=${opts.vcpus ?? 2}`, `--sim-status-file=${statusFile}`];
  if (opts.guestSpin) simFlags.push(`--sim-guest-spin=${opts.guestSpin}`);
  if (opts.interval) simFlags.push(`--sim-interval=${opts.interval}`);
  if (opts.stagger) simFlags.push(`--sim-stagger=${opts.stagger}`);
  if (opts.hops) simFlags.push(`--sim-hops=${opts.hops}`);
  if (opts.hazards?.length) simFlags.push(`--sim-hazards=${opts.hazards.join(',')}`);
  const args = [
    '--root=/run/runsc',
    `--platform=${opts.platform ?? 'kvm'}`,
    '--debug-log=/tmp/runsc/',
    ...simFlags,
    ...(opts.extraArgs ?? []),
    'boot',
    '--bundle=/tmp/bundle',
    '--controller-fd=3',
    '--mounts-fd=4',
    '--start-sync-fd=5',
    containerId,
  ];

  let child: ChildProcess;
  if (arch === hostArch()) {
    child = spawn(binary, args, { argv0: 'runsc-sandbox', stdio: ['ignore', 'pipe', 'pipe'] });
  } else {
    // Foreign architecture: qemu-user (no re-exec there; qemu's -0 sets argv[0]).
    const qemu = arch === 'arm64' ? 'qemu-aarch64-static' : 'qemu-x86_64-static';
    child = spawn(qemu, ['-0', 'runsc-sandbox', binary, '--sim-no-reexec', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  }
  installExitHook();
  liveSimulators.add(child);

  let stderrText = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    stderrText += d;
    if (stderrText.length > 1 << 20) stderrText = stderrText.slice(-(1 << 19));
  });
  let exited = false;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((res) => {
    const done = (): void => {
      exited = true;
      liveSimulators.delete(child);
      res();
    };
    child.once('exit', done);
    // e.g. qemu-aarch64-static not installed: 'error' instead of 'exit'.
    child.once('error', (err) => {
      spawnError = err;
      done();
    });
  });

  const ready = await new Promise<string>((res, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => fail(new Error(`simulator: no ready line within ${opts.readyTimeoutMs ?? 60_000} ms\n${stderrText}`)),
      opts.readyTimeoutMs ?? 60_000,
    );
    const onData = (d: Buffer): void => {
      buf += d.toString('utf8');
      const line = buf.split('\n').find((l) => l.startsWith('bluepill-sim ready'));
      if (line) {
        cleanup();
        res(line);
      }
    };
    const onExit = (): void =>
      fail(new Error(`simulator exited before it was ready (${spawnError?.message ?? `code ${child.exitCode}, signal ${child.signalCode}`})\n${stderrText}`));
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onExit);
    };
    function fail(err: Error): void {
      cleanup();
      child.kill('SIGKILL');
      reject(err);
    }
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onExit);
  }).catch(async (err: unknown) => {
    await rm(statusDir, { recursive: true, force: true });
    throw err;
  });
  child.stdout?.resume(); // keep draining

  const parsed = parseReadyLine(ready);
  const pid = child.pid ?? parsed.pid;

  const status = async (): Promise<SimStatus> => JSON.parse(await readFile(statusFile, 'utf8')) as SimStatus;

  return {
    pid,
    binary,
    containerId,
    vcpuTids: parsed.vcpuTids,
    hazardTids: parsed.hazardTids,
    status,
    async waitForProgress(minRoundTrips: number, timeoutMs: number): Promise<SimStatus> {
      let last: SimStatus | undefined;
      return waitFor(
        () => `${minRoundTrips} simulator round trips (last: ${last?.roundTrips ?? 'no status'})\n${stderrText}`,
        async () => {
          if (exited) throw new StopWaiting(`simulator exited (code ${child.exitCode}, signal ${child.signalCode})\n${stderrText}`);
          last = await status().catch(() => last);
          return last && last.roundTrips >= minRoundTrips ? last : undefined;
        },
        { timeoutMs, intervalMs: 50 },
      );
    },
    alive: () => !exited && child.exitCode === null && child.signalCode === null,
    stderr: () => stderrText,
    async stop(): Promise<void> {
      // SIGKILL: a simulator stopped under ptrace would not act on SIGTERM.
      if (!exited) child.kill('SIGKILL');
      await exitPromise;
      await rm(statusDir, { recursive: true, force: true });
    },
  };
}

/** The address of a text symbol (`name` or its `name.abi0` assembly form) from `go tool nm`. */
export function textSymbolAddress(binary: string, name: string, go = 'go'): number {
  const out = execFileSync(go, ['tool', 'nm', binary], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const line = out.split('\n').find((l) => l.trim().endsWith(` T ${name}`) || l.trim().endsWith(` T ${name}.abi0`));
  if (!line) throw new Error(`${name} is not a text symbol of ${binary}`);
  return parseInt(line.trim().split(/\s+/)[0], 16);
}

/** Why a toolchain cannot be used here (the tests then skip with this reason), or undefined when it can. */
export async function toolchainUnavailable(toolchain: Toolchain): Promise<string | undefined> {
  try {
    await resolveToolchain(toolchain);
    return undefined;
  } catch (e) {
    return `toolchain ${toolchain} unavailable: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`;
  }
}

/** The hazard threads' counters in a status file (the simulator's or the one inside the Pi). */
export interface HazardCounters {
  seccompCalls: number;
  futexWaits: number;
  vdsoReads: number;
  roundTrips: number;
  checksOK: boolean;
}

/** One counter of a hazard thread in a status file, e.g. `hazardCounter(st, 'seccomp', 'trapped')`; 0 when absent. */
export function hazardCounter(status: Record<string, unknown>, hazard: string, field: string): number {
  return Number(((status.hazards as Record<string, Record<string, number>> | undefined)?.[hazard] ?? {})[field] ?? 0);
}

export function countersOf(status: Record<string, unknown>): HazardCounters {
  return {
    seccompCalls: hazardCounter(status, 'seccomp', 'calls'),
    futexWaits: hazardCounter(status, 'futex', 'waits'),
    vdsoReads: hazardCounter(status, 'vdso', 'reads'),
    roundTrips: Number(status.roundTrips ?? 0),
    checksOK: status.checksOK === true,
  };
}
