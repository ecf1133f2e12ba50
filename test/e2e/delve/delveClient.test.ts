// The Delve client against real Delve (Debian's dlv) attached to the bluepill simulator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type RunningSimulator } from '../../support/simulator';
import { startLocalDelve, type RunningDelve } from '../../../src/target/localDelve';
import { DelveClient } from '../../../src/delve/delveClient';
import { DelveConnectionClosedError, DelveError, DelveTimeoutError } from '../../../src/delve/delveErrors';
import { AsmFlavour } from '../../../src/delve/delveTypes';
import { processStateLetter } from '../../../src/transport/processState';
import { waitFor } from '../../support/waitFor';

let sim: RunningSimulator;
let dlv: RunningDelve;
let client: DelveClient;

before(async () => {
  sim = await startSimulator({ vcpus: 2 });
  await sim.waitForProgress(5, 20_000);
  dlv = await startLocalDelve({ pid: sim.pid });
  client = new DelveClient(await dlv.connect(), { timeoutMs: 20_000 });
});

after(async () => {
  client?.close();
  await dlv?.stop();
  await sim?.stop();
});

async function entryOf(name: string): Promise<number> {
  const locs = await client.findLocation(name);
  assert.ok(locs.length > 0, `Delve finds ${name}`);
  const fn = locs[0].function;
  assert.ok(fn, `${name} has a function`);
  return fn.value;
}

test('GetVersion reports API v2 and the target is stopped after attach', async () => {
  const v = await client.getVersion();
  assert.equal(v.APIVersion, 2);
  assert.match(v.DelveVersion, /Version: \d+\.\d+\.\d+/);
  const st = await client.state();
  assert.equal(st.Running, false);
  assert.equal(st.Pid, sim.pid);
});

test('ListThreads lists the OS threads, including every vCPU thread', async () => {
  const threads = await client.listThreads();
  const ids = threads.map((t) => t.id);
  for (const tid of sim.vcpuTids) assert.ok(ids.includes(tid), `vCPU thread ${tid} is listed (${ids.join(',')})`);
  assert.ok(ids.includes(sim.pid), 'the main thread is listed');
});

test("a thread's live registers: PC, SP and general registers as hex strings", async () => {
  const tid = sim.vcpuTids[0];
  const regs = await client.listRegisters(tid);
  const names = regs.map((r) => r.Name);
  for (const n of ['Rip', 'Rsp', 'Rax', 'Rdx', 'Rflags']) assert.ok(names.includes(n), `${n} in ${names.join(',')}`);
  for (const r of regs) assert.match(r.Value, /^0x[0-9a-f]+/);
  const threads = await client.listThreads();
  const pc = Number(regs.find((r) => r.Name === 'Rip')!.Value.split(/\s/)[0]);
  assert.equal(pc, threads.find((t) => t.id === tid)!.pc, 'Rip equals the thread PC ListThreads reports');
});

test('a breakpoint at the signal handler is hit by a vCPU thread, and the ucontext in memory holds the faulting CLI', async () => {
  const handler = await entryOf('bluepill.sim/pkg/sentry/platform/kvm.sighandler').catch(() => entryOf('kvm.sighandler'));
  const bluepill = await entryOf('kvm.bluepill');
  const bp = await client.createBreakpoint({ addrs: [handler] });
  try {
    const st = await client.continue({ timeoutMs: 20_000 });
    const th = st.currentThread!;
    assert.equal(th.pc, handler, 'stopped at the handler entry');
    assert.ok(sim.vcpuTids.includes(th.id), `a vCPU thread hit it (${th.id})`);
    assert.equal(th.breakPoint?.id, bp.id);
    // amd64: DX = &ucontext; gregs RIP at +0xa8 (gVisor's CONTEXT_RIP)
    const regs = await client.listRegisters(th.id);
    const uc = Number(regs.find((r) => r.Name === 'Rdx')!.Value);
    const mem = await client.examineMemory(uc + 0xa8, 8);
    const faultPc = Number(mem.readBigUInt64LE(0));
    // The simulator's round trips fault in kvm.bluepill, and in a two-hop chain again in
    // ring0.kernelExitToEl0: the handler may be entered from either CLI.
    const ring0 = await entryOf('ring0.kernelExitToEl0').catch(() => undefined);
    const code = [...(await client.disassemble(bluepill, 0, AsmFlavour.Go)), ...(ring0 ? await client.disassemble(ring0, 0, AsmFlavour.Go) : [])];
    const faulting = code.find((i) => i.Loc.pc === faultPc);
    assert.ok(faulting, `the saved RIP 0x${faultPc.toString(16)} is an instruction of kvm.bluepill or ring0.kernelExitToEl0`);
    assert.equal(Buffer.from(faulting.Bytes, 'base64')[0], 0xfa, 'and it is CLI');
    assert.equal(faulting.Text, 'CLI');
  } finally {
    await client.clearBreakpoint(bp.id);
  }
});

