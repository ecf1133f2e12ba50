// The stepping hazards (docs/architecture.md §3.2) on arm64 (the emulated Raspberry Pi), through the debug adapter: a
// line `next` on the futex thread right after attach (hazard 4), then for the seccomp-trapped mmap,
// the blocking futex wait and the call into the vDSO the hazard thread is parked on the instruction
// before the hazardous one (never a breakpoint on the SVC itself) and DAP stepIn (instruction)
// goes past it. The stopped event must say what was done, the PC must be past the hazard, and the
// simulator inside the VM must keep running with its checks passing. The same with DAP next
// (instruction). Pause during each kind of wait: the futex wait (held by the simulator's hold
// file), the seccomp trap (its SIGSYS handler takes 3 s here) and, as a race, the vDSO call's
// return breakpoint. One VM boot for the file.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startPiVmOrReason, vmOutput, type PiVm } from '../support/piVm';
import { startSimulatorInVm, type HazardName, type SimulatorInVm } from '../support/piSimulator';
import { countersOf, type HazardCounters } from '../support/simulator';
import { attach, collectOutput, newDapClient } from '../support/dapClient';
import { waitFor } from '../support/waitFor';
import { ProgressEvent } from '../../src/protocol/bluepillMessages';

const CONTAINER_ID = 'bluepill-sim-hazards-pi';
/** While this file exists in the VM the futex waiter is not woken. */
const FUTEX_HOLD = '/tmp/bluepill-sim-futex-hold';
/** The SIGSYS handler's sleep before the trapped mmap: long enough to Pause in. */
const TRAP_DELAY = '3s';
/** Every request over the emulated link is slow; a step over a syscall is several of them. */
const STOP_TIMEOUT_MS = 300_000;

interface SimInVm extends SimulatorInVm {
  hazardTids: Record<HazardName, number>;
}

/** Where a hazard thread is parked (`before`), the hazardous instruction, and the one after it. */
interface HazardSite {
  before: bigint;
  hazard: bigint;
  after: bigint;
}

let unavailable: string | undefined;
let vm: PiVm | undefined;
let sim: SimInVm;
let dc: DebugClient | undefined;
let output: () => string = () => '';
const symbols: Record<string, bigint> = {};
/** The thread the last stop was reported on; every test leaves the target stopped. */
let lastStoppedTid = 0;
const exited: string[] = [];

function skipIfUnavailable(t: TestContext): boolean {
  if (unavailable === undefined) return false;
  t.skip(unavailable);
  return true;
}

const hex = (n: bigint): string => `0x${n.toString(16)}`;

const checked = (cmd: string[]): Promise<string> => vmOutput(vm!, cmd);

async function rawStatus(): Promise<Record<string, unknown>> {
  return sim.status();
}

async function counters(): Promise<HazardCounters> {
  return countersOf(await rawStatus());
}

