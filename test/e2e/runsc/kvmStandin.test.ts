// Real runsc --platform=kvm on amd64 through the KVM stand-in: the sandbox's vCPU thread makes
// real bluepill round trips while the stand-in answers KVM_RUN every 5 ms; switched to `never`, the
// thread stays in KVM_RUN and the exits stop; stop() leaves nothing behind. Needs root.
import { test, before, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { startRunscUnderStandin, type RunscSandbox, type StandinStatus } from '../../support/kvmStandin';
import { runscBinaries, RunscUnavailableError } from '../../support/runsc';
import { waitFor } from '../../support/waitFor';

const KVM_RUN = 0xae80;
const SYS_IOCTL = 16;

let unavailable: string | undefined;
let runsc = '';

before(async () => {
  if (process.arch !== 'x64') {
    unavailable = 'the KVM stand-in is amd64 only';
    return;
  }
  if (process.getuid?.() !== 0) {
    unavailable = 'runsc needs root';
    return;
  }
  if (process.env.RUNSC) {
    runsc = process.env.RUNSC;
    return;
  }
  try {
    runsc = (await runscBinaries()).amd64;
  } catch (e) {
    if (e instanceof RunscUnavailableError) unavailable = `real runsc unavailable: ${e.message}`;
    else throw e;
  }
});

function skipIfUnavailable(t: TestContext): boolean {
  if (unavailable === undefined) return false;
  t.skip(unavailable);
  return true;
}

/** /proc/PID/task/TID/syscall of a thread inside ioctl(fd, KVM_RUN). */
function inKvmRun(pid: number, tid: number, fd: number): boolean {
  try {
    const f = readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'utf8').trim().split(/\s+/);
    return Number(f[0]) === SYS_IOCTL && Number(f[1]) === fd && Number(f[2]) === KVM_RUN;
  } catch {
    return false;
  }
}

test('runsc under the KVM stand-in: round trips every 5 ms, none in `never`, nothing left after stop', async (t) => {
  if (skipIfUnavailable(t)) return;
  let sb: RunscSandbox | undefined = await startRunscUnderStandin({ runsc, mode: 'every:5ms' });
  try {
    t.diagnostic(`sandbox ${sb.sandboxPid} (container ${sb.containerId}), gofer ${sb.goferPid}, runsc ${sb.runscPid}, supervisor ${sb.supervisorPid}`);
    assert.match(sb.containerId, /^runsc-\d+$/);
    const argv = readFileSync(`/proc/${sb.sandboxPid}/cmdline`, 'utf8').replace(/\0$/, '').split('\0');
    assert.equal(argv[0], 'runsc-sandbox');
    assert.ok(argv.includes('--platform=kvm'), argv.join(' '));

    const st = await sb.waitForExits(20, 60_000);
    assert.deepEqual(st.errors, []);
    assert.equal(st.supervisorPid, sb.supervisorPid);
    assert.equal(st.childPid, sb.runscPid);
    const running = st.vcpus.filter((v) => v.runs > 0);
    assert.ok(running.length > 0, 'a vCPU has run');
    const tasks = readdirSync(`/proc/${sb.sandboxPid}/task`).map(Number);
    for (const v of running) {
      assert.equal(v.pid, sb.sandboxPid, `vCPU ${v.id} belongs to the sandbox`);
      assert.ok(tasks.includes(v.tid), `vCPU ${v.id}'s thread ${v.tid} is one of the sandbox's tasks ${tasks.join(',')}`);
    }
    const total = (s: StandinStatus): number => s.vcpus.reduce((n, v) => n + v.exits, 0);
    assert.equal(total(st), st.totalExits, 'per-vCPU exits add up');
    // Exits keep rising.
    const later = await sb.waitForExits(st.totalExits + 20, 60_000);
    t.diagnostic(`exits ${st.totalExits} -> ${later.totalExits}; ioctls ${JSON.stringify(later.ioctls)}`);
    for (const name of [
      'KVM_CREATE_VM',
      'KVM_CREATE_VCPU',
      'KVM_SET_USER_MEMORY_REGION',
      'KVM_SET_REGS',
      'KVM_SET_SREGS',
      'KVM_SET_CPUID2',
      'KVM_SET_SIGNAL_MASK',
    ]) {
      assert.ok((later.ioctls[name] ?? 0) > 0, `runsc issued ${name}`);
    }
    assert.ok(later.ioctls.KVM_RUN >= later.totalExits);

    // `never`: the pending KVM_RUN is not answered any more; the thread stays in the ioctl.
    const switched = await sb.setMode('never');
    const v0 = running[0];
    const parked = await waitFor(
      'the vCPU to wait 1 s in KVM_RUN under `never`',
      async () => {
        const s = await sb!.status();
        const v = s.vcpus.find((x) => x.id === v0.id && x.vm === v0.vm);
        return v && v.waiting && v.waitingMs >= 1000 ? s : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 25 },
    );
    assert.equal(parked.totalExits, switched.totalExits, 'no exit after the switch to never');
    assert.ok(inKvmRun(sb.sandboxPid, v0.tid, v0.fd), `thread ${v0.tid} is in ioctl(${v0.fd}, KVM_RUN)`);
    assert.ok(sb.alive(), 'the sandbox stays up');

    // And back: exits resume.
    await sb.setMode('every:1ms');
    await sb.waitForExits(parked.totalExits + 10, 60_000);

    const pids = [sb.sandboxPid, sb.goferPid, sb.runscPid, sb.supervisorPid];
    const dir = sb.dir;
    await sb.stop();
    assert.equal(sb.alive(), false);
    for (const pid of pids) assert.equal(existsSync(`/proc/${pid}`), false, `process ${pid} is gone`);
    assert.equal(existsSync(dir), false, 'the private directory is removed');
    sb = undefined;
  } finally {
    await sb?.stop();
  }
});