test("examineMemory reads past Delve's per-call limit, in order: the bytes match the disassembly", async () => {
  const start = await entryOf('runtime.mallocgc');
  const code = await client.disassemble(start, start + 2600, AsmFlavour.Go);
  const fromDisasm = Buffer.concat(code.map((i) => Buffer.from(i.Bytes, 'base64')));
  const mem = await client.examineMemory(start, fromDisasm.length);
  assert.ok(fromDisasm.length > 2000, 'more than two chunks');
  assert.equal(mem.length, fromDisasm.length);
  assert.ok(mem.equals(fromDisasm), 'same bytes as the instructions Delve decoded');
});

test('stepInstruction moves the current thread by one instruction', async () => {
  const before = (await client.state()).currentThread!;
  const code = await client.disassemble(before.pc, before.pc + 16, AsmFlavour.Go);
  const st = await client.stepInstruction({ threadID: before.id, timeoutMs: 10_000 });
  assert.equal(st.currentThread!.id, before.id);
  assert.equal(st.currentThread!.pc, code[1].Loc.pc, 'landed on the next instruction');
});

test('halt stops a continue that is in flight', async () => {
  const running = client.continue();
  const inFlight = await waitFor(
    'the continue to be in flight',
    async () => {
      const st = await client.state(true);
      return st.Running ? st : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 50 },
  ).catch(() => client.state(true));
  assert.equal(inFlight.Running, true, 'the target is running');
  await client.halt({ timeoutMs: 10_000 });
  const st = await running;
  assert.equal(st.Running, false);
  assert.equal(st.exited, false);
});

test("Delve's refusal becomes a typed error with Delve's message", async () => {
  await assert.rejects(client.clearBreakpoint(987654), (e: unknown) => e instanceof DelveError && /987654/.test(e.delveMessage));
  await assert.rejects(client.eval('no_such_variable_here'), DelveError);
});

test('a call that gets no answer in time times out without breaking the connection', async () => {
  const running = client.continue();
  // State without NonBlocking waits for the running target: it cannot answer in 200 ms.
  await assert.rejects(client.state(false, { timeoutMs: 200 }), DelveTimeoutError);
  await client.halt({ timeoutMs: 10_000 });
  await running;
  assert.equal((await client.state()).Running, false);
});

test('detach leaves the simulator running and making progress; other connections are closed', async () => {
  const second = new DelveClient(await dlv.connect(), { timeoutMs: 20_000 });
  assert.equal((await second.getVersion()).APIVersion, 2);
  const beforeCount = (await sim.status()).roundTrips;
  await client.detach(false);
  await dlv.stop();
  await assert.rejects(second.getVersion(), DelveConnectionClosedError);
  const after = await sim.waitForProgress(beforeCount + 5, 20_000);
  assert.ok(after.roundTrips >= beforeCount + 5, 'round trips go on after detach');
  assert.equal(after.checksOK, true, 'no breakpoint left in guest code, every landing matched');
  const state = await processStateLetter(sim.pid);
  assert.ok(state && state !== 'T' && state !== 't', `the simulator is not stopped (state ${state})`);
  assert.ok(sim.alive());
});
