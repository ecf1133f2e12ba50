// Real gVisor on arm64: runsc 20221219 (built from Debian's source, DWARF kept) with
// --platform=kvm on the emulated Pi's own /dev/kvm, attached through the debug adapter over SSH as
// pi with sudo. Every round trip is real: MRS TPIDR_EL1 → SIGILL → kvm.sighandler →
// bluepillHandler → KVM_RUN → the vDSO's rt_sigreturn → the guest exit PC. Each test is one debug
// session and ends with the sandbox alive, not stopped, untraced, with no SIGTRAP pending, no Delve
// or bridge left, and its workload (a loop of /bin/true) still making new processes.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startPiVmOrReason, type PiVm } from '../support/piVm';
import { startRunscInVm, type RunscInVm } from '../support/runscInPi';
import { runscOrReason } from '../support/runsc';
import { textSymbolAddress } from '../support/simulator';
import { ProgressEvent, type WireHop } from '../../src/protocol/bluepillMessages';
import {
  assertLandedOnUcontextPc,
  hex,
  instructionAt,
  nextStop,
  pause,
  pcOf,
  readMemory,
  registers,
  STOP_TIMEOUT_MS,
  stepInstruction,
  stepOverBluepill,
  stopAt,
  threadInFunction,
  type StepOverRun,
} from '../support/dapSession';
import { SshRunner } from '../../src/transport/sshTransport';
import { attachTarget, type AttachedTarget } from '../../src/target/attachTarget';
import { listSandboxes } from '../../src/transport/sandboxListing';
import { resolveAttachConfig } from '../../src/config/attachConfig';
import { withCheckedSession, type CheckedSession } from '../support/checkedSession';

const KVM = 'gvisor.dev/gvisor/pkg/sentry/platform/kvm';
/** arm64 futex. */
const SYS_FUTEX = 98;

let unavailable: string | undefined;
let vm: PiVm | undefined;
let sandbox: RunscInVm;
let binary = '';
const sym: Record<string, number> = {};

function skipIfUnavailable(t: TestContext): boolean {
  if (unavailable === undefined) return false;
  t.skip(unavailable);
  return true;
}

before(async () => {
  const runsc = await runscOrReason('arm64');
  if ('unavailable' in runsc) {
    unavailable = runsc.unavailable;
    return;
  }
  binary = runsc.binary;
  ({ vm, unavailable } = await startPiVmOrReason({ kvm: true }));
  if (!vm) return;
  if ((await vm.ssh(['test', '-c', '/dev/kvm'])).code !== 0) throw new Error('the Pi booted with --kvm has no /dev/kvm');
  sandbox = await startRunscInVm(vm, binary, { name: 'bluepill-runsc-pi' });
  for (const name of ['sighandler', 'bluepill']) sym[name] = textSymbolAddress(binary, `${KVM}.${name}`);
});

after(async () => {
  try {
    await sandbox?.stop();
  } finally {
    await vm?.stop();
  }
});

/** One debug session on the sandbox; afterwards the sandbox must be healthy. */
function withSession(t: TestContext, config: Record<string, unknown>, body: (s: CheckedSession) => Promise<void>): Promise<void> {
  const target = { ssh: vm!.hostAlias, sshConfigFile: vm!.sshConfigPath, sudo: true, processId: sandbox.pid };
  return withCheckedSession(
    t,
    { config: { ...target, ...config }, label: 'attach over SSH', defaultTimeoutMs: STOP_TIMEOUT_MS, assertHealthy: (what) => sandbox.assertHealthy(what) },
    body,
  );
}

/** Real exits land on code that does not fault again; the trampoline is the vDSO's rt_sigreturn. */
async function landed(dc: DebugClient, tid: number, r: StepOverRun): Promise<WireHop> {
  assert.equal(r.body.stopReason, 'landed', r.body.description);
  for (const hop of r.body.hops) assert.match(hop.trampoline.text, /vdso/i, `hop ${hop.index}: the trampoline is the vDSO's rt_sigreturn`);
  return assertLandedOnUcontextPc(dc, tid, r, /SIGILL/);
}