/** Polls the status file until `key` is above `min`. */
async function waitForCounter(key: keyof Omit<HazardCounters, 'checksOK'>, min: number, timeoutMs: number): Promise<HazardCounters> {
  let c: HazardCounters | undefined;
  return waitFor(
    () => `${key} above ${min} (last ${c?.[key]})`,
    async () => {
      c = await counters().catch(() => undefined);
      return c && c[key] > min ? c : undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

/** Go's vDSO clock call on arm64: the first `CALL (Rn)` of runtime.walltime (time.Now's wall clock). */
function vdsoCallSite(binary: string): HazardSite {
  const out = execFileSync('go', ['tool', 'objdump', '-s', '^runtime\\.walltime(\\.abi0)?$', binary], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const code = out
    .split('\n')
    .map((l) => /^\s+\S+:\d+\s+0x([0-9a-f]+)\s+[0-9a-f]{8}\s+(.*?)\s*$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pc: BigInt(`0x${m[1]}`), text: m[2] }));
  const i = code.findIndex((x) => /^CALL \(R\d+\)$/.test(x.text));
  assert.ok(i >= 1, `an indirect call in runtime.walltime:\n${out}`);
  return { before: code[i - 1].pc, hazard: code[i].pc, after: code[i].pc + 4n };
}

/** The SVC of a hazard function (from the simulator's own symbol table), and the instructions around it. */
function syscallSite(fn: string): HazardSite {
  const svc = symbols[`kvm.${fn}.syscall`];
  assert.ok(svc && symbols[`kvm.${fn}`] < svc, `symbols for kvm.${fn}`);
  return { before: svc - 4n, hazard: svc, after: svc + 4n };
}

async function topPc(threadId: number): Promise<bigint> {
  const frame = (await dc!.stackTraceRequest({ threadId, startFrame: 0, levels: 1 })).body.stackFrames[0];
  return BigInt(frame.instructionPointerReference!);
}

async function stoppedAfter(request: () => Promise<unknown>): Promise<DebugProtocol.StoppedEvent> {
  const stopped = dc!.waitForEvent('stopped', STOP_TIMEOUT_MS) as Promise<DebugProtocol.StoppedEvent>;
  await request();
  const ev = await stopped;
  lastStoppedTid = ev.body.threadId ?? lastStoppedTid;
  return ev;
}

/** Continues until `tid` stops on an instruction breakpoint at `pc` (other threads' hits are continued), then clears it. */
async function park(tid: number, pc: bigint): Promise<number> {
  await dc!.customRequest('setInstructionBreakpoints', { breakpoints: [{ instructionReference: hex(pc) }] });
  let hits = 0;
  try {
    for (;;) {
      hits++;
      const ev = await stoppedAfter(() => dc!.continueRequest({ threadId: lastStoppedTid }));
      if (ev.body.threadId === tid && (await topPc(tid)) === pc) return hits;
      assert.ok(hits < 50, `thread ${tid} at ${hex(pc)} within 50 stops (last: thread ${ev.body.threadId}, ${ev.body.reason})`);
    }
  } finally {
    await dc!.customRequest('setInstructionBreakpoints', { breakpoints: [] });
  }
}

interface StepRecord {
  description: string;
  ms: number;
  from: bigint;
  to: bigint;
}

/** DAP stepIn or next (instruction) on `tid` until its PC is `site.after` (a few steps at most). */
async function stepPast(tid: number, site: HazardSite, kind: 'stepIn' | 'next' = 'stepIn'): Promise<StepRecord[]> {
  const steps: StepRecord[] = [];
  for (let i = 0; i < 4; i++) {
    const from = await topPc(tid);
    if (from === site.after) break;
    const t0 = Date.now();
    const ev = await stoppedAfter(() =>
      kind === 'next' ? dc!.nextRequest({ threadId: tid, granularity: 'instruction' }) : dc!.stepInRequest({ threadId: tid, granularity: 'instruction' }),
    );
    const ms = Date.now() - t0;
    steps.push({ description: ev.body.description ?? '', ms, from, to: await topPc(tid) });
    assert.equal(ev.body.threadId, tid, `the stop after stepping thread ${tid} from ${hex(from)} names that thread (${ev.body.description})`);
  }
  return steps;
}

/** After continue: the simulator runs on with `key` rising, its checks passing, and it has not exited. */
async function keepsRunning(t: TestContext, key: keyof Omit<HazardCounters, 'checksOK'>): Promise<void> {
  const was = await counters();
  const continued = Date.now();
  await dc!.continueRequest({ threadId: lastStoppedTid });
  const now = await waitForCounter(key, was[key], 120_000);
  await waitForCounter('roundTrips', was.roundTrips, 120_000);
  t.diagnostic(`${key} ${was[key]} → ${now[key]} within ${Date.now() - continued} ms of continue`);
  assert.equal(now.checksOK, true, 'the simulator checks pass');
  const proc = await checked(['cat', `/proc/${sim.pid}/status`]);
  assert.doesNotMatch(proc, /^State:\s+[ZX]/m, 'the simulator is alive');
  assert.doesNotMatch(await sim.stderr(), /FATAL/);
  assert.deepEqual(exited, [], 'no exited/terminated event');
  // Stopped again for the next test, as a user leaves it after Pause.
  await stoppedAfter(() => dc!.pauseRequest({ threadId: lastStoppedTid }));
}

/** `kvm.fn+0x…`, as the stopped event names the instruction after the SVC. */
function landing(fn: string, site: HazardSite): string {
  return `kvm.${fn}+0x${(site.after - symbols[`kvm.${fn}`]).toString(16)}`;
}

/** The simulator's [vdso] mapping, from /proc/PID/maps in the VM. */
async function vdsoRange(): Promise<{ start: bigint; end: bigint; text: string }> {
  const maps = await checked(['cat', `/proc/${sim.pid}/maps`]);
  const m = /^([0-9a-f]+)-([0-9a-f]+) .*\[vdso\]$/m.exec(maps);
  assert.ok(m, `a [vdso] mapping:\n${maps}`);
  return { start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), text: m[0] };
}

function report(t: TestContext, steps: StepRecord[]): void {
  for (const s of steps) t.diagnostic(`${hex(s.from)} → ${hex(s.to)} in ${s.ms} ms: ${s.description}`);
}

/** Parks `tid` before the hazard, steps past it with `kind`, and returns the step that started on the hazard. */
async function stepFromHazard(t: TestContext, tid: number, site: HazardSite, kind: 'stepIn' | 'next'): Promise<StepRecord> {
  const hits = await park(tid, site.before);
  t.diagnostic(`parked on ${hex(site.before)} after ${hits} stop(s)`);
  const steps = await stepPast(tid, site, kind);
  report(t, steps);
  const over = steps.find((s) => s.from === site.hazard);
  assert.ok(over, `a step from the hazardous instruction at ${hex(site.hazard)}`);
  return over;
}

before(async () => {
  ({ vm, unavailable } = await startPiVmOrReason());
  if (!vm) return;
  sim = (await startSimulatorInVm(vm, {
    name: CONTAINER_ID,
    hazards: ['seccomp', 'futex', 'vdso'],
    simFlags: [`--sim-trap-delay=${TRAP_DELAY}`, `--sim-futex-hold-file=${FUTEX_HOLD}`],
  })) as SimInVm;
  await waitForCounter('seccompCalls', 2, 60_000);
  await waitForCounter('vdsoReads', 2, 60_000);
  await waitForCounter('futexWaits', 2, 60_000);
  for (const [k, v] of Object.entries(((await rawStatus()).symbols ?? {}) as Record<string, string>)) symbols[k] = BigInt(v);
  dc = newDapClient();
  dc.defaultTimeout = STOP_TIMEOUT_MS;
  output = collectOutput(dc);
  dc.on('exited', (e: DebugProtocol.ExitedEvent) => exited.push(`exited ${e.body.exitCode}`));
  dc.on('terminated', () => exited.push('terminated'));
  // Stopped on attach: the futex thread is where Delve found it, inside its SVC (hazard 4). Its
  // wakes are held while Delve attaches, so it is certainly blocked in the wait, not between two.
  await checked(['touch', FUTEX_HOLD]);
  await new Promise((res) => setTimeout(res, 500));
  const entry = dc.waitForEvent('stopped', STOP_TIMEOUT_MS) as Promise<DebugProtocol.StoppedEvent>;
  try {
    await attach(dc, { ssh: vm.hostAlias, sshConfigFile: vm.sshConfigPath, processId: sim.pid, sudo: true, stopOnAttach: true });
    await dc.configurationDoneRequest();
  } finally {
    await checked(['rm', '-f', FUTEX_HOLD]);
  }
  lastStoppedTid = (await entry).body.threadId ?? sim.pid;
});

after(async () => {
  try {
    await dc?.stop().catch(() => undefined);
    if (vm && sim) await vm.ssh(['sh', '-c', `kill -9 ${sim.pid} 2>/dev/null; true`]).catch(() => undefined);
  } finally {
    await vm?.stop();
  }
});

test('hazard 4: a line next on the futex thread right after attach returns; the futex wait runs on, not single-stepped', async (t) => {
  if (skipIfUnavailable(t)) return;
  const tid = sim.hazardTids.futex;
  const site = syscallSite('hazardFutexWait');
  const at = await topPc(tid);
  // arm64 rewinds an interrupted syscall before the tracer sees the stop (do_signal restores X0
  // and sets PC back to the SVC), so unlike amd64 (PC after the SYSCALL, RAX = -ERESTARTSYS) the
  // thread sits on its SVC: the first step of it must be the step over the syscall.
  assert.equal(at, site.hazard, `right after attach the futex thread is on its SVC (PC ${hex(at)}, SVC at ${hex(site.hazard)})`);
  const t0 = Date.now();
  const ev = await stoppedAfter(() => dc!.nextRequest({ threadId: tid }));
  t.diagnostic(`line next: ${Date.now() - t0} ms: ${ev.body.description}`);
  assert.equal(ev.body.threadId, tid, output());
  assert.equal(ev.body.reason, 'step');
  assert.match(ev.body.description ?? '', /^(finished the interrupted syscall futex \(98\) \(ERESTARTSYS\) with a breakpoint; then )?next$/);
  assert.equal(await topPc(tid), site.after, 'the next line, after the SVC: the futex wait returned');
  await keepsRunning(t, 'futexWaits');
});

for (const kind of ['stepIn', 'next'] as const) {
  for (const h of [
    {
      hazard: 'seccomp',
      fn: 'hazardSeccompMmap',
      syscall: 'mmap (222)',
      counter: 'seccompCalls',
      what: 'the trapped mmap (222) with a breakpoint; the slow SIGSYS handler performs it',
    },
    {
      hazard: 'futex',
      fn: 'hazardFutexWait',
      syscall: 'futex (98)',
      counter: 'futexWaits',
      what: 'the blocking futex wait (98) with a breakpoint; the waker wakes it',
    },
  ] as const) {
    test(`${h.hazard}: ${kind} (instruction) steps over ${h.what}`, async (t) => {
      if (skipIfUnavailable(t)) return;
      const tid = sim.hazardTids[h.hazard];
      // The breakpoint is one instruction past the SVC's return address, where no thread can be
      // parked inside the call (safeStep.ts, syscallReturnStop): the thread also runs the MOVD after it.
      const svc = syscallSite(h.fn);
      const landed = { ...svc, after: svc.after + 4n };
      const over = await stepFromHazard(t, tid, landed, kind);
      const m = /^stepped over syscall (.+) with a breakpoint after the next instruction \((MOVD R0, [^)]*\)?)\); now at (\S+) (\S+)$/.exec(over.description);
      assert.ok(m, over.description);
      assert.deepEqual([m[1], m[3], m[4]], [h.syscall, hex(landed.after), landing(h.fn, landed)], over.description);
      assert.equal(await topPc(tid), landed.after, 'the PC is past the SVC and the MOVD after it');
      await keepsRunning(t, h.counter);
    });
  }

  test(`vDSO: ${kind} (instruction) steps over runtime.walltime's CALL (R2) into the vDSO with a breakpoint at its return address`, async (t) => {
    if (skipIfUnavailable(t)) return;
    const tid = sim.hazardTids.vdso;
    const site = vdsoCallSite(sim.binary);
    const over = await stepFromHazard(t, tid, site, kind);
    if (kind === 'next') {
      // next steps over every call the same way: run to the return address on a breakpoint.
      assert.match(over.description, /^stepped over CALL \(R\d+\) with a breakpoint$/);
    } else {
      // The bluepill engine's words, or the stepping guard's.
      const m =
        /^stepped over (?:the call into the vDSO \(\[vdso\]\+0x[0-9a-f]+\)|a call into code without symbols \((0x[0-9a-f]+), e\.g\. the vDSO\)) with a breakpoint(?:; now at (0x[0-9a-f]+) runtime\.walltime\+0x[0-9a-f]+)?$/.exec(
          over.description,
        );
      assert.ok(m, `the step over the vDSO call is named: ${over.description}`);
      if (m[1]) {
        const vdso = await vdsoRange();
        assert.ok(BigInt(m[1]) >= vdso.start && BigInt(m[1]) < vdso.end, `the call target ${m[1]} is in ${vdso.text}`);
      }
      if (m[2]) assert.equal(BigInt(m[2]), site.after);
    }
    assert.equal(await topPc(tid), site.after, 'the PC is past the call');
    await keepsRunning(t, 'vdsoReads');
  });
}

