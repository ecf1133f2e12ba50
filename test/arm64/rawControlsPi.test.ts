// Controls on arm64 (the emulated Raspberry Pi) that keep the simulator's hazards honest: Delve's
// raw single step (no guard; Delve reached through the product's SSH transport, as root) through
// each hazard breaks the simulator or does not come back. Each control gets its own simulator in
// the VM and its own Delve, and kills both afterwards. One VM boot for the file.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { resolveAttachConfig } from '../../src/config/attachConfig';
import { stepWithTimeout } from '../../src/bluepill/safeStep';
import type { DelveClient } from '../../src/delve/delveClient';
import { attachTarget, type AttachedTarget } from '../../src/target/attachTarget';
import { startPiVmOrReason, vmOutput, type PiVm } from '../support/piVm';
import { hazardCounter } from '../support/simulator';
import { assertStepNeverReturns, runToAddress } from '../support/rawDelve';
import { startSimulatorInVm, type SimulatorInVm } from '../support/piSimulator';
import { waitFor } from '../support/waitFor';

/** Every Delve call over the emulated link is slow: a harmless single step takes 0.1–0.5 s. */
const RPC_TIMEOUT_MS = 60_000;
/** A single step that has not returned after this long is not coming back. */
const STUCK_MS = 10_000;
const FUTEX_WORD = '"bluepill.sim/pkg/sentry/platform/kvm".futexWord';

let unavailable: string | undefined;
let vm: PiVm | undefined;
let runs = 0;

interface Control {
  sim: SimulatorInVm;
  target: AttachedTarget;
  client: DelveClient;
  symbols: Record<string, bigint>;
}

const hex = (n: bigint): string => `0x${n.toString(16)}`;

before(async () => {
  ({ vm, unavailable } = await startPiVmOrReason());
  if (!vm) return;
});

after(async () => {
  await vm?.stop();
});

/** A fresh hazard simulator in the VM with Delve attached (everything stopped, as after attach). */
async function withControl(t: TestContext, body: (c: Control) => Promise<void>): Promise<void> {
  if (unavailable) {
    t.skip(unavailable);
    return;
  }
  const name = `bluepill-sim-control-${++runs}`;
  const hold = `/tmp/${name}-futex-hold`;
  const sim = await startSimulatorInVm(vm!, { name, hazards: ['seccomp', 'futex', 'vdso'], simFlags: [`--sim-futex-hold-file=${hold}`] });
  let target: AttachedTarget | undefined;
  try {
    await untilGoing(
      sim,
      (st) => hazardCounter(st, 'seccomp', 'calls') > 2 && hazardCounter(st, 'futex', 'waits') > 2 && hazardCounter(st, 'vdso', 'reads') > 2,
      60_000,
    );
    const symbols = await sim.symbols();
    // Futex wakes held while Delve attaches: the futex thread is then certainly blocked in its wait.
    await vmOutput(vm!, ['touch', hold]);
    await new Promise((res) => setTimeout(res, 500));
    try {
      target = await attachTarget(resolveAttachConfig({ ssh: vm!.hostAlias, sshConfigFile: vm!.sshConfigPath, processId: sim.pid, sudo: true }), {
        rpcTimeoutMs: RPC_TIMEOUT_MS,
      });
    } finally {
      await vmOutput(vm!, ['rm', '-f', hold]);
    }
    await body({ sim, target, client: target.client, symbols });
  } finally {
    // A Delve wedged in a single step answers nothing until its target is gone: kill the target first.
    await sim.kill();
    await target?.disconnect().catch(() => undefined);
  }
}

async function untilGoing(sim: SimulatorInVm, ok: (st: Record<string, unknown>) => boolean, timeoutMs: number): Promise<void> {
  let st: Record<string, unknown> | undefined;
  await waitFor(
    () => `the simulator in the VM to get going: ${JSON.stringify(st?.hazards)}`,
    async () => {
      st = await sim.status().catch(() => undefined);
      return st !== undefined && ok(st);
    },
    { timeoutMs, intervalMs: 500 },
  );
}

async function pcOf(client: DelveClient, tid: number): Promise<bigint> {
  const pc = (await client.listRegisters(tid)).find((r) => r.Name === 'PC');
  assert.ok(pc, 'a PC register');
  return BigInt(pc.Value.split(/\s/)[0]);
}

/** Continues until `tid` stops on a breakpoint at `addr`. */
function runTo(c: Control, tid: number, addr: bigint): Promise<void> {
  return runToAddress(c.client, tid, Number(addr), { stderr: () => c.sim.stderr(), timeoutMs: RPC_TIMEOUT_MS });
}

/** One raw single step of `tid` (only over a harmless instruction). */
async function stepOnce(c: Control, tid: number): Promise<bigint> {
  await c.client.switchThread(tid);
  await c.client.stepInstruction({ threadID: tid, timeoutMs: RPC_TIMEOUT_MS });
  return pcOf(c.client, tid);
}

/** The hazard thread on its SVC, reached from the instruction before it (no breakpoint on the SVC). */
async function parkOnSvc(c: Control, tid: number, fn: string): Promise<bigint> {
  const svc = c.symbols[`kvm.${fn}.syscall`];
  assert.ok(svc && c.symbols[`kvm.${fn}`] < svc, `symbols for kvm.${fn}`);
  await runTo(c, tid, svc - 4n);
  assert.equal(await stepOnce(c, tid), svc, 'one step from the instruction before the SVC reaches it');
  return svc;
}

/** A raw step that does not return within STUCK_MS, after which Delve answers nothing, not even after a halt. */
async function assertStepNeverReturnsOn(t: TestContext, c: Control, tid: number): Promise<void> {
  const ms = await assertStepNeverReturns(c.client, tid, { stepMs: STUCK_MS, graceMs: 5_000 });
  t.diagnostic(`no answer to the single step in ${ms} ms, none to a halt and a state query either`);
}

