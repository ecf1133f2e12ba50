// The emulated Raspberry Pi end to end: it is an arm64 "raspberrypi" reachable only on the host's
// loopback, only with the pinned host key and pi's key, pi has passwordless sudo, and the VM's own
// Delve attaches (as root, through sudo) to an arm64 Go program, reached over an SSH stdio bridge.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { DelveClient } from '../../src/delve/delveClient';
import { shellQuote } from '../../src/transport/shellQuote';
import { PiVmUnavailableError, piVmUnavailableReason, processAlive, qemuProcesses, startPiVm, vmOutput, type PiVm } from '../support/piVm';
import { buildSimulator } from '../support/simulator';
import { waitFor } from '../support/waitFor';

const REMOTE_BINARY = '/home/pi/runsc-sandbox';
const REMOTE_STATUS = '/tmp/bluepill-sim-status.json';

test('emulated Raspberry Pi (scripts/pi-vm)', async (t) => {
  const reason = piVmUnavailableReason();
  if (reason) {
    t.skip(reason);
    return;
  }
  let vm: PiVm;
  try {
    // Its own VM: these tests check booting and stopping one.
    vm = await startPiVm({ own: true });
  } catch (err) {
    if (err instanceof PiVmUnavailableError) {
      t.skip(err.message);
      return;
    }
    throw err;
  }
  t.diagnostic(`VM pid ${vm.pid} on 127.0.0.1:${vm.port}, SSH up ${vm.bootSeconds} s after QEMU started`);
  let stoppedByTest = false;
  try {
    await t.test('is an arm64 machine named raspberrypi with dlv and passwordless sudo for pi', async () => {
      assert.equal((await checked(vm, ['uname', '-m'])).trim(), 'aarch64');
      assert.equal((await checked(vm, ['hostname'])).trim(), 'raspberrypi');
      assert.equal((await checked(vm, ['id', '-un'])).trim(), 'pi');
      assert.equal((await checked(vm, ['sudo', '-n', 'id', '-u'])).trim(), '0');
      assert.match(await checked(vm, ['dlv', 'version']), /Version: \d+\.\d+\.\d+/);
    });

    await t.test('has no passwords and refuses password logins', async () => {
      const status = await checked(vm, ['sudo', '-n', 'passwd', '--status', '--all']);
      for (const user of ['root', 'pi']) {
        assert.match(status, new RegExp(`^${user} L `, 'm'), `${user}'s password is locked`);
      }
      const r = await hostSsh(vm, vm.knownHostsPath, ['-o', 'PreferredAuthentications=password,keyboard-interactive', '-o', 'PubkeyAuthentication=no']);
      assert.notEqual(r.code, 0);
      // The server's list of acceptable methods: public key only.
      assert.match(r.stderr, /Permission denied \(publickey\)/);
    });

    await t.test('pins its host key: an empty known_hosts is refused', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pi-vm-kh-'));
      try {
        const empty = join(dir, 'known_hosts');
        writeFileSync(empty, '');
        const r = await hostSsh(vm, empty, ['-i', vm.keyPath]);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /Host key verification failed/);
        const ok = await hostSsh(vm, vm.knownHostsPath, ['-i', vm.keyPath]);
        assert.equal(ok.code, 0, ok.stderr);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    await t.test('listens on the host loopback only', () => {
      const ss = execFileSync('ss', ['-Htlnp', `sport = :${vm.port}`], { encoding: 'utf8' });
      const listeners = ss.split('\n').filter(Boolean);
      assert.ok(listeners.length > 0, `nothing listens on port ${vm.port}`);
      for (const line of listeners) {
        const local = line.trim().split(/\s+/)[3];
        assert.equal(local, `127.0.0.1:${vm.port}`, line);
        assert.match(line, new RegExp(`pid=${vm.pid}\\b`), line);
      }
    });

    await t.test("the VM's dlv attaches as root to an arm64 Go program over an SSH bridge", async (st) => {
      const program = await arm64Program(st);
      await attachOverBridge(st, vm, program);
    });

    stoppedByTest = true;
    await t.test('stop leaves no QEMU process', async () => {
      await vm.stop();
      assert.equal(processAlive(vm.pid), false, `qemu ${vm.pid} is still running`);
      for (const [pid, args] of qemuProcesses()) {
        assert.ok(!args.includes(vm.stateDir), `qemu ${pid} of this VM is still running: ${args}`);
      }
    });
  } finally {
    if (!stoppedByTest || processAlive(vm.pid)) await vm.stop();
  }
});

const checked = vmOutput;

/** ssh from the host without the VM's ssh_config, so each test picks its own options. */
function hostSsh(vm: PiVm, knownHosts: string, extra: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolvePromise) => {
    execFile(
      'ssh',
      [
        '-F',
        'none',
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        `UserKnownHostsFile=${knownHosts}`,
        '-o',
        'GlobalKnownHostsFile=/dev/null',
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'ConnectTimeout=30',
        ...extra,
        '-p',
        String(vm.port),
        'pi@127.0.0.1',
        'true',
      ],
      { timeout: 60_000 },
      (err, _stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolvePromise({ code, stderr });
      },
    );
  });
}