test('attach by pid, by container id and through the sandbox listing: the threads are /proc/PID/task', async (t) => {
  if (skipIfUnavailable(t)) return;
  const runner = await SshRunner.open({ destination: vm!.hostAlias, configFile: vm!.sshConfigPath });
  let listed;
  try {
    listed = (await listSandboxes(runner)).find((s) => s.pid === sandbox.pid);
  } finally {
    await runner.close();
  }
  assert.ok(listed, `the sandbox listing (what the picker shows) has pid ${sandbox.pid}`);
  // Real KVM: while the sandbox runs, its vCPU threads are seen inside ioctl(KVM_RUN).
  let inGuest: number[] = [];
  for (let i = 0; i < 30 && inGuest.length === 0; i++) inGuest = await sandbox.vcpusInGuest();
  assert.ok(inGuest.length > 0, 'a vCPU thread in KVM_RUN within 30 samples of /proc/PID/task/*/syscall');
  assert.equal(listed.containerId, sandbox.containerId);
  assert.equal(listed.platform, 'kvm');
  const ways: Array<[string, Record<string, unknown>]> = [
    ['pid', { processId: sandbox.pid }],
    ['container id', { processId: undefined, sandbox: sandbox.containerId.slice(0, 10) }],
    ['the listing', { processId: listed.pid }],
  ];
  for (const [how, config] of ways) {
    await withSession(t, config, async ({ dc, output }) => {
      await pause(dc);
      const dap = (await dc.threadsRequest()).body.threads.map((th) => th.id).sort((a, b) => a - b);
      const proc = [...(await sandbox.threads()).keys()].sort((a, b) => a - b);
      assert.deepEqual(dap, proc, `attached by ${how}: DAP threads = /proc/${sandbox.pid}/task`);
      assert.match(output(), new RegExp(`Attached to .*pid ${sandbox.pid}`));
      await dc.continueRequest({ threadId: dap[0] });
    });
  }
});

test('at kvm.sighandler the stack goes through the signal frame to kvm.bluepill, with file:line', async (t) => {
  if (skipIfUnavailable(t)) return;
  await withSession(t, {}, async ({ dc }) => {
    const tid = await stopAt(dc, sym.sighandler);
    const frames = (await dc.stackTraceRequest({ threadId: tid, startFrame: 0, levels: 20 })).body.stackFrames;
    const names = frames.map((f) => f.name);
    t.diagnostic(names.join(' ← '));
    assert.match(names[0], /kvm\.sighandler/);
    const label = frames.findIndex((f) => f.presentationHint === 'label');
    assert.ok(label > 0, `a <signal handler called> frame: ${names.join(', ')}`);
    assert.match(names[label + 1], /kvm\.bluepill/, 'the interrupted frame is kvm.bluepill');
    assert.ok(frames[label + 1].source?.path?.endsWith('bluepill_arm64.s') || frames[label + 1].line > 0, 'the interrupted frame has file:line');
    assert.ok(frames.length > label + 2, 'callers below kvm.bluepill');
  });
});

test('step over bluepill from the handler entry lands on the ucontext PC, three times in a row', async (t) => {
  if (skipIfUnavailable(t)) return;
  await withSession(t, {}, async ({ dc }) => {
    const perHop: number[] = [];
    for (let i = 0; i < 3; i++) {
      const tid = await stopAt(dc, sym.sighandler);
      const r = await stepOverBluepill(dc, tid);
      const last = await landed(dc, tid, r);
      const first = r.body.hops[0];
      assert.ok(first.host, 'the host context was read at the fault');
      assert.equal(first.fault?.pc, first.host.pc, 'the host context PC is the faulting PC');
      assert.match(first.fault?.text ?? '', /kvm\.bluepill\+0x/);
      perHop.push(r.ms / r.body.hops.length);
      t.diagnostic(`${r.body.description} in ${r.ms} ms; landing ${last.landing.text} ${last.landing.instruction ?? ''}`);
      await dc.continueRequest({ threadId: tid });
    }
    t.diagnostic(`ms per hop: ${perHop.map((x) => x.toFixed(0)).join(', ')}`);
  });
});

