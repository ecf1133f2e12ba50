// Guest-mode safety through the debug adapter (DAP, as VS Code drives it) on the amd64 simulator
// with real Delve. The simulator models gVisor's code kinds (test/fixtures/bluepill-sim/README.md,
// "Checks"): kvm.guestExitSyscall, where step over bluepill lands, is dual-mode code (a breakpoint
// there costs a guest exit and is otherwise harmless); ring0.kernelExitToEl0 after its first
// instruction and kvm.bluepill from its fault on are guest-only (any breakpoint there makes the
// simulator abort with FATAL).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { execFileSync } from 'node:child_process';
import { resolveToolchain, type RunningSimulator, type SimStatus } from '../../support/simulator';
import { hex, nextStop, pcOf, stepInstruction, stepOverBluepill } from '../../support/dapSession';
import { attach, newDapClient, simulatorSession } from '../../support/dapClient';

let sim: RunningSimulator;
let dc: DebugClient;
let symbols: Record<string, number>;

before(async () => {
  // Two-hop trips: maxHops 1 then stops on ring0.kernelExitToEl0's faulting instruction. Short
  // trips back to back on three vCPUs: the others enter the handler (and check guest-only code)
  // often, also during the short runs of a step. (With the simulator of before, which took
  // kvm.guestExitSyscall for guest-only code, the two landing tests failed 4 runs in 4 so.)
  let st: SimStatus;
  ({ sim, dc, status: st } = await simulatorSession({ vcpus: 3, hops: 'two', interval: '1ms', guestSpin: '50us' }, 5, 30_000));
  symbols = Object.fromEntries(Object.entries(st.symbols as Record<string, string>).map(([k, v]) => [k, Number(v)]));
});

after(async () => {
  await dc?.stop().catch(() => undefined);
  await sim?.stop();
});

const SYSCALL_LEN = 2; // amd64 SYSCALL

/** The simulator makes progress (with Delve attached or not), its checks hold and it printed no FATAL. */
async function assertSimulatorRunsOn(rounds = 5): Promise<SimStatus> {
  const before = (await sim.status()).roundTrips;
  const st = await sim.waitForProgress(before + rounds, 60_000);
  assert.equal(st.checksOK, true);
  assert.doesNotMatch(sim.stderr(), /FATAL/);
  assert.ok(sim.alive(), sim.stderr());
  return st;
}

/** A stopped event, or a failure naming the simulator's last words as soon as it dies. */
async function stopOrDeath(stopped: Promise<DebugProtocol.StoppedEvent>): Promise<DebugProtocol.StoppedEvent> {
  let timer: NodeJS.Timeout | undefined;
  const death = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      if (!sim.alive()) reject(new Error(`the simulator died while waiting for the stop:\n${sim.stderr()}`));
    }, 200);
  });
  try {
    return await Promise.race([stopped, death]);
  } finally {
    clearInterval(timer);
    stopped.catch(() => undefined);
  }
}

async function continueAndCheck(threadId: number): Promise<SimStatus> {
  await dc.continueRequest({ threadId });
  return assertSimulatorRunsOn();
}

/** The CALL of kvm.bluepill in kvm.roundTrip (host-only code), from the binary (Delve disassembles only a stopped target). */
async function callSiteOfBluepill(): Promise<number> {
  const { go } = await resolveToolchain('debian12');
  const out = execFileSync(go, ['tool', 'objdump', '-s', '^bluepill.sim/pkg/sentry/platform/kvm.roundTrip$', sim.binary], { encoding: 'utf8' });
  const call = out.split('\n').find((l) => /\bCALL .*kvm\.bluepill(\.abi0)?\(SB\)/.test(l));
  assert.ok(call, `a CALL kvm.bluepill in kvm.roundTrip:\n${out}`);
  return parseInt(call.trim().split(/\s+/)[1], 16);
}

/**
 * From a running target: a vCPU thread stopped on kvm.bluepill's first instruction, through a
 * breakpoint on its call site in roundTrip and one instruction step.
 */