interface Arm64Program {
  path: string;
  /** The simulator (runsc-sandbox with a status file) or a plain sleeper. */
  kind: 'simulator' | 'sleeper';
  cleanup(): void;
}

/** The arm64 simulator; a tiny Go program when the simulator cannot be built. */
async function arm64Program(t: TestContext): Promise<Arm64Program> {
  try {
    return { path: await buildSimulator({ arch: 'arm64' }), kind: 'simulator', cleanup: () => undefined };
  } catch (err) {
    t.diagnostic(`arm64 simulator build failed, using a tiny Go program: ${String(err).slice(0, 500)}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'pi-vm-sleeper-'));
  writeFileSync(join(dir, 'go.mod'), 'module sleeper\n\ngo 1.19\n');
  writeFileSync(join(dir, 'main.go'), 'package main\n\nimport "time"\n\nfunc main() {\n\tfor {\n\t\ttime.Sleep(50 * time.Millisecond)\n\t}\n}\n');
  execFileSync('go', ['build', '-o', 'sleeper', '.'], {
    cwd: dir,
    env: { ...process.env, GOOS: 'linux', GOARCH: 'arm64', CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
  });
  return { path: join(dir, 'sleeper'), kind: 'sleeper', cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls a remote file until a line matches; returns the match. */
async function waitForLine(vm: PiVm, file: string, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  let last = { stdout: '', stderr: '' };
  return waitFor(
    () => `${re} in ${file}:\n${last.stdout}\n${last.stderr}`,
    async () => {
      last = await vm.ssh(['sudo', '-n', 'cat', file]);
      return re.exec(last.stdout) ?? undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

async function roundTrips(vm: PiVm): Promise<number> {
  const r = await vm.ssh(['cat', REMOTE_STATUS]);
  return (JSON.parse(r.stdout) as { roundTrips: number }).roundTrips;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timed(n: number, f: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await f();
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}

async function attachOverBridge(t: TestContext, vm: PiVm, program: Arm64Program): Promise<void> {
  let programPid = 0;
  let dlvPid = 0;
  let bridge: ChildProcess | undefined;
  let client: DelveClient | undefined;
  try {
    await vm.copyIn(program.path, REMOTE_BINARY);
    const args =
      program.kind === 'simulator'
        ? [
            '--root=/run/runsc',
            '--platform=kvm',
            '--debug-log=/tmp/runsc/',
            '--sim-vcpus=2',
            `--sim-status-file=${REMOTE_STATUS}`,
            'boot',
            '--bundle=/tmp/bundle',
            '--controller-fd=3',
            '--mounts-fd=4',
            '--start-sync-fd=5',
            'bluepill-sim-pi-vm',
          ]
        : [];
    // setsid + redirected stdio: the program outlives this ssh session.
    const launch = `echo $$ > /tmp/program.pid; exec -a runsc-sandbox ${REMOTE_BINARY} ${args.map(shellQuote).join(' ')}`;
    await checked(vm, ['sh', '-c', `setsid bash -c ${shellQuote(launch)} </dev/null >/tmp/program.out 2>/tmp/program.err &`]);
    programPid = Number((await waitForLine(vm, '/tmp/program.pid', /^(\d+)$/m, 30_000))[1]);
    if (program.kind === 'simulator') {
      await waitForLine(vm, '/tmp/program.out', /^bluepill-sim ready pid=(\d+)/m, 60_000);
      const cmdline = await checked(vm, ['sh', '-c', `tr '\\0' ' ' < /proc/${programPid}/cmdline`]);
      assert.match(cmdline, /^runsc-sandbox .* boot .*bluepill-sim-pi-vm/);
    }

    const dlv = `echo $$ > /tmp/dlv.pid; exec dlv attach ${programPid} --headless --api-version=2 --listen=127.0.0.1:0 --accept-multiclient`;
    await checked(vm, ['sh', '-c', `sudo -n setsid bash -c ${shellQuote(dlv)} </dev/null >/tmp/dlv.out 2>&1 &`]);
    dlvPid = Number((await waitForLine(vm, '/tmp/dlv.pid', /^(\d+)$/m, 30_000))[1]);
    const listening = await waitForLine(vm, '/tmp/dlv.out', /API server listening at: 127\.0\.0\.1:(\d+)/, 120_000);
    const dlvPort = Number(listening[1]);
    t.diagnostic(`dlv ${dlvPid} attached to ${program.kind} ${programPid}, listening on the VM's 127.0.0.1:${dlvPort}`);

    const bridgeCmd = `exec 3<>/dev/tcp/127.0.0.1/${dlvPort}; cat <&3 & cat >&3`;
    const bridgeProc = spawn('ssh', ['-F', vm.sshConfigPath, vm.hostAlias, '--', 'sudo', '-n', 'bash', '-c', shellQuote(bridgeCmd)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    bridge = bridgeProc;
    let bridgeErr = '';
    bridgeProc.stderr.setEncoding('utf8').on('data', (d: string) => (bridgeErr += d));
    client = new DelveClient(Duplex.from({ readable: bridgeProc.stdout, writable: bridgeProc.stdin }), { timeoutMs: 60_000 });

    const version = await client.getVersion().catch((err: unknown) => {
      throw new Error(`GetVersion over the bridge failed: ${String(err)}\n${bridgeErr}`);
    });
    assert.equal(version.APIVersion, 2);
    assert.match(version.DelveVersion, /\d+\.\d+\.\d+/);
    const threads = await client.listThreads();
    assert.ok(threads.length >= 1, 'dlv sees the threads');

    const c = client;
    const getVersionMs = await timed(20, () => c.getVersion());
    const listThreadsMs = await timed(20, () => c.listThreads());
    t.diagnostic(
      `over the emulated link: GetVersion median ${median(getVersionMs).toFixed(1)} ms, ` +
        `ListThreads (${threads.length} threads) median ${median(listThreadsMs).toFixed(1)} ms (20 calls each)`,
    );

    await client.detach(false);
    client.close();
    client = undefined;

    const status = await checked(vm, ['cat', `/proc/${programPid}/status`]);
    assert.match(status, /^TracerPid:\s+0$/m, 'no tracer after detach');
    assert.doesNotMatch(status, /^State:\s+[tTZX]/m, 'the program is neither stopped nor dead');
    if (program.kind === 'simulator') {
      const before = await roundTrips(vm);
      const after = await waitFor(
        'a simulator round trip after detach',
        async () => {
          const n = await roundTrips(vm);
          return n > before ? n : undefined;
        },
        { timeoutMs: 2_000, intervalMs: 250 },
      ).catch(() => roundTrips(vm));
      assert.ok(after > before, 'the simulator keeps running after detach');
    }
  } finally {
    client?.close();
    bridge?.kill();
    const pids = [dlvPid, programPid].filter((p) => p > 0).join(' ');
    if (pids) await vm.ssh(['sh', '-c', `sudo -n kill -9 ${pids} 2>/dev/null; true`]);
    program.cleanup();
  }
}