/** The next `bluepill/progress` event for `tid` that says it is waiting. */
function progressFor(tid: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const seen: string[] = [];
    const onStop = (e: DebugProtocol.StoppedEvent): void => void seen.push(`stopped ${e.body.threadId} ${e.body.reason}: ${e.body.description ?? ''}`);
    dc!.on('stopped', onStop);
    const timer = setTimeout(() => {
      dc!.removeListener(ProgressEvent.event, on);
      dc!.removeListener('stopped', onStop);
      reject(new Error(`no progress event for thread ${tid} within ${timeoutMs} ms; seen: ${seen.join(' | ')}\noutput: ${output().slice(-1500)}`));
    }, timeoutMs);
    const on = (e: DebugProtocol.Event): void => {
      const body = e.body as { threadId?: number; message?: string; done?: boolean };
      seen.push(`progress ${JSON.stringify(body)}`);
      if (body.threadId !== tid || body.done || !body.message) return;
      clearTimeout(timer);
      dc!.removeListener(ProgressEvent.event, on);
      dc!.removeListener('stopped', onStop);
      resolve(body.message);
    };
    dc!.on(ProgressEvent.event, on);
  });
}

/**
 * stepIn (instruction) from the hazard, Pause once the adapter reports the wait; the pause stop.
 * A wait that ends before its first progress report (a wake that was already on its way) is
 * tried again, up to three times, and reported.
 */