test('step over bluepill from before the fault and from the faulting MRS itself', async (t) => {
  if (skipIfUnavailable(t)) return;
  await withSession(t, {}, async ({ dc }) => {
    // kvm.bluepill's entry runs in host and guest mode: a breakpoint there is what a user sets.
    let tid = await stopAt(dc, sym.bluepill);
    let r = await stepOverBluepill(dc, tid);
    await landed(dc, tid, r);
    assert.equal(r.body.hops[0].fault?.pc !== undefined && Number(r.body.hops[0].fault.pc) > sym.bluepill, true, 'the fault is ahead of the entry');
    await dc.continueRequest({ threadId: tid });

    tid = await stopAt(dc, sym.bluepill);
    // Single instructions up to the MRS (the instruction step never plants a breakpoint on it).
    for (let i = 0; i < 16; i++) {
      if (/^MRS /.test(await instructionAt(dc, await pcOf(dc, tid)))) break;
      await stepInstruction(dc, tid);
    }
    const atFault = await pcOf(dc, tid);
    r = await stepOverBluepill(dc, tid);
    await landed(dc, tid, r);
    assert.equal(Number(r.body.hops[0].fault?.pc), atFault, 'started at the faulting instruction');
    await dc.continueRequest({ threadId: tid });
  });
});

test('step over bluepill from a vCPU paused in KVM_RUN (in the handler) and from the trampoline', async (t) => {
  if (skipIfUnavailable(t)) return;
  await withSession(t, {}, async ({ dc }) => {
    // In the handler: a vCPU thread that Pause stopped inside bluepillHandler (in KVM_RUN, or on its way).
    let inHandler: number | undefined;
    for (let i = 0; i < 10 && inHandler === undefined; i++) {
      await pause(dc);
      inHandler = await threadInFunction(dc, /kvm\.bluepillHandler/);
      if (inHandler === undefined) await dc.continueRequest({ threadId: (await dc.threadsRequest()).body.threads[0].id });
    }
    assert.ok(inHandler !== undefined, 'a paused vCPU thread in the bluepill handler');
    const inGuest = [inHandler];
    let r = await stepOverBluepill(dc, inGuest[0]);
    await landed(dc, inGuest[0], r);
    const joined = Number(r.body.hops[0].handler?.pc);
    assert.ok(joined > 0 && joined !== sym.sighandler, `joined inside the handler (at ${r.body.hops[0].handler?.text}), not at its entry`);
    await dc.continueRequest({ threadId: inGuest[0] });

    // The trampoline: the handler's return address (LR at its entry) is the vDSO's rt_sigreturn.
    const tid = await stopAt(dc, sym.sighandler);
    const lr = Number((await registers(dc, tid)).get('X30'));
    await dc.continueRequest({ threadId: tid });
    const atTrampoline = await stopAt(dc, lr);
    r = await stepOverBluepill(dc, atTrampoline);
    await landed(dc, atTrampoline, r);
    await dc.continueRequest({ threadId: atTrampoline });
  });
});

test("the instruction step: the MRS enters the handler, the trampoline's SVC lands on the ucontext PC", async (t) => {
  if (skipIfUnavailable(t)) return;
  await withSession(t, {}, async ({ dc }) => {
    const tid = await stopAt(dc, sym.bluepill);
    let ev: DebugProtocol.StoppedEvent | undefined;
    for (let i = 0; i < 16; i++) {
      ev = await stepInstruction(dc, tid);
      if (/faulted \(SIGILL\) into the handler/.test(ev.body.description ?? '')) break;
    }
    assert.match(ev?.body.description ?? '', /MRS .* faulted \(SIGILL\) into the handler .* step over bluepill is available/);
    const handlerEntry = await pcOf(dc, tid);
    assert.equal(handlerEntry, sym.sighandler, 'the step over the MRS stopped on kvm.sighandler');
    const regs = await registers(dc, tid);
    const lr = Number(regs.get('X30'));
    const uc = Number(regs.get('X2'));
    // Run to the trampoline on this thread, then two instruction steps: MOVD $139, R8 and SVC.
    await dc.continueRequest({ threadId: tid });
    let at = await stopAt(dc, lr);
    for (let i = 0; at !== tid && i < 20; i++) {
      await dc.continueRequest({ threadId: at });
      at = await stopAt(dc, lr);
    }
    assert.equal(at, tid, 'the stepped thread reached its trampoline');
    const ucPc = (await readMemory(dc, uc + 0x1b8, 8)).readBigUInt64LE(0);
    await stepInstruction(dc, tid);
    ev = await stepInstruction(dc, tid);
    assert.match(ev.body.description ?? '', /^rt_sigreturn: landed at /, ev.body.description);
    assert.equal(BigInt(await pcOf(dc, tid)), ucPc, 'the SVC landed on the ucontext PC');
    await dc.continueRequest({ threadId: tid });
  });
});

