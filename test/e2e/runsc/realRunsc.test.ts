// Real gVisor on amd64: runsc 20221219 (built from Debian's source, DWARF kept) with
// --platform=kvm under the KVM stand-in (test/fixtures/kvm-standin), attached through the debug
// adapter locally and over SSH with sudo. Everything but the ioctls is the real runsc: CLI →
// SIGSEGV → kvm.sighandler → bluepillHandler → KVM_RUN (answered by the stand-in with
// KVM_EXIT_HLT) → bluepillGuestExit/bluepillArchExit → runtime.sigreturn. No guest runs, so each
// exit resumes the same CLI: the sentry stays in its first bluepill (machine.initArchState) and
// round-trips forever. Each test is one or more debug sessions and ends with the sandbox alive,
// not stopped, untraced, with no SIGTRAP pending, no Delve or bridge left, and exits still rising.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startRunscUnderStandin, type RunscSandbox } from '../../support/kvmStandin';
import { parseProcStatus, runscOrReason } from '../../support/runsc';
import { attachTarget } from '../../../src/target/attachTarget';
import { resolveAttachConfig } from '../../../src/config/attachConfig';
import { textSymbolAddress } from '../../support/simulator';
import { SUDO_USER, HOSTS, sshdUnavailable, startSshd, type TestSshd } from '../../support/sshd';
import { waitFor } from '../../support/waitFor';
import {
  assertLandedOnUcontextPc,
  instructionAt,
  nextStop,
  pause,
  pcOf,
  readMemory,
  registers,
  stepInstruction,
  stepOverBluepill,
  stopAt,
  threadInFunction,
  type StepOverRun,
} from '../../support/dapSession';
import { attachFailure, failureOf } from '../../support/dapClient';
import { listLocalSandboxes } from '../../../src/transport/localSandboxes';
import { ProgressEvent, type StepOverResponseBody, type WireHop } from '../../../src/protocol/bluepillMessages';
import { withCheckedSession, type CheckedSession } from '../../support/checkedSession';

const KVM = 'gvisor.dev/gvisor/pkg/sentry/platform/kvm';
/** amd64 ucontext: gregs from offset 40, RIP at gVisor's CONTEXT_RIP 0xa8. */
const UCONTEXT_RIP = 0xa8;

let unavailable: string | undefined;
let binary = '';
let sb: RunscSandbox;
let sshd: TestSshd | undefined;
const sym: Record<string, number> = {};

function skipIfUnavailable(t: TestContext): boolean {
  if (unavailable === undefined) return false;
  t.skip(unavailable);
  return true;
}

before(async () => {
  const runsc = await runscOrReason('amd64');
  if ('unavailable' in runsc) {
    unavailable = runsc.unavailable;
    return;
  }
  binary = runsc.binary;
  sb = await startRunscUnderStandin({ runsc: binary, mode: 'every:5ms' });
  await sb.waitForExits(20, 60_000);
  sym.sighandler = textSymbolAddress(binary, `${KVM}.sighandler`);
  sym.bluepill = textSymbolAddress(binary, `${KVM}.bluepill`);
  sym.sigreturn = textSymbolAddress(binary, 'runtime.sigreturn');
  sym.cli = cliIn(binary);
  if (!sshdUnavailable()) sshd = await startSshd();
});

after(async () => {
  await sb?.stop();
  await sshd?.stop();
});

/** One debug session on the sandbox (this machine unless `ssh`); afterwards the sandbox must be healthy. */
function withSession(t: TestContext, config: Record<string, unknown>, body: (s: CheckedSession) => Promise<void>): Promise<void> {
  const label = `attach${config.ssh ? ' over SSH' : ''}`;
  return withCheckedSession(t, { config: { processId: sb.sandboxPid, ...config }, label, assertHealthy: (what) => sb.assertHealthy(what) }, body);
}

/** Every hop is the real gVisor exit path: the CLI's SIGSEGV, the ucontext rewritten by bluepillArchExit, runtime.sigreturn. */
async function landedOnCli(dc: DebugClient, tid: number, r: StepOverRun, hops: number): Promise<WireHop> {
  // The stand-in's guest exits at once, so the landing is the same CLI, which faults again.
  assert.equal(r.body.stopReason, 'max-hops', r.body.description);
  assert.equal(r.body.hops.length, hops, r.body.description);
  for (const hop of r.body.hops) {
    assert.equal(Number(hop.landing.pc), sym.cli, `hop ${hop.index} landed on kvm.bluepill's CLI`);
    assert.equal(Number(hop.trampoline.pc), sym.sigreturn, `hop ${hop.index}: the trampoline is runtime.sigreturn`);
  }
  return assertLandedOnUcontextPc(dc, tid, r, /SIGSEGV/);
}

