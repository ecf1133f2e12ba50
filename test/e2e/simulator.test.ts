// The simulator helper: build, start, progress, the sandbox command line, stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { buildSimulator, startSimulator } from '../support/simulator';

test('buildSimulator caches the binary per toolchain and architecture', async () => {
  const a = await buildSimulator({ arch: 'amd64', toolchain: 'debian12' });
  assert.match(a, /bluepill-sim\/bin\/debian12-amd64\/runsc-sandbox$/);
  assert.ok(existsSync(a));
  const b = await buildSimulator({ arch: 'amd64', toolchain: 'debian12' });
  assert.equal(b, a);
});

test('an unoptimised (-N -l) build runs: the nosplit handler chain fits the stack limit', async () => {
  const sim = await startSimulator({ optimize: false });
  try {
    assert.match(sim.binary, /bin\/debian12-amd64-N-l\/runsc-sandbox$/);
    const st = await sim.waitForProgress(5, 30_000);
    assert.equal(st.checksOK, true);
  } finally {
    await sim.stop();
  }
});

test('startSimulator: progress on every vCPU, the real sandbox command line, and stop', async () => {
  const sim = await startSimulator({ vcpus: 3, containerId: 'e2e-container-1', interval: '5ms' });
  try {
    assert.equal(sim.vcpuTids.length, 3);
    const st = await sim.waitForProgress(20, 30_000);
    assert.equal(st.pid, sim.pid);
    assert.equal(st.checksOK, true);
    for (const tid of sim.vcpuTids) assert.ok((st.perThread[String(tid)] ?? -1) >= 0, `vCPU ${tid} in perThread`);
    const symbols = st.symbols as Record<string, string>;
    assert.equal(st.lastLandingPC, symbols['kvm.guestExitSyscall.landing'], 'landed at the guest exit syscall');

    const argv = readFileSync(`/proc/${sim.pid}/cmdline`, 'utf8').replace(/\0$/, '').split('\0');
    assert.equal(argv[0], 'runsc-sandbox');
    const boot = argv.indexOf('boot');
    assert.ok(boot > 0, `boot in ${argv.join(' ')}`);
    assert.ok(argv.slice(0, boot).includes('--platform=kvm'));
    assert.equal(argv[argv.length - 1], 'e2e-container-1');
    assert.ok(sim.alive());
  } finally {
    await sim.stop();
  }
  assert.equal(sim.alive(), false);
  assert.equal(existsSync(`/proc/${sim.pid}`), false, 'the process is gone');
});

test('hazard threads are reported by name', async () => {
  const sim = await startSimulator({ hazards: ['seccomp', 'futex', 'vdso'] });
  try {
    for (const h of ['seccomp', 'futex', 'vdso']) assert.ok(sim.hazardTids[h] > 0, `${h} thread tid`);
    const st = await sim.waitForProgress(3, 30_000);
    const hz = st.hazards as Record<string, Record<string, number>>;
    assert.equal(hz.seccomp.tid, sim.hazardTids.seccomp);
    assert.ok(sim.alive(), sim.stderr());
  } finally {
    await sim.stop();
  }
});

test("Debian 13's toolchain (Go 1.24) builds a simulator that runs", async (t) => {
  let binary: string;
  try {
    binary = await buildSimulator({ toolchain: 'debian13' });
  } catch (err) {
    t.skip(`Debian 13 toolchain unavailable (scripts/toolchains.sh trixie failed): ${(err as Error).message.split('\n')[0]}`);
    return;
  }
  assert.match(binary, /bin\/debian13-amd64\/runsc-sandbox$/);
  const sim = await startSimulator({ toolchain: 'debian13', hops: 'two' });
  try {
    const st = await sim.waitForProgress(5, 30_000);
    assert.match(String(st.goVersion), /^go1\.24/);
    assert.equal(st.hops, 2 * st.roundTrips, 'two hops per round trip');
  } finally {
    await sim.stop();
  }
});

test('the arm64 build runs under qemu-user (SIGILL from MRS TPIDR_EL1, both hop shapes)', async (t) => {
  if (!['/usr/bin/qemu-aarch64-static', '/usr/local/bin/qemu-aarch64-static'].some((p) => existsSync(p)) || process.arch === 'arm64') {
    t.skip(process.arch === 'arm64' ? 'host is arm64: covered by the tests above' : 'qemu-aarch64-static not installed (Debian: qemu-user-static)');
    return;
  }
  const sim = await startSimulator({ arch: 'arm64', hazards: ['futex', 'vdso'] });
  try {
    const st = await sim.waitForProgress(10, 60_000);
    assert.equal(st.arch, 'arm64');
    assert.equal(st.signal, 'SIGILL');
    assert.ok(Number(st.oneHopTrips) > 0 && Number(st.twoHopTrips) > 0, 'both hop shapes');
    assert.equal(st.checksOK, true);
  } finally {
    await sim.stop();
  }
});