test('hazards on real runsc: a thread inside futex() and a call into the vDSO are stepped with breakpoints, not single-stepped', async (t) => {
  if (skipIfUnavailable(t)) return;
  t.diagnostic('the seccomp-trapped mmap cannot be provoked on demand in a real sentry; the simulator tests cover it');
  await withSession(t, {}, async ({ dc }) => {
    await pause(dc);
    // A stopped thread's /proc/…/syscall says -1: Delve's view tells it (the kernel rewound its PC onto the SVC).
    const inFutex = await threadInFunction(dc, /^runtime\.futex$/, 0);
    assert.ok(inFutex !== undefined, 'a sentry thread sleeps in futex()');
    assert.equal(Number((await registers(dc, inFutex)).get('X8')), SYS_FUTEX, 'its X8 is futex');
    const progress = new Promise<string>((resolve) =>
      dc.on(ProgressEvent.event, (e: DebugProtocol.Event) => {
        const m = (e.body as { message: string }).message;
        if (m) resolve(m);
      }),
    );
    const stopped = nextStop(dc);
    await dc.stepInRequest({ threadId: inFutex, granularity: 'instruction' });
    // Either the futex returns on its own, or the wait shows progress and Pause ends it.
    const first = await Promise.race([stopped.then(() => 'stopped'), progress]);
    if (first !== 'stopped') {
      assert.match(first, /waiting for thread \d+ to return from syscall futex/);
      await dc.pauseRequest({ threadId: inFutex });
    }
    const ev = await stopped;
    assert.match(ev.body.description ?? '', /futex \(98\)/, ev.body.description);
    t.diagnostic(ev.body.description ?? '');
    await dc.continueRequest({ threadId: inFutex });

    // The vDSO: runtime.nanotime1 calls the clock through a register (BLR); stop on one of its calls.
    const calls = vdsoCallsIn(binary);
    const tid = await stopAt(dc, ...calls);
    const call = await pcOf(dc, tid);
    const done = await stepInstruction(dc, tid);
    assert.match(done.body.description ?? '', /stepped over a call into code without symbols/, done.body.description);
    assert.equal(await pcOf(dc, tid), call + 4, 'the call returned onto the next instruction');
    await dc.continueRequest({ threadId: tid });
  });
});

test('pause, continue, disconnect and re-attach leave the sandbox running', async (t) => {
  if (skipIfUnavailable(t)) return;
  for (let round = 0; round < 2; round++) {
    await withSession(t, {}, async ({ dc }) => {
      for (let i = 0; i < 2; i++) {
        const ev = await pause(dc);
        await dc.continueRequest({ threadId: ev.body.threadId! });
      }
    });
  }
});

test('the product refuses breakpoints in guest-only ring0 code and on the faulting MRS, saying why', async (t) => {
  if (skipIfUnavailable(t)) return;
  await withSession(t, {}, async ({ dc }) => {
    await pause(dc);
    const vector = textSymbolAddress(binary, 'gvisor.dev/gvisor/pkg/ring0.El0_sync');
    const exit = textSymbolAddress(binary, 'gvisor.dev/gvisor/pkg/ring0.kernelExitToEl0') + 4;
    const mrs = faultIn(binary);
    t.diagnostic(`El0_sync ${hex(vector)}, kernelExitToEl0+4 ${hex(exit)}, kvm.bluepill's MRS ${hex(mrs)}`);
    const res = await dc.customRequest('setInstructionBreakpoints', { breakpoints: [vector, exit, mrs].map((a) => ({ instructionReference: hex(a) })) });
    const bps = (res.body as DebugProtocol.SetInstructionBreakpointsResponse['body']).breakpoints;
    assert.deepEqual(
      bps.map((b) => b.verified),
      [false, false, false],
    );
    assert.match(bps[0].message ?? '', /ring0\.El0_sync runs only in guest mode \(ring0 entry\/exit assembly\)/);
    assert.match(bps[1].message ?? '', /ring0\.kernelExitToEl0\+0x4 runs only in guest mode/);
    assert.match(bps[2].message ?? '', /MRS .* is the instruction that raises the bluepill signal in host mode/);
    await dc.continueRequest({ threadId: (await dc.threadsRequest()).body.threads[0].id });
  });
});