test('attach locally by pid, by container id, through the sandbox listing, and over SSH with sudo: threads are /proc/PID/task', async (t) => {
  if (skipIfUnavailable(t)) return;
  const listed = (await listLocalSandboxes()).find((s) => s.pid === sb.sandboxPid);
  assert.ok(listed, `the sandbox listing (what the picker shows) has pid ${sb.sandboxPid}`);
  assert.equal(listed.containerId, sb.containerId);
  assert.equal(listed.platform, 'kvm');
  const ways: Array<[string, Record<string, unknown>]> = [
    ['pid', {}],
    ['container id', { processId: undefined, sandbox: sb.containerId.slice(0, 12) }],
    ['the listing', { processId: listed.pid }],
  ];
  if (sshd) ways.push([`SSH as ${SUDO_USER} with sudo`, { ssh: HOSTS.user, sshConfigFile: sshd.clientConfig, sudo: true }]);
  else t.diagnostic(`no SSH variant: ${sshdUnavailable()}`);
  for (const [how, config] of ways) {
    await withSession(t, config, async ({ dc, output }) => {
      await pause(dc);
      const dap = (await dc.threadsRequest()).body.threads.map((th) => th.id).sort((a, b) => a - b);
      const proc = readdirSync(`/proc/${sb.sandboxPid}/task`)
        .map(Number)
        .sort((a, b) => a - b);
      assert.deepEqual(dap, proc, `attached by ${how}: DAP threads = /proc/${sb.sandboxPid}/task`);
      // The vCPU blocked in the stand-in's KVM_RUN is labelled with its vCPU id (its fd's name).
      const labelled = (names: string[]): boolean => names.some((n) => /^vCPU \d+ · tid \d+ · /.test(n));
      let names = (await dc.threadsRequest()).body.threads.map((th) => th.name);
      // A vCPU may be between two KVM_RUNs at the pause (a few µs of each round trip): pause again.
      for (let i = 0; i < 5 && !labelled(names); i++) {
        await dc.continueRequest({ threadId: dap[0] });
        await pause(dc);
        names = (await dc.threadsRequest()).body.threads.map((th) => th.name);
      }
      assert.ok(labelled(names), `a thread labelled "vCPU N · tid T · …": ${names.join(' | ')}`);
      assert.match(output(), new RegExp(`Attached to .*pid ${sb.sandboxPid}`));
      await dc.continueRequest({ threadId: dap[0] });
    });
  }
});

test("attach to runsc's gofer, or to a sandbox another session holds: a message that says so, nothing started", async (t) => {
  if (skipIfUnavailable(t)) return;
  const gofer = await attachFailure({ processId: sb.goferPid });
  assert.match(gofer, new RegExp(`Process ${sb.goferPid} on this machine is runsc's gofer \\(runsc-gofer .*\\), not the sandbox`));
  await withSession(t, {}, async () => {
    const second = await attachFailure({ processId: sb.sandboxPid });
    assert.match(second, new RegExp(`Another debugger already traces process ${sb.sandboxPid} on this machine: pid \\d+ \\(dlv\\)`));
  });
  assert.match(
    await attachFailure({ processId: sb.sandboxPid, sandbox: sb.containerId }),
    /^Invalid launch configuration: "sandbox" and "processId" both name the sandbox/,
  );
});

test('at kvm.sighandler the stack goes through the signal frame to kvm.bluepill and the machine setup', async (t) => {
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
    assert.equal(Number(frames[label + 1].instructionPointerReference), sym.cli, 'interrupted at the CLI');
    // The interrupted frame's registers are the ucontext's (Delve has no scope for a frame it did not unwind).
    const scopes = (await dc.scopesRequest({ frameId: frames[label + 1].id })).body.scopes;
    assert.equal(scopes.length, 1, scopes.map((s) => s.name).join(', '));
    assert.match(scopes[0].name, /^Registers \(interrupted, from the ucontext at 0x[0-9a-f]+\)$/);
    const regs = new Map((await dc.variablesRequest({ variablesReference: scopes[0].variablesReference })).body.variables.map((v) => [v.name, v.value]));
    assert.equal(Number(regs.get('Rip')?.split(' ')[0]), sym.cli, 'its Rip is the CLI');
    assert.match(regs.get('Rip') ?? '', /^0x[0-9a-f]+ kvm\.bluepill\+0x[0-9a-f]+$/, 'a code address is shown with its symbol');
    assert.ok(
      names.slice(label + 2).some((n) => /kvm\.\(\*machine\)\.initArchState|kvm\.newMachine/.test(n)),
      `the callers: ${names.join(', ')}`,
    );
  });
});

