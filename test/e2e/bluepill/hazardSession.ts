// A hazard-running simulator with real Delve attached, and ways to park a hazard thread right
// before its hazardous instruction without a breakpoint on that instruction: a breakpoint on an
// earlier instruction of the hazard function, then plain single steps over harmless MOVs.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { DelveClient } from '../../../src/delve/delveClient';
import { AsmFlavour, type DebuggerState } from '../../../src/delve/delveTypes';
import { startLocalDelve, type RunningDelve } from '../../../src/target/localDelve';
import { localMapsReader, type MapsReader } from '../../../src/linux/processMaps';
import { ThreadRegisters } from '../../../src/bluepill/threadRegisters';
import { VdsoSymbolizer } from '../../../src/bluepill/vdsoSymbolizer';
import { DelveSymbolizer } from '../../../src/bluepill/delveSymbolizer';
import { runToAddress } from '../../support/delveSession';
import {
  countersOf,
  resolveToolchain,
  startSimulator,
  toolchainUnavailable,
  type HazardCounters,
  type RunningSimulator,
  type Toolchain,
} from '../../support/simulator';

export type HazardName = 'seccomp' | 'futex' | 'vdso';

export interface HazardSession {
  sim: RunningSimulator;
  dlv: RunningDelve;
  client: DelveClient;
  symbols: Record<string, number>;
  maps: MapsReader;
  toolchain: Toolchain;
  close(): Promise<void>;
}

export { runToAddress, toolchainUnavailable };

/** `extraArgs`: more simulator flags, e.g. `--sim-trap-delay=2s` for a slow SIGSYS handler. */
export async function openHazardSession(toolchain: Toolchain = 'debian12', extraArgs: string[] = []): Promise<HazardSession> {
  const tc = await resolveToolchain(toolchain);
  // Futex wakes are held while Delve attaches: the futex thread is then certainly blocked in its
  // wait when attached (hazard 4), not somewhere between two waits.
  const hold = join(await mkdtemp(join(tmpdir(), 'bluepill-hold-')), 'futex-hold');
  const sim = await startSimulator({ vcpus: 2, hazards: ['seccomp', 'futex', 'vdso'], toolchain, extraArgs: [`--sim-futex-hold-file=${hold}`, ...extraArgs] });
  await sim.waitForProgress(4, 30_000);
  const st = await sim.status();
  const symbols: Record<string, number> = {};
  for (const [k, v] of Object.entries((st.symbols ?? {}) as Record<string, string>)) symbols[k] = Number(v);
  await writeFile(hold, '');
  await new Promise((r) => setTimeout(r, 200)); // a wake already past its check lands; the waiter blocks again
  let dlv: RunningDelve;
  try {
    dlv = await startLocalDelve({ pid: sim.pid, dlvPath: tc.dlv });
  } finally {
    await rm(hold, { force: true });
  }
  const client = new DelveClient(await dlv.connect(), { timeoutMs: 30_000 });
  return {
    sim,
    dlv,
    client,
    symbols,
    toolchain,
    maps: localMapsReader(),
    async close() {
      // A Delve wedged in a single step (a control test) answers nothing until its target is gone;
      // the killed target is reaped only once Delve lets go of it, so its stop is awaited last.
      const answers = await client.state(true, { timeoutMs: 2_000 }).then(
        () => true,
        () => false,
      );
      const simStopped = answers ? undefined : sim.stop();
      await client.detach(false, { timeoutMs: 10_000 }).then(
        () => undefined,
        () => undefined,
      );
      client.close();
      await dlv.stop();
      await (simStopped ?? sim.stop());
    },
  };
}

export { countersOf, type HazardCounters };

/** Symbols as the adapter has them: Delve's, and the vDSO named from /proc/PID/maps. */
export function sessionSymbolizer(s: HazardSession): DelveSymbolizer {
  return new DelveSymbolizer(s.client, new VdsoSymbolizer(s.maps, s.sim.pid));
}

export async function threadPc(s: HazardSession, tid: number): Promise<number> {
  const regs = await s.client.listRegisters(tid);
  return new ThreadRegisters(regs).address(regs.some((r) => r.Name === 'Rip') ? 'Rip' : 'PC');
}

/** Plain single steps of `tid` until its PC is `target` (only over harmless instructions). */
export async function stepUntil(s: HazardSession, tid: number, target: number, maxSteps = 16): Promise<void> {
  await s.client.switchThread(tid);
  for (let i = 0; i < maxSteps; i++) {
    if ((await threadPc(s, tid)) === target) return;
    await s.client.stepInstruction({ threadID: tid, timeoutMs: 5_000 });
  }
  if ((await threadPc(s, tid)) !== target) throw new Error(`thread ${tid} did not reach 0x${target.toString(16)} in ${maxSteps} steps`);
}