// Raw-Delve controls (no guard): what those refusals prevent, on real arm64 KVM. Each gets a
// sandbox of its own, which it leaves dead or wedged, and kills.
test('control: a raw breakpoint in a ring0 exception vector (El0_sync) is never reported and wedges the sandbox for good', async (t) => {
  if (skipIfUnavailable(t)) return;
  await rawControl(
    t,
    'vector',
    textSymbolAddress(binary, 'gvisor.dev/gvisor/pkg/ring0.El0_sync'),
    async (c) => {
      const stop = await Promise.race([c.client.continue({ timeoutMs: 0 }).then(() => 'stopped'), new Promise((r) => setTimeout(() => r('none'), 20_000))]);
      assert.equal(stop, 'none', 'Delve never sees the hit: the BRK is taken in guest mode');
      await c.client.halt({ timeoutMs: 60_000 });
    },
    async (sb, before) => {
      // Cleared and detached: the sandbox lives but its workload does not move any more.
      await assert.rejects(sb.waitForProgress(Math.max(before, await sb.newestPid().catch(() => before)), 40_000), /made no progress/);
      assert.ok((await sb.health()).state, 'the sandbox process is still there');
    },
  );
});

test('control: a raw breakpoint in ring0.kernelExitToEl0 after its MRS is hit in host mode, and the sentry dies on continue', async (t) => {
  if (skipIfUnavailable(t)) return;
  const addr = textSymbolAddress(binary, 'gvisor.dev/gvisor/pkg/ring0.kernelExitToEl0') + 4;
  await rawControl(
    t,
    'kexit',
    addr,
    async (c) => {
      const hit = await c.client.continue({ timeoutMs: 0 });
      assert.equal(hit.currentThread?.pc, addr, 'stopped on the breakpoint, in host mode');
      const next = await c.client.continue({ timeoutMs: 120_000 });
      assert.equal(next.exited, true, 'the sandbox exited: the guest-only code cannot run in host mode');
    },
    async (sb) => {
      assert.equal((await sb.health()).state, undefined, 'the sandbox process is gone');
    },
  );
});

interface RawControlTarget {
  client: AttachedTarget['client'];
}

/** A sandbox of its own, raw Delve attached through the product's transport, one breakpoint at `addr`; afterwards cleared, detached, checked and killed. */
async function rawControl(
  t: TestContext,
  name: string,
  addr: number,
  body: (c: RawControlTarget) => Promise<void>,
  after: (sb: RunscInVm, newestPidBefore: number) => Promise<void>,
): Promise<void> {
  const sb = await startRunscInVm(vm!, binary, { name: `bluepill-runsc-control-${name}` });
  try {
    // Read while it runs: a sandbox stopped under Delve does not answer `runsc ps`.
    const before = await sb.newestPid();
    const target = await attachTarget(resolveAttachConfig({ ssh: vm!.hostAlias, sshConfigFile: vm!.sshConfigPath, processId: sb.pid, sudo: true }), {
      rpcTimeoutMs: 120_000,
    });
    try {
      const bp = await target.client.createBreakpoint({ addrs: [addr] });
      await body({ client: target.client });
      await target.client.clearBreakpoint(bp.id).catch(() => undefined);
    } finally {
      await target.disconnect();
    }
    t.diagnostic(`control ${name}: breakpoint at ${hex(addr)}`);
    await after(sb, before);
  } finally {
    await sb.stop();
  }
}

/** The faulting MRS in kvm.bluepill. */
function faultIn(bin: string): number {
  const text = execFileSync('go', ['tool', 'objdump', '-s', `^${KVM.replace(/\./g, '\\.')}\\.bluepill(\\.abi0)?$`, bin], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  const line = text.split('\n').find((l) => /\tMRS /.test(l));
  assert.ok(line, `an MRS in kvm.bluepill:\n${text}`);
  return parseInt(line.trim().split(/\s+/)[1], 16);
}

/** The addresses of the `CALL (Rn)`s into the vDSO in runtime.nanotime1, from go tool objdump. */
function vdsoCallsIn(bin: string): number[] {
  const text = execFileSync('go', ['tool', 'objdump', '-s', '^runtime\\.nanotime1(\\.abi0)?$', bin], { encoding: 'utf8', maxBuffer: 16 << 20 });
  const calls = text
    .split('\n')
    .filter((l) => /\tCALL \(R\d+\)/.test(l))
    .map((l) => parseInt(l.trim().split(/\s+/)[1], 16));
  assert.ok(calls.length > 0, `an indirect call in runtime.nanotime1:\n${text}`);
  return calls;
}