test('step over bluepill from the handler entry, the CLI and the trampoline: every landing is the ucontext RIP', async (t) => {
  if (skipIfUnavailable(t)) return;
  t.diagnostic('before the fault: kvm.bluepill is never entered again on the stand-in (the sentry stays in its first bluepill); the arm64 suite covers it');
  await withSession(t, {}, async ({ dc }) => {
    const tid = await stopAt(dc, sym.sighandler);
    let r = await stepOverBluepill(dc, tid, 2);
    await landedOnCli(dc, tid, r, 2);
    const first = r.body.hops[0];
    assert.ok(first.host, 'the host context was read at the fault');
    assert.equal(Number(first.host.pc), sym.cli, 'the host context RIP is the CLI');
    t.diagnostic(`${r.body.description} in ${r.ms} ms`);

    // The thread sits on the CLI now: the start point "at the fault".
    assert.match(await instructionAt(dc, await pcOf(dc, tid)), /^CLI/);
    r = await stepOverBluepill(dc, tid, 1);
    await landedOnCli(dc, tid, r, 1);
    assert.equal(Number(r.body.hops[0].fault?.pc), sym.cli, 'started at the faulting CLI');
    await dc.continueRequest({ threadId: tid });

    // The trampoline: runtime.sigreturn, the handler's return address at its entry.
    const at = await stopAt(dc, sym.sigreturn);
    r = await stepOverBluepill(dc, at, 1);
    await assertLandedOnUcontextPc(dc, at, r, /SIGSEGV/);
    await dc.continueRequest({ threadId: at });
  });
});

test('a guest that never exits: step over bluepill shows progress, Pause cancels it, the sandbox lives on', async (t) => {
  if (skipIfUnavailable(t)) return;
  await withSession(t, {}, async ({ dc }) => {
    const tid = await stopAt(dc, sym.sighandler);
    await sb.setMode('never');
    const progress = new Promise<string>((resolve) =>
      dc.on(ProgressEvent.event, (e: DebugProtocol.Event) => {
        const m = (e.body as { message: string }).message;
        if (/waiting for the guest to exit/.test(m)) resolve(m);
      }),
    );
    const stopped = nextStop(dc);
    const res = dc.customRequest('bluepill/stepOver', { threadId: tid });
    t.diagnostic(await progress);
    await dc.pauseRequest({ threadId: tid });
    const body = (await res).body as StepOverResponseBody;
    assert.equal(body.stopReason, 'cancelled', body.description);
    // What was read of the hop stays: the fault and the host context (RIP = the CLI).
    assert.equal(body.hops.length, 0);
    assert.ok(body.unfinished?.host, 'the unfinished hop has its host context');
    assert.equal(Number(body.unfinished.host.pc), sym.cli);
    assert.equal(Number(body.unfinished.fault?.pc), sym.cli);
    assert.match(body.markdown, /Unfinished hop on thread \d+ \(the guest did not exit\)/);
    assert.doesNotMatch(body.markdown, /\(none\)/);
    const ev = await stopped;
    assert.equal(ev.body.threadId, tid, 'the stopped event names the stepped thread');
    assert.match(ev.body.description ?? '', /cancelled after/);
    // Disconnect straight from here, as a user who gives up on the guest does.
  });
});

test('a vCPU paused inside KVM_RUN: step over bluepill joins in the handler', async (t) => {
  if (skipIfUnavailable(t)) return;
  await withSession(t, {}, async ({ dc }) => {
    await sb.setMode('every:300ms');
    let tid: number | undefined;
    for (let i = 0; i < 10 && tid === undefined; i++) {
      await pause(dc);
      tid = await threadInFunction(dc, /kvm\.bluepillHandler/);
      if (tid === undefined) await dc.continueRequest({ threadId: (await dc.threadsRequest()).body.threads[0].id });
    }
    assert.ok(tid !== undefined, 'a paused thread in the bluepill handler');
    const r = await stepOverBluepill(dc, tid, 1);
    await landedOnCli(dc, tid, r, 1);
    assert.notEqual(Number(r.body.hops[0].handler?.pc), sym.sighandler, 'joined inside the handler');
    await dc.continueRequest({ threadId: tid });
  });
});