/** The seccomp or futex hazard thread, stopped on its SYSCALL (reached from the function's entry). */
export async function parkBeforeSyscall(s: HazardSession, hazard: 'seccomp' | 'futex'): Promise<{ tid: number; syscallPc: number }> {
  const fn = hazard === 'seccomp' ? 'kvm.hazardSeccompMmap' : 'kvm.hazardFutexWait';
  const tid = s.sim.hazardTids[hazard];
  const syscallPc = s.symbols[`${fn}.syscall`];
  if (!(s.symbols[fn] < syscallPc)) throw new Error(`no symbols for ${fn}`);
  await runToAddress(s, tid, s.symbols[fn]);
  await stepUntil(s, tid, syscallPc);
  return { tid, syscallPc };
}

/** The instruction after which Go calls the vDSO clock: the first `CALL AX` of time.now. */
export async function vdsoCallSite(s: HazardSession): Promise<{ call: number; before: number; next: number }> {
  const loc = await s.client.findLocation('time.now');
  const entry = loc[0]?.function?.value;
  if (!entry) throw new Error('time.now not found');
  const code = await s.client.disassemble(entry, 0, AsmFlavour.Go);
  const i = code.findIndex((x) => /^CALL (AX|R\d+|\(R\d+\))$/.test(x.Text));
  if (i < 1) throw new Error(`no indirect call in time.now:\n${code.map((x) => x.Text).join('\n')}`);
  return { call: code[i].Loc.pc, before: code[i - 1].Loc.pc, next: code[i + 1].Loc.pc };
}

/** The vDSO hazard thread, stopped on time.now's call into the vDSO. */
export async function parkBeforeVdsoCall(s: HazardSession): Promise<{ tid: number; call: number; next: number }> {
  const tid = s.sim.hazardTids.vdso;
  const site = await vdsoCallSite(s);
  for (let attempt = 0; attempt < 20; attempt++) {
    await runToAddress(s, tid, site.before);
    await s.client.switchThread(tid);
    await s.client.stepInstruction({ threadID: tid, timeoutMs: 5_000 });
    if ((await threadPc(s, tid)) === site.call) return { tid, call: site.call, next: site.next };
  }
  throw new Error('the vDSO thread never went from the instruction before the call to the call');
}

/** Lets the target run for `ms`, then halts it (stopped afterwards, as a debugger leaves it). */
export async function runFor(s: HazardSession, ms: number): Promise<DebuggerState> {
  const running = s.client.continue({ timeoutMs: 0 });
  const timer = setTimeout(() => void s.client.halt({ timeoutMs: 10_000 }).catch(() => undefined), ms);
  try {
    return await running;
  } finally {
    clearTimeout(timer);
  }
}

/** Breakpoints the user could see (Delve's own have negative ids). */
export async function userBreakpointAddrs(s: HazardSession): Promise<number[]> {
  return (await s.client.listBreakpoints()).filter((b) => b.id > 0).map((b) => b.addr);
}

/**
 * Runs the target for `runMs` (then halts it again): the simulator is alive, its checks pass, `key`
 * and the round trips went on past `before`, and no breakpoint of ours is left.
 */
export async function assertRunsOn(
  s: HazardSession,
  before: HazardCounters,
  key: keyof Omit<HazardCounters, 'checksOK'>,
  runMs = 1_000,
): Promise<HazardCounters> {
  await runFor(s, runMs);
  assert.ok(s.sim.alive(), `the simulator is alive\n${s.sim.stderr()}`);
  const now = countersOf(await s.sim.status());
  assert.equal(now.checksOK, true, 'the simulator checks pass');
  assert.ok(now[key] > before[key], `${key} went on: ${before[key]} → ${now[key]}`);
  assert.ok(now.roundTrips > before.roundTrips, `round trips went on: ${before.roundTrips} → ${now.roundTrips}`);
  assert.deepEqual(await userBreakpointAddrs(s), [], 'no breakpoint left behind');
  return now;
}

/**
 * One hazard session for the tests of the enclosing describe: opened before them, closed after;
 * `use` gets the session, or why the toolchain cannot be used here (the tests skip with it).
 */
export function shareHazardSession(toolchain: Toolchain, use: (s: HazardSession | undefined, unavailable: string | undefined) => void): void {
  let s: HazardSession | undefined;
  before(async () => {
    const unavailable = await toolchainUnavailable(toolchain);
    if (!unavailable) s = await openHazardSession(toolchain);
    use(s, unavailable);
  });
  after(async () => {
    await s?.close();
  });
}
