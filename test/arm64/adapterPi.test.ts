// The debug adapter end to end on the emulated Raspberry Pi: attach over SSH as pi with
// sudo (Delve runs as root in the VM, so the bridge is exercised), the vCPU threads, arm64
// registers, the stack, Go-syntax disassembly, an instruction breakpoint at the signal handler
// (X2 → ucontext, LR → the vDSO trampoline), an instruction step, step over bluepill through a
// two-hop chain, and a detach that leaves the arm64 simulator running with its checks passing.
// One VM boot for the whole file; the arm64 simulator runs inside it as `runsc-sandbox … boot`.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startPiVmOrReason, vmOutput, type PiVm } from '../support/piVm';
import { startSimulatorInVm, type SimulatorInVm } from '../support/piSimulator';
import { textSymbolAddress } from '../support/simulator';
import { attach, collectOutput, newDapClient } from '../support/dapClient';
import { waitFor } from '../support/waitFor';
import type { StepOverResponseBody } from '../../src/protocol/bluepillMessages';

const CONTAINER_ID = 'bluepill-sim-adapter-pi';
const KVM = 'bluepill.sim/pkg/sentry/platform/kvm';
/** arm64 ucontext: uc_mcontext at 176, fault_address 8 bytes, regs[31], sp, then pc (gVisor's CONTEXT_PC). */
const UCONTEXT_PC_OFFSET = 0x1b8;
/** MRS with op0=3 and op1=0 (an EL1 system register): undefined at EL0, so SIGILL. */
const isEl1Mrs = (word: number): boolean => (word & 0xfff70000) >>> 0 === 0xd5300000;

interface SimStatus {
  roundTrips: number;
  twoHopTrips: number;
  checksOK: boolean;
}

let unavailable: string | undefined;
let vm: PiVm | undefined;
let sim: SimulatorInVm;
let dc: DebugClient | undefined;
let output: () => string = () => '';
let attachMs = 0;
/** Delve's pid in the VM, from the adapter's log. */
let dlvPid = 0;
/** The thread stopped at the handler, and what the tests learned there. */
let stoppedTid = 0;
let handlerPc = 0n;
let stepOver: StepOverResponseBody | undefined;

function skipIfUnavailable(t: TestContext): boolean {
  if (unavailable === undefined) return false;
  t.skip(unavailable);
  return true;
}

function symbolAddress(binary: string, name: string): bigint {
  return BigInt(textSymbolAddress(binary, name));
}

const checked = (cmd: string[]): Promise<string> => vmOutput(vm!, cmd);

async function simStatus(): Promise<SimStatus> {
  return (await sim.status()) as unknown as SimStatus;
}