test("the instruction step: the CLI enters the handler, runtime.sigreturn's SYSCALL lands on the ucontext RIP", async (t) => {
  if (skipIfUnavailable(t)) return;
  await withSession(t, {}, async ({ dc }) => {
    // The vCPU thread's trampoline (other threads' signals return through it too).
    const tid = await stopAt(dc, sym.sighandler);
    await dc.continueRequest({ threadId: tid });
    let at = await stopAt(dc, sym.sigreturn);
    for (let i = 0; at !== tid && i < 20; i++) {
      await dc.continueRequest({ threadId: at });
      at = await stopAt(dc, sym.sigreturn);
    }
    assert.equal(at, tid);
    // rt_sigreturn finds the ucontext at SP.
    const uc = Number((await registers(dc, tid)).get('Rsp'));
    const rip = Number((await readMemory(dc, uc, UCONTEXT_RIP + 8)).readBigUInt64LE(UCONTEXT_RIP));
    await stepInstruction(dc, tid);
    let ev = await stepInstruction(dc, tid);
    assert.match(ev.body.description ?? '', /^rt_sigreturn: /, ev.body.description);
    assert.equal(await pcOf(dc, tid), rip, 'the SYSCALL landed on the ucontext RIP');
    assert.equal(rip, sym.cli);
    ev = await stepInstruction(dc, tid);
    assert.match(ev.body.description ?? '', /CLI .* faulted \(SIGSEGV\) into the handler .* step over bluepill is available/, ev.body.description);
    assert.equal(await pcOf(dc, tid), sym.sighandler);
    await dc.continueRequest({ threadId: tid });
  });
});

test('hazards on real runsc: a thread inside futex() and a call into the vDSO are stepped with breakpoints, not single-stepped', async (t) => {
  if (skipIfUnavailable(t)) return;
  t.diagnostic('the seccomp-trapped mmap cannot be provoked on demand in a real sentry; the simulator tests cover it');
  await withSession(t, {}, async ({ dc }) => {
    await pause(dc);
    const inFutex = await threadInFunction(dc, /^runtime\.futex$/, 0);
    assert.ok(inFutex !== undefined, 'a thread sleeps in futex()');
    const progress = new Promise<string>((resolve) =>
      dc.on(ProgressEvent.event, (e: DebugProtocol.Event) => {
        const m = (e.body as { message: string }).message;
        if (m) resolve(m);
      }),
    );
    const stopped = nextStop(dc);
    await dc.stepInRequest({ threadId: inFutex, granularity: 'instruction' });
    const first = await Promise.race([stopped.then(() => 'stopped'), progress]);
    if (first !== 'stopped') {
      assert.match(first, /waiting for thread \d+ to return from syscall futex/);
      await dc.pauseRequest({ threadId: inFutex });
    }
    const ev = await stopped;
    assert.match(ev.body.description ?? '', /futex \(202\)/, ev.body.description);
    t.diagnostic(ev.body.description ?? '');
    await dc.continueRequest({ threadId: inFutex });

    const call = vdsoCallIn(binary);
    const tid = await stopAt(dc, call);
    const done = await stepInstruction(dc, tid);
    assert.match(done.body.description ?? '', /stepped over a call into code without symbols/, done.body.description);
    assert.equal(await pcOf(dc, tid), call + 2, 'the CALL AX returned onto the next instruction');
    await dc.continueRequest({ threadId: tid });
  });
});

test('control: raw Delve, continue and two halts leave a SIGTRAP pending, and the sandbox dies of it after detach', async (t) => {
  if (skipIfUnavailable(t)) return;
  // A sandbox of its own: this one is killed.
  const victim = await startRunscUnderStandin({ runsc: binary, mode: 'every:5ms' });
  try {
    await victim.waitForExits(5, 60_000);
    const target = await attachTarget(resolveAttachConfig({ processId: victim.sandboxPid }));
    try {
      const exits = (await victim.status()).totalExits;
      const running = target.client.continue({ timeoutMs: 0 });
      await victim.waitForExits(exits + 2, 30_000); // it runs
      await Promise.all([target.client.halt(), target.client.halt()]);
      await running;
      const pending = parseProcStatus(readFileSync(`/proc/${victim.sandboxPid}/status`, 'utf8')).shdPnd;
      assert.ok((pending & 0x10n) !== 0n, `a SIGTRAP is pending (ShdPnd ${pending.toString(16)})`);
      await target.client.detach(false);
    } finally {
      await target.disconnect();
    }
    await waitFor('the sandbox to die of the SIGTRAP', () => !victim.alive(), { timeoutMs: 30_000, intervalMs: 50 });
  } finally {
    await victim.stop();
  }
});