async function pauseMidWait(
  t: TestContext,
  tid: number,
  site: HazardSite,
  onHazard: () => Promise<void> = async () => undefined,
): Promise<DebugProtocol.StoppedEvent> {
  for (let attempt = 1; ; attempt++) {
    await park(tid, site.before);
    await stepPast(tid, { ...site, after: site.hazard });
    assert.equal(await topPc(tid), site.hazard, 'on the hazardous instruction');
    await onHazard();
    const stopped = dc!.waitForEvent('stopped', STOP_TIMEOUT_MS) as Promise<DebugProtocol.StoppedEvent>;
    const waiting = progressFor(tid, 60_000);
    waiting.catch(() => undefined);
    const t0 = Date.now();
    await dc!.stepInRequest({ threadId: tid, granularity: 'instruction' });
    const first = await Promise.race([waiting.then((message) => ({ message })), stopped.then((ev) => ({ ev }))]);
    if ('ev' in first) {
      lastStoppedTid = first.ev.body.threadId ?? lastStoppedTid;
      t.diagnostic(`attempt ${attempt}: the wait ended before any progress (${first.ev.body.reason}: ${first.ev.body.description}); again`);
      assert.ok(attempt < 3, 'three waits in a row ended within a second');
      continue;
    }
    await dc!.pauseRequest({ threadId: tid });
    const ev = await stopped;
    lastStoppedTid = ev.body.threadId ?? lastStoppedTid;
    t.diagnostic(`progress "${first.message}"; paused after ${Date.now() - t0} ms: ${ev.body.reason}: ${ev.body.description}`);
    return ev;
  }
}