async function parkBeforeFault(): Promise<number> {
  const site = await callSiteOfBluepill();
  const stopped = nextStop(dc, 60_000);
  const set = await dc.customRequest('setInstructionBreakpoints', { breakpoints: [{ instructionReference: hex(site) }] });
  assert.equal(set.body.breakpoints[0].verified, true, set.body.breakpoints[0].message);
  const ev = await stopped;
  await dc.customRequest('setInstructionBreakpoints', { breakpoints: [] });
  const tid = ev.body.threadId!;
  assert.ok(sim.vcpuTids.includes(tid), `a vCPU thread stopped at the call site (${tid})`);
  assert.equal(await pcOf(dc, tid), site);
  await stepInstruction(dc, tid);
  assert.equal(await pcOf(dc, tid), symbols['kvm.bluepill'], "on kvm.bluepill's first instruction");
  return tid;
}

/** Step over bluepill from before the fault to the landing on kvm.guestExitSyscall's SYSCALL. */
async function landOnGuestExit(): Promise<number> {
  const tid = await parkBeforeFault();
  const r = await stepOverBluepill(dc, tid);
  assert.equal(r.body.stopReason, 'landed', r.body.description);
  assert.doesNotMatch(sim.stderr(), /FATAL/);
  assert.equal(r.event.body.threadId, tid);
  assert.equal(await pcOf(dc, tid), symbols['kvm.guestExitSyscall.landing'], 'on the landing SYSCALL');
  return tid;
}

test('after step over bluepill, a line next on the landing SYSCALL completes; the simulator runs on (dual-mode code)', async (t) => {
  const tid = await landOnGuestExit();
  // Delve's next puts a breakpoint on every line of kvm.guestExitSyscall; the other vCPU hops
  // meanwhile (a second next: one more such window).
  let pc = symbols['kvm.guestExitSyscall.landing'];
  for (let i = 0; i < 2; i++) {
    const ev = await stopOrDeath(
      (async () => {
        const stopped = nextStop(dc, 120_000);
        await dc.nextRequest({ threadId: tid });
        return stopped;
      })(),
    );
    assert.equal(ev.body.threadId, tid);
    assert.doesNotMatch(ev.body.description ?? '', /refused|cancelled/, ev.body.description);
    const now = await pcOf(dc, tid);
    assert.notEqual(now, pc, `next ${i + 1} moved the thread on from ${hex(pc)}`);
    pc = now;
    t.diagnostic(`next ${i + 1}: ${ev.body.description ?? '(no description)'}; now at ${hex(pc)}`);
  }
  const st = await continueAndCheck(tid);
  t.diagnostic(`dualModeBreakpointExits ${String(st.dualModeBreakpointExits)} (other vCPUs landing on Delve's next breakpoints)`);
});