test('seccomp: a raw single step of the trapped mmap (222) skips it and the simulator dies', async (t) => {
  await withControl(t, async (c) => {
    const tid = c.sim.hazardTids.seccomp!;
    const svc = await parkOnSvc(c, tid, 'hazardSeccompMmap');
    await c.client.switchThread(tid);
    await c.client.stepInstruction({ threadID: tid, timeoutMs: RPC_TIMEOUT_MS });
    const pc = await pcOf(c.client, tid);
    t.diagnostic(`after the raw step of the SVC at ${hex(svc)} the PC is ${hex(pc)}`);
    // Let it run: the skipped (or mangled) mmap is caught by the simulator's check, or the
    // delayed SIGSYS kills the runtime.
    let ended = false;
    for (let i = 0; i < 5 && !ended; i++) {
      ended = await c.client.continue({ timeoutMs: RPC_TIMEOUT_MS }).then(
        (st) => st.exited,
        (e: unknown) => /exited|no such process/i.test(String(e)),
      );
    }
    assert.ok(ended, 'the simulator exits');
    const err = await c.sim.stderr();
    t.diagnostic(err.split('\n').find((l) => /FATAL|SIGSYS/.test(l)) ?? err.slice(0, 300));
    assert.match(err, /the trapped mmap was skipped|SIGSYS: bad system call/);
  });
});

test('futex: a raw single step into the blocking wait (98) never returns, and a halt does not free it', async (t) => {
  await withControl(t, async (c) => {
    const tid = c.sim.hazardTids.futex!;
    await parkOnSvc(c, tid, 'hazardFutexWait');
    // Every thread is stopped: with the word at the value the waiter expects, FUTEX_WAIT blocks.
    await c.client.set(FUTEX_WORD, '0');
    await assertStepNeverReturnsOn(t, c, tid);
  });
});

test("the product's step timeout on a step blocked in futex: reported as stuck with thread and PC, and that Delve needs a restart", async (t) => {
  await withControl(t, async (c) => {
    const tid = c.sim.hazardTids.futex!;
    const svc = await parkOnSvc(c, tid, 'hazardFutexWait');
    await c.client.set(FUTEX_WORD, '0');
    // The timeout every single step of the adapter goes through, here forced onto the SVC (the
    // decoder never lets it get there): what the user sees if a blocking instruction slips by.
    const r = await stepWithTimeout(c.client, tid, Number(svc), STUCK_MS);
    t.diagnostic(r.description);
    assert.equal(r.kind, 'stuck');
    assert.equal(r.pc, Number(svc));
    assert.match(
      r.description,
      new RegExp(
        `^thread ${tid} stuck in the instruction at PC ${hex(svc)} \\(no answer in ${STUCK_MS} ms\\); Delve does not answer a halt either: restart the debug session`,
      ),
    );
  });
});

test('hazard 4: right after attach, a raw single step of the thread sitting on its futex SVC never returns', async (t) => {
  await withControl(t, async (c) => {
    const tid = c.sim.hazardTids.futex!;
    const svc = c.symbols['kvm.hazardFutexWait.syscall'];
    // arm64 rewinds the interrupted syscall: the thread is on its SVC, about to wait again.
    assert.equal(await pcOf(c.client, tid), svc, 'the futex thread sits on its SVC');
    await c.client.set(FUTEX_WORD, '0');
    await assertStepNeverReturnsOn(t, c, tid);
  });
});

test('vDSO: raw single steps into the clock read do not get back out of the vDSO', async (t) => {
  await withControl(t, async (c) => {
    const tid = c.sim.hazardTids.vdso!;
    const out = execFileSync('go', ['tool', 'objdump', '-s', '^runtime\\.walltime(\\.abi0)?$', c.sim.binary], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const code = out
      .split('\n')
      .map((l) => /^\s+\S+:\d+\s+0x([0-9a-f]+)\s+[0-9a-f]{8}\s+(.*?)\s*$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ pc: BigInt(`0x${m[1]}`), text: m[2] }));
    const i = code.findIndex((x) => /^CALL \(R\d+\)$/.test(x.text));
    assert.ok(i >= 1, `an indirect call in runtime.walltime:\n${out}`);
    const call = code[i].pc;
    // runtime.walltime also runs on other threads: park the vDSO thread itself on the call.
    for (let attempt = 0; ; attempt++) {
      await runTo(c, tid, code[i - 1].pc);
      if ((await stepOnce(c, tid)) === call) break;
      assert.ok(attempt < 10, 'the vDSO thread reaches the call');
    }
    const maps = await vmOutput(vm!, ['sudo', '-n', 'cat', `/proc/${c.sim.pid}/maps`]);
    const m = /^([0-9a-f]+)-([0-9a-f]+) .*\[vdso\]$/m.exec(maps);
    assert.ok(m, `a [vdso] mapping:\n${maps}`);
    const [start, end] = [BigInt(`0x${m[1]}`), BigInt(`0x${m[2]}`)];
    const steps = 60;
    const t0 = Date.now();
    let leftAt: number | undefined;
    let pc = call;
    for (let n = 1; n <= steps && leftAt === undefined; n++) {
      pc = await stepOnce(c, tid);
      if (n > 1 && (pc < start || pc >= end)) leftAt = n;
    }
    t.diagnostic(
      `${steps} single steps in ${Date.now() - t0} ms; PC ${hex(pc)} (${pc >= start && pc < end ? `[vdso]+${hex(pc - start)}` : 'outside the vDSO'})`,
    );
    assert.equal(leftAt, undefined, `the clock read returned to ${hex(call + 4n)} after ${leftAt} steps`);
  });
});