test('Pause during the futex wait (the waker held): the stop says so, the thread is still at its SVC, the session goes on', async (t) => {
  if (skipIfUnavailable(t)) return;
  const tid = sim.hazardTids.futex;
  const site = syscallSite('hazardFutexWait');
  let ev: DebugProtocol.StoppedEvent;
  try {
    // Held once the waiter is on its SVC (and so has set the word it waits on): no wake until released.
    ev = await pauseMidWait(t, tid, site, async () => void (await checked(['touch', FUTEX_HOLD])));
  } finally {
    await checked(['rm', '-f', FUTEX_HOLD]);
  }
  assert.equal(ev.body.reason, 'pause');
  assert.equal(ev.body.threadId, tid);
  assert.match(
    ev.body.description ?? '',
    /^cancelled after [0-9.]+ s waiting for thread \d+ to return from syscall futex \(98\); thread \d+ is left stopped at 0x[0-9a-f]+, the breakpoint is removed$/,
  );
  // Still blocked in the kernel: the PC is on the SVC (arm64 rewinds the interrupted syscall) or after it.
  const pc = await topPc(tid);
  assert.ok(pc === site.hazard || pc === site.after, `PC ${hex(pc)} at the SVC ${hex(site.hazard)} or after it`);
  await keepsRunning(t, 'futexWaits');
});