async function waitForRoundTrips(min: number, timeoutMs: number): Promise<SimStatus> {
  let s: SimStatus | undefined;
  return waitFor(
    () => `${min} round trips (last ${s?.roundTrips})`,
    async () => {
      s = await simStatus().catch(() => undefined);
      return s && s.roundTrips >= min ? s : undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

before(async () => {
  ({ vm, unavailable } = await startPiVmOrReason());
  if (!vm) return;
  sim = await startSimulatorInVm(vm, { name: CONTAINER_ID, simFlags: ['--sim-hops=two'] });
  await waitForRoundTrips(5, 60_000);
  dc = newDapClient();
  // Requests over the emulated link are slow; a step over bluepill makes dozens of round trips.
  dc.defaultTimeout = 300_000;
  output = collectOutput(dc);
  const t0 = Date.now();
  await attach(dc, { ssh: vm.hostAlias, sshConfigFile: vm.sshConfigPath, processId: sim.pid, sudo: true });
  attachMs = Date.now() - t0;
  await dc.configurationDoneRequest();
});

after(async () => {
  try {
    await dc?.stop().catch(() => undefined);
    if (vm && sim) await vm.ssh(['sh', '-c', `kill -9 ${sim.pid} 2>/dev/null; true`]).catch(() => undefined);
  } finally {
    await vm?.stop();
  }
});

test('attach over SSH as pi with sudo: Delve runs as root in the VM and lists the vCPU threads', async (t) => {
  if (skipIfUnavailable(t)) return;
  t.diagnostic(`attach over the emulated link: ${attachMs} ms (VM booted in ${vm!.bootSeconds} s)`);
  const dlv = /Delve \S+ \(pid (\d+)\)/.exec(output());
  assert.ok(dlv, `the adapter logged Delve's pid:\n${output()}`);
  dlvPid = Number(dlv[1]);
  const tracer = /^TracerPid:\s+(\d+)$/m.exec(await checked(['cat', `/proc/${sim.pid}/status`]))?.[1];
  assert.ok(tracer && tracer !== '0', 'the simulator is traced');
  const tracerStatus = await checked(['cat', `/proc/${tracer}/status`]);
  assert.match(tracerStatus, /^Name:\s+dlv$/m);
  assert.match(tracerStatus, /^Uid:\s+0\s/m, 'Delve runs as root');
  // TracerPid is the thread that attached (Delve ptraces from one locked OS thread): its Tgid is Delve's pid.
  assert.match(tracerStatus, new RegExp(`^Tgid:\\s+${dlv[1]}$`, 'm'), `the tracer thread ${tracer} belongs to Delve ${dlv[1]}`);
  const threads = (await dc!.threadsRequest()).body.threads.map((th) => th.id);
  for (const tid of sim.vcpuTids) assert.ok(threads.includes(tid), `vCPU thread ${tid} in ${threads.join(',')}`);
});

test("an instruction breakpoint at kvm.sighandler's entry is hit by a vCPU thread, at bluepill's first fault", async (t) => {
  if (skipIfUnavailable(t)) return;
  handlerPc = symbolAddress(sim.binary, `${KVM}.sighandler`);
  const bluepill = symbolAddress(sim.binary, `${KVM}.bluepill`);
  // Two faults per round trip: keep going until a stop is at the first (kvm.bluepill's MRS), so
  // that step over bluepill from here follows the whole two-hop chain.
  let attempts = 0;
  for (;;) {
    attempts++;
    const stopped = dc!.waitForEvent('stopped', 120_000) as Promise<DebugProtocol.StoppedEvent>;
    if (attempts === 1) {
      await dc!.customRequest('setInstructionBreakpoints', { breakpoints: [{ instructionReference: `0x${handlerPc.toString(16)}` }] });
    } else {
      await dc!.continueRequest({ threadId: stoppedTid });
    }
    const ev = await stopped;
    stoppedTid = ev.body.threadId!;
    assert.ok(sim.vcpuTids.includes(stoppedTid), `thread ${stoppedTid} is a vCPU (${sim.vcpuTids.join(',')})`);
    const frame = (await dc!.stackTraceRequest({ threadId: stoppedTid, startFrame: 0, levels: 1 })).body.stackFrames[0];
    assert.equal(BigInt(frame.instructionPointerReference!), handlerPc, 'stopped at the handler entry');
    const x2 = BigInt((await registers(stoppedTid)).get('X2')!);
    const faultPc = await readU64(x2 + BigInt(UCONTEXT_PC_OFFSET));
    if (faultPc >= bluepill && faultPc < bluepill + 16n) break;
    assert.ok(attempts < 20, 'a stop at the first fault within 20 handler hits');
  }
  await dc!.customRequest('setInstructionBreakpoints', { breakpoints: [] });
  t.diagnostic(`stopped at the first fault after ${attempts} handler hit(s)`);
});

test('the registers scope shows arm64 registers: X0…X30, SP, PC (PSTATE when Delve reports it)', async (t) => {
  if (skipIfUnavailable(t)) return;
  const regs = await registers(stoppedTid);
  for (let i = 0; i <= 30; i++) assert.ok(regs.has(`X${i}`), `X${i} in ${[...regs.keys()].join(',')}`);
  for (const name of ['SP', 'PC']) assert.ok(regs.has(name), `${name} in ${[...regs.keys()].join(',')}`);
  assert.equal(BigInt(regs.get('PC')!), handlerPc);
  assert.ok(!regs.has('RIP') && !regs.has('Rax'), 'no amd64 names');
  // Delve 1.20.2 leaves PSTATE out of ListRegisters on arm64 (with or without FP registers); the
  // host and guest context panes show it from the ucontext, checked with step over bluepill below.
  if (regs.has('PSTATE')) assert.match(regs.get('PSTATE')!, /^0x[0-9a-f]+$/);
  else t.diagnostic(`Delve reports no PSTATE for a live arm64 thread: ${[...regs.keys()].join(',')}`);
});

test('at the handler entry X2 points at the ucontext (its PC is an EL1 MRS) and LR is in the vDSO', async (t) => {
  if (skipIfUnavailable(t)) return;
  const regs = await registers(stoppedTid);
  const x2 = BigInt(regs.get('X2')!);
  const faultPc = await readU64(x2 + BigInt(UCONTEXT_PC_OFFSET));
  const word = Number(await readU32(faultPc));
  assert.ok(isEl1Mrs(word), `the ucontext PC 0x${faultPc.toString(16)} holds an EL1 MRS (0x${word.toString(16)})`);
  const vdso = await vdsoRange();
  const lr = BigInt(regs.get('X30')!);
  assert.ok(lr >= vdso.start && lr < vdso.end, `LR 0x${lr.toString(16)} in [vdso] ${vdso.text}`);
});

test('stackTrace of the stopped thread starts in kvm.sighandler', async (t) => {
  if (skipIfUnavailable(t)) return;
  const ms: number[] = [];
  let frames: DebugProtocol.StackFrame[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    frames = (await dc!.stackTraceRequest({ threadId: stoppedTid, startFrame: 0, levels: 20 })).body.stackFrames;
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  assert.ok(frames.length >= 1);
  assert.match(frames[0].name, /kvm\.sighandler/);
  t.diagnostic(`stackTrace (${frames.length} frames) median ${median(ms).toFixed(1)} ms over 5 calls: ${frames.map((f) => f.name).join(' ← ')}`);
});

test('disassembly from the PC is arm64 in Go syntax', async (t) => {
  if (skipIfUnavailable(t)) return;
  const instructions = await disassemble(handlerPc, 0, 8);
  assert.equal(BigInt(instructions[0].address), handlerPc);
  assert.match(instructions[0].instruction, /^MOVD\.W R30, -32\(RSP\)$/);
  assert.equal(BigInt(instructions[1].address), handlerPc + 4n, 'fixed 4-byte instructions');
  assert.match(instructions[1].instruction, /^CMPW \$4, R0$/);
  assert.ok(
    instructions.every((i) => i.presentationHint !== 'invalid'),
    instructions.map((i) => `${i.address} ${i.instruction}`).join('\n'),
  );
});

// Window shapes as the Disassembly view asks them (it always starts at a negative offset); arm64
// instructions are 4 bytes, so every address must be the PC plus a multiple of 4.
for (const [offset, count] of [
  [-4, 8],
  [-2, 8],
  [-1, 3],
  [0, 3],
] as const) {
  test(`disassembly around the PC (instructionOffset ${offset}, instructionCount ${count}) is arm64 in Go syntax`, async (t) => {
    if (skipIfUnavailable(t)) return;
    const instructions = await disassemble(handlerPc, offset, count);
    const listing = instructions.map((i) => `${i.address} ${i.instruction}`).join('\n');
    assert.equal(instructions.length, count);
    instructions.forEach((insn, k) => assert.equal(BigInt(insn.address), handlerPc + BigInt(4 * (offset + k)), listing));
    assert.ok(
      instructions.every((i) => i.presentationHint !== 'invalid'),
      `every instruction decoded:\n${listing}`,
    );
    assert.match(instructions[-offset].instruction, /^MOVD\.W R30, -32\(RSP\)$/, listing);
  });
}

test('an instruction step moves the PC by one instruction', async (t) => {
  if (skipIfUnavailable(t)) return;
  const stopped = dc!.waitForEvent('stopped', 120_000) as Promise<DebugProtocol.StoppedEvent>;
  const t0 = Date.now();
  await dc!.stepInRequest({ threadId: stoppedTid, granularity: 'instruction' });
  const ev = await stopped;
  t.diagnostic(`stepIn (instruction) through DAP: ${Date.now() - t0} ms`);
  assert.equal(ev.body.threadId, stoppedTid);
  // The first stackTrace after a stop is the one the adapter cannot answer from its cache.
  const t1 = process.hrtime.bigint();
  const frames = (await dc!.stackTraceRequest({ threadId: stoppedTid, startFrame: 0, levels: 20 })).body.stackFrames;
  t.diagnostic(`first stackTrace after the stop: ${(Number(process.hrtime.bigint() - t1) / 1e6).toFixed(0)} ms (${frames.length} frames)`);
  assert.equal(BigInt(frames[0].instructionPointerReference!), handlerPc + 4n);
  assert.equal(BigInt((await registers(stoppedTid)).get('PC')!), handlerPc + 4n);
});

test('step over bluepill follows the two-hop chain: landing PC = guest context PC, host context PC = faulting PC', async (t) => {
  if (skipIfUnavailable(t)) return;
  const bluepill = symbolAddress(sim.binary, `${KVM}.bluepill`);
  const kernelExit = symbolAddress(sim.binary, 'bluepill.sim/pkg/ring0.kernelExitToEl0');
  const stopped = dc!.waitForEvent('stopped', 300_000) as Promise<DebugProtocol.StoppedEvent>;
  const t0 = Date.now();
  const res = await dc!.customRequest('bluepill/stepOver', { threadId: stoppedTid });
  const elapsed = Date.now() - t0;
  const body = res.body as StepOverResponseBody;
  stepOver = body;
  t.diagnostic(`step over bluepill: ${elapsed} ms for ${body.hops.length} hop(s) (${(elapsed / Math.max(1, body.hops.length)).toFixed(0)} ms per hop)`);
  t.diagnostic(body.description);
  assert.equal(body.stopReason, 'landed', body.description);
  assert.equal(body.hops.length, 2, 'the two-hop chain: bluepill, then kernelExitToEl0');
  const [first, second] = body.hops;
  for (const hop of body.hops) {
    assert.ok(hop.host, `hop ${hop.index}: the host context was read at the handler entry`);
    assert.equal(hop.fault?.pc, hop.host.pc, `hop ${hop.index}: the host context PC is the faulting PC`);
    assert.equal(hop.landing.pc, hop.guest.pc, `hop ${hop.index}: landed where the handler wrote the PC`);
    assert.equal(hop.threadId, stoppedTid);
    assert.match(hop.signal, /SIGILL/);
    // PSTATE from the ucontext, decoded (Delve has none for the live thread).
    for (const ctx of [hop.host, hop.guest]) {
      assert.match(ctx.flags, /^0x[0-9a-f]+$/);
      assert.match(ctx.flagsText, /EL0/, `${ctx.title}: ${ctx.flagsText}`);
      for (let i = 0; i <= 30; i++)
        assert.ok(
          ctx.registers.some((r) => r.name === `X${i}`),
          `${ctx.title} has X${i}`,
        );
    }
    assert.ok(
      hop.guest.registers.some((r) => r.changed),
      `hop ${hop.index}: the guest exit changed registers`,
    );
  }
  assert.equal(BigInt(first.fault!.pc), bluepill + 4n, `first fault: ${first.fault!.text} ${first.fault!.instruction ?? ''}`);
  assert.match(first.fault!.text, /kvm\.bluepill\+0x4/);
  assert.match(first.fault!.instruction ?? '', /^MRS /, 'the faulting instruction is the MRS');
  assert.equal(BigInt(second.fault!.pc), kernelExit, `second fault: ${second.fault!.text}`);
  assert.equal(first.landing.pc, second.fault!.pc, 'the first hop lands on the second fault');
  assert.match(second.landing.text, /guestExitSyscall/);
  const ev = await stopped;
  assert.equal(ev.body.threadId, stoppedTid);
  assert.match(ev.body.description ?? '', /^bluepill: 0x[0-9a-f]+ kvm\.bluepill\+0x4 → 0x[0-9a-f]+ kvm\.guestExitSyscall\+0x[0-9a-f]+ \(2 hops\)$/);
  const frame = (await dc!.stackTraceRequest({ threadId: stoppedTid, startFrame: 0, levels: 1 })).body.stackFrames[0];
  assert.equal(BigInt(frame.instructionPointerReference!), BigInt(second.landing.pc), 'the call stack shows the landing PC');
});

test("each hop's trampoline, found from LR, is the vDSO's rt_sigreturn", async (t) => {
  if (skipIfUnavailable(t)) return;
  assert.ok(stepOver, 'step over bluepill ran');
  const vdso = await vdsoRange();
  for (const hop of stepOver.hops) {
    const pc = BigInt(hop.trampoline.pc);
    assert.ok(pc >= vdso.start && pc < vdso.end, `hop ${hop.index}: trampoline ${hop.trampoline.pc} in [vdso]`);
    // `mov x8, #139` (rt_sigreturn); `svc #0`
    assert.equal((await readMemory(pc, 8)).toString('hex'), '681180d2010000d4');
  }
  assert.match(stepOver.markdown, /trampoline: rt_sigreturn/);
});

test('the trampoline is named as the vDSO in the hop text', async (t) => {
  if (skipIfUnavailable(t)) return;
  assert.ok(stepOver, 'step over bluepill ran');
  for (const hop of stepOver.hops) assert.match(hop.trampoline.text, /vdso/i, `hop ${hop.index}: ${hop.trampoline.text}`);
});

test('after continue and disconnect Delve is gone, the simulator keeps running in the VM and its checks pass', async (t) => {
  if (skipIfUnavailable(t)) return;
  await dc!.continueRequest({ threadId: stoppedTid });
  await dc!.disconnectRequest({});
  const gone = await waitFor(`Delve ${dlvPid} to exit in the VM`, async () => (await vm!.ssh(['test', '-e', `/proc/${dlvPid}`])).code !== 0, {
    timeoutMs: 60_000,
    intervalMs: 500,
  }).catch(() => false);
  assert.ok(gone, `Delve ${dlvPid} still runs in the VM 60 s after disconnect`);
  const before = (await simStatus()).roundTrips;
  const status = await waitForRoundTrips(before + 5, 120_000);
  assert.equal(status.checksOK, true);
  assert.ok(status.twoHopTrips > 0, 'two-hop round trips');
  const proc = await checked(['cat', `/proc/${sim.pid}/status`]);
  assert.match(proc, /^TracerPid:\s+0$/m, 'no tracer after disconnect');
  assert.doesNotMatch(proc, /^State:\s+[tTZX]/m);
  const stderr = await sim.stderr();
  assert.doesNotMatch(stderr, /FATAL/);
});

/** The simulator's [vdso] mapping, from /proc/PID/maps in the VM. */
async function vdsoRange(): Promise<{ start: bigint; end: bigint; text: string }> {
  const maps = await checked(['cat', `/proc/${sim.pid}/maps`]);
  const m = /^([0-9a-f]+)-([0-9a-f]+) .*\[vdso\]$/m.exec(maps);
  assert.ok(m, `a [vdso] mapping:\n${maps}`);
  return { start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), text: m[0] };
}

async function disassemble(address: bigint, instructionOffset: number, instructionCount: number): Promise<DebugProtocol.DisassembledInstruction[]> {
  const res = await dc!.customRequest('disassemble', {
    memoryReference: `0x${address.toString(16)}`,
    instructionOffset,
    instructionCount,
    resolveSymbols: true,
  } satisfies DebugProtocol.DisassembleArguments);
  return (res.body as NonNullable<DebugProtocol.DisassembleResponse['body']>).instructions;
}

/** The registers of frame 0 of a thread, by name, through the registers scope. */
async function registers(threadId: number): Promise<Map<string, string>> {
  const frame = (await dc!.stackTraceRequest({ threadId, startFrame: 0, levels: 1 })).body.stackFrames[0];
  const scopes = (await dc!.scopesRequest({ frameId: frame.id })).body.scopes;
  const scope = scopes.find((s) => s.presentationHint === 'registers');
  assert.ok(scope, 'a registers scope');
  const vars = (await dc!.variablesRequest({ variablesReference: scope.variablesReference })).body.variables;
  // Delve prints `0x…` first; flags registers may add a decoded part after a space.
  return new Map(vars.map((v) => [v.name, v.value.split(/\s/)[0]]));
}

async function readMemory(address: bigint, count: number): Promise<Buffer> {
  const res = await dc!.customRequest('readMemory', { memoryReference: `0x${address.toString(16)}`, count });
  const data = Buffer.from((res.body as { data: string }).data, 'base64');
  assert.equal(data.length, count, `${count} bytes at 0x${address.toString(16)}`);
  return data;
}

async function readU64(address: bigint): Promise<bigint> {
  return (await readMemory(address, 8)).readBigUInt64LE(0);
}

async function readU32(address: bigint): Promise<number> {
  return (await readMemory(address, 4)).readUInt32LE(0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