test('an instruction next on the landing SYSCALL completes past the instruction after it; the simulator runs on', async (t) => {
  const tid = await landOnGuestExit();
  const stopped = nextStop(dc, 120_000);
  await dc.nextRequest({ threadId: tid, granularity: 'instruction' });
  const ev = await stopOrDeath(stopped);
  assert.equal(ev.body.threadId, tid);
  assert.doesNotMatch(ev.body.description ?? '', /refused|cancelled|stuck/, ev.body.description);
  // The breakpoint goes one plain instruction past the SYSCALL's return address (MOVQ AX,
  // vCPU_result(R12): 5 bytes), where no other vCPU can be parked inside the call.
  assert.match(ev.body.description ?? '', /with a breakpoint after the next instruction \(MOVQ AX, /, ev.body.description);
  assert.equal(await pcOf(dc, tid), symbols['kvm.guestExitSyscall.landing'] + SYSCALL_LEN + 5, 'past the MOVQ after the SYSCALL');
  t.diagnostic(`next (instruction): ${ev.body.description ?? '(no description)'}`);
  await continueAndCheck(tid);
});

test("maxHops 1 on a two-hop trip stops on ring0.kernelExitToEl0's faulting instruction; a line next there is refused and moves nothing", async (t) => {
  const tid = await parkBeforeFault();
  const r = await stepOverBluepill(dc, tid, 1);
  assert.equal(r.body.stopReason, 'max-hops', r.body.description);
  const at = symbols['ring0.kernelExitToEl0'];
  assert.equal(await pcOf(dc, tid), at, "on kernelExitToEl0's first instruction");
  const stopped = nextStop(dc, 60_000);
  let refusal: string;
  try {
    await dc.nextRequest({ threadId: tid });
    refusal = (await stopped).body.description ?? '';
  } catch (err) {
    refusal = (err as Error).message;
    stopped.catch(() => undefined);
  }
  t.diagnostic(`next at ${hex(at)}: ${refusal}`);
  assert.match(refusal, /refused/);
  assert.match(refusal, /runs only in guest mode|where no breakpoint may go/);
  assert.equal(await pcOf(dc, tid), at, 'the thread has not moved');
  // Nothing was planted: the simulator's guest-only check would abort on any breakpoint there.
  await continueAndCheck(tid);
});

test('a user breakpoint on the landing (dual-mode) stops a vCPU in host mode after one extra guest exit; continuing over it keeps every check', async () => {
  const landing = symbols['kvm.guestExitSyscall.landing'];
  const before = Number((await sim.status()).dualModeBreakpointExits ?? 0);
  const stopped = nextStop(dc, 60_000);
  const set = await dc.customRequest('setInstructionBreakpoints', { breakpoints: [{ instructionReference: hex(landing) }] });
  const bp = (set.body as DebugProtocol.SetInstructionBreakpointsResponse['body']).breakpoints[0];
  assert.equal(bp.verified, true, bp.message);
  const ev = await stopped;
  const tid = ev.body.threadId!;
  assert.equal(ev.body.reason, 'instruction breakpoint');
  assert.equal(await pcOf(dc, tid), landing);
  await dc.customRequest('setInstructionBreakpoints', { breakpoints: [] });
  const st = await continueAndCheck(tid);
  assert.ok(Number(st.dualModeBreakpointExits) > before, `dualModeBreakpointExits ${String(st.dualModeBreakpointExits)} > ${before}`);
});

test('disconnect: the simulator keeps running with its checks passing (no breakpoint left in guest-only code)', async () => {
  await dc.disconnectRequest({});
  await dc.stop();
  await assertSimulatorRunsOn(10);
});

test("instruction breakpoints in guest-only code and on kvm.bluepill's faulting instruction are not set, and say why", async (t) => {
  // A new session on the same simulator.
  dc = newDapClient();
  await attach(dc, { processId: sim.pid });
  await dc.configurationDoneRequest();
  const guestOnly = symbols['ring0.kernelExitToEl0.guestOnly'];
  const fault = symbols['kvm.bluepill.fault'];
  assert.ok(guestOnly > symbols['ring0.kernelExitToEl0'], "the simulator names kernelExitToEl0's first guest-only instruction");
  const set = await dc.customRequest('setInstructionBreakpoints', {
    breakpoints: [{ instructionReference: hex(guestOnly) }, { instructionReference: hex(fault) }],
  });
  const [inRing0, onFault] = (set.body as DebugProtocol.SetInstructionBreakpointsResponse['body']).breakpoints;
  t.diagnostic(`${hex(guestOnly)}: verified ${inRing0.verified}, ${inRing0.message ?? '(no message)'}`);
  t.diagnostic(`${hex(fault)}: verified ${onFault.verified}, ${onFault.message ?? '(no message)'}`);
  if (inRing0.verified || onFault.verified) {
    // Planted: take them out at once (the simulator aborts on the next hop if it has not already).
    await dc.customRequest('setInstructionBreakpoints', { breakpoints: [] }).catch(() => undefined);
  }
  assert.equal(inRing0.verified, false, `kernelExitToEl0+${guestOnly - symbols['ring0.kernelExitToEl0']} was set`);
  assert.match(inRing0.message ?? '', /runs only in guest mode/);
  assert.equal(onFault.verified, false, "kvm.bluepill's faulting instruction was set");
  assert.match(onFault.message ?? '', /raises the bluepill signal|faulting|would replace it/);
  await assertSimulatorRunsOn();
  await dc.disconnectRequest({});
  await assertSimulatorRunsOn();
});