test('a SIGTRAP pending when the user disconnects is consumed first: the sandbox lives on', async (t) => {
  if (skipIfUnavailable(t)) return;
  await withSession(t, {}, async ({ dc, output }) => {
    await pause(dc);
    // What a late halt leaves behind (as the control above shows), made certain: a SIGTRAP to the process.
    process.kill(sb.sandboxPid, 'SIGTRAP');
    const pending = parseProcStatus(readFileSync(`/proc/${sb.sandboxPid}/status`, 'utf8')).shdPnd;
    assert.ok((pending & 0x10n) !== 0n, `SIGTRAP pending before disconnect (ShdPnd ${pending.toString(16)})`);
    await dc.disconnectRequest({});
    assert.match(output(), /Detach: consumed a pending SIGTRAP before detach/);
  });
});

test('-si on a thread inside futex() goes through the guards (waits with a breakpoint, Pause ends it); step over bluepill elsewhere moves nothing', async (t) => {
  if (skipIfUnavailable(t)) return;
  await withSession(t, {}, async ({ dc }) => {
    await pause(dc);
    const inFutex = await threadInFunction(dc, /^runtime\.futex$/, 0);
    assert.ok(inFutex !== undefined, 'a thread sleeps in futex()');
    const pcBefore = await pcOf(dc, inFutex);
    // Raw Delve would single-step into the wait and never answer again, not even a halt.
    const progress = new Promise<string>((resolve) =>
      dc.on(ProgressEvent.event, (e: DebugProtocol.Event) => {
        const m = (e.body as { message: string }).message;
        if (m) resolve(m);
      }),
    );
    const stopped = nextStop(dc);
    await dc.evaluateRequest({ expression: `-si 3 ${inFutex}`, context: 'repl' });
    const first = await Promise.race([stopped.then(() => 'stopped'), progress]);
    if (first !== 'stopped') {
      assert.match(first, /waiting for thread \d+ to return from syscall futex/);
      await dc.pauseRequest({ threadId: inFutex });
    }
    const ev = await stopped;
    assert.equal(ev.body.threadId, inFutex, 'the stop names the stepped thread');
    assert.match(ev.body.description ?? '', /instruction step\(s\) on thread \d+/);
    t.diagnostic(ev.body.description ?? '');

    // Step over bluepill on a thread that is nowhere near a bluepill: refused, no stop, no move.
    // (The sentry's main thread sleeps in futex() above the signal frame of its first bluepill,
    // which the stand-in never leaves: step over bluepill would rightly wait for that guest exit.)
    const calm = await threadInFunction(dc, /^runtime\.futex$/, 0, /signal handler/);
    assert.ok(calm !== undefined, 'a thread sleeps in futex() with no signal frame on its stack');
    const calmPc = await pcOf(dc, calm);
    const events: string[] = [];
    dc.on('stopped', () => events.push('stopped'));
    const refused = await failureOf(dc.customRequest('bluepill/stepOver', { threadId: calm }));
    assert.match(refused, /is not before a faulting instruction, in the bluepill handler or in its trampoline; nothing was done/);
    await dc.threadsRequest(); // answered after any event the refused request could have sent
    assert.deepEqual(events, [], 'no stopped event');
    assert.equal(await pcOf(dc, calm), calmPc, 'the thread did not move');
    t.diagnostic(`-si thread at ${pcBefore.toString(16)} before; thread ${calm} refused: ${refused}`);
    await dc.continueRequest({ threadId: calm });
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

function objdump(bin: string, fn: string): string {
  return execFileSync('go', ['tool', 'objdump', '-s', `^${fn.replace(/[.*()]/g, '\\$&')}(\\.abi0)?$`, bin], { encoding: 'utf8', maxBuffer: 16 << 20 });
}

/** kvm.bluepill's CLI. */
function cliIn(bin: string): number {
  const line = objdump(bin, `${KVM}.bluepill`)
    .split('\n')
    .find((l) => /\tCLI\b/.test(l));
  assert.ok(line, 'a CLI in kvm.bluepill');
  return parseInt(line.trim().split(/\s+/)[1], 16);
}

/** runtime.nanotime1's `CALL AX` into the vDSO clock. */
function vdsoCallIn(bin: string): number {
  const line = objdump(bin, 'runtime.nanotime1')
    .split('\n')
    .find((l) => /\tCALL AX\b/.test(l));
  assert.ok(line, 'an indirect call in runtime.nanotime1');
  return parseInt(line.trim().split(/\s+/)[1], 16);
}