test(`Pause during the seccomp trap (SIGSYS handler sleeping ${TRAP_DELAY}): the stop says so, the thread is inside the trap, the mmap completes after continue`, async (t) => {
  if (skipIfUnavailable(t)) return;
  const tid = sim.hazardTids.seccomp;
  const site = syscallSite('hazardSeccompMmap');
  const ev = await pauseMidWait(t, tid, site);
  assert.equal(ev.body.reason, 'pause');
  assert.equal(ev.body.threadId, tid);
  assert.match(
    ev.body.description ?? '',
    /^cancelled after [0-9.]+ s waiting for thread \d+ to return from syscall mmap \(222\); thread \d+ is left stopped at 0x[0-9a-f]+, the breakpoint is removed$/,
  );
  assert.notEqual(await topPc(tid), site.after, 'not past the SVC yet: the trap handler still runs');
  await keepsRunning(t, 'seccompCalls');
});

test('Pause racing the step over the vDSO call: stopped once or twice (pause), never past a stale breakpoint; the simulator runs on', async (t) => {
  if (skipIfUnavailable(t)) return;
  const tid = sim.hazardTids.vdso;
  const site = vdsoCallSite(sim.binary);
  await park(tid, site.before);
  await stepPast(tid, { ...site, after: site.hazard });
  const stops: DebugProtocol.StoppedEvent[] = [];
  const onStop = (e: DebugProtocol.StoppedEvent): void => void stops.push(e);
  dc!.on('stopped', onStop);
  try {
    await dc!.stepInRequest({ threadId: tid, granularity: 'instruction' });
    await dc!.pauseRequest({ threadId: tid });
    await waitFor('a stop after the step and the pause', () => stops.length > 0, { timeoutMs: 60_000, intervalMs: 100 }).catch(() => undefined);
    await new Promise((res) => setTimeout(res, 3_000)); // a second stop (pause after the step ended) comes within this
  } finally {
    dc!.removeListener('stopped', onStop);
  }
  t.diagnostic(stops.map((e) => `${e.body.reason}: ${e.body.description ?? ''}`).join(' | '));
  assert.ok(stops.length === 1 || stops.length === 2, `one or two stops, got ${stops.length}`);
  for (const e of stops) assert.ok(e.body.reason === 'step' || e.body.reason === 'pause', e.body.reason);
  lastStoppedTid = stops[stops.length - 1].body.threadId ?? lastStoppedTid;
  const pc = await topPc(tid);
  const vdso = await vdsoRange();
  assert.ok(pc === site.hazard || pc === site.after || (pc >= vdso.start && pc < vdso.end), `PC ${hex(pc)}: on the call, after it, or inside the vDSO`);
  await keepsRunning(t, 'vdsoReads');
});

test('after all the steps the simulator still runs untraced once the adapter disconnects, its checks passing', async (t) => {
  if (skipIfUnavailable(t)) return;
  await dc!.continueRequest({ threadId: lastStoppedTid });
  await dc!.disconnectRequest({});
  const was = await counters();
  const now = await waitForCounter('roundTrips', was.roundTrips + 5, 120_000);
  for (const key of ['seccompCalls', 'futexWaits', 'vdsoReads'] as const) await waitForCounter(key, was[key], 120_000);
  assert.equal(now.checksOK, true);
  const proc = await checked(['cat', `/proc/${sim.pid}/status`]);
  assert.doesNotMatch(proc, /^State:\s+[tTZX]/m);
  assert.doesNotMatch(await sim.stderr(), /FATAL/);
  t.diagnostic(`final counters: ${JSON.stringify(now)}`);
});
