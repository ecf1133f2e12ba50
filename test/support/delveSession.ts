// A simulator with real Delve attached, and ways to park a vCPU thread at each starting point of
// step-over-bluepill without ever planting a breakpoint in guest code (kvm.bluepill, the guest exit).
import { test, type TestContext } from 'node:test';
import { DelveClient } from '../../src/delve/delveClient';
import type { DebuggerState, Thread } from '../../src/delve/delveTypes';
import { AsmFlavour } from '../../src/delve/delveTypes';
import { startLocalDelve, type RunningDelve } from '../../src/target/localDelve';
import { runToAddress as runThreadToAddress } from './rawDelve';
import { waitFor } from './waitFor';
import { resolveToolchain, startSimulator, toolchainUnavailable, type RunningSimulator, type StartOptions, type Toolchain } from './simulator';

export interface Session {
  sim: RunningSimulator;
  dlv: RunningDelve;
  client: DelveClient;
  symbols: Record<string, number>;
  toolchain: Toolchain;
  close(): Promise<void>;
}

export { toolchainUnavailable };

/**
 * A test on its own simulator (started with `opts`) and Delve, both closed afterwards; skipped,
 * with the reason, when the toolchain cannot be used here.
 */
export function testWithSession(
  toolchain: Toolchain,
  unavailable: string | undefined,
  name: string,
  opts: SessionOptions,
  body: (s: Session, t: TestContext) => Promise<void>,
): void {
  test(name, { timeout: 240_000 }, async (t) => {
    if (unavailable) {
      t.skip(unavailable);
      return;
    }
    const s = await openSession({ ...opts, toolchain });
    try {
      await body(s, t);
    } finally {
      await s.close();
    }
  });
}

export interface SessionOptions extends StartOptions {
  toolchain?: Toolchain;
  /** Round trips to wait for before attaching (default 4; 0 for guests that take minutes). */
  minRoundTrips?: number;
  /** Handler entries to wait for before attaching (a slow guest: every vCPU inside the handler). */
  minHandlerEntries?: number;
}

export async function openSession(opts: SessionOptions = {}): Promise<Session> {
  const toolchain = opts.toolchain ?? 'debian12';
  const tc = await resolveToolchain(toolchain);
  const sim = await startSimulator({ vcpus: 2, ...opts, toolchain });
  try {
    return await attach(sim, opts, toolchain, tc.dlv);
  } catch (e) {
    await sim.stop();
    throw e;
  }
}

async function attach(sim: RunningSimulator, opts: SessionOptions, toolchain: Toolchain, dlvPath: string): Promise<Session> {
  await sim.waitForProgress(opts.minRoundTrips ?? 4, 30_000);
  const minHandlerEntries = opts.minHandlerEntries;
  if (minHandlerEntries) {
    // Best effort, as before: after 30 s the session opens anyway (the test's own checks then tell).
    await waitFor(
      `${minHandlerEntries} bluepill handler entries`,
      async () => {
        const n = Number((await sim.status().catch(() => ({ handlerEntries: 0 }))).handlerEntries ?? 0);
        return n >= minHandlerEntries;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    ).catch(() => undefined);
  }
  const st = await sim.status();
  const symbols: Record<string, number> = {};
  for (const [k, v] of Object.entries((st.symbols ?? {}) as Record<string, string>)) symbols[k] = Number(v);
  const dlv = await startLocalDelve({ pid: sim.pid, dlvPath });
  const client = new DelveClient(await dlv.connect(), { timeoutMs: 30_000 });
  return {
    sim,
    dlv,
    client,
    symbols,
    toolchain,
    async close() {
      await client.detach(false).catch(() => undefined);
      client.close();
      await dlv.stop();
      await sim.stop();
    },
  };
}

function threadOf(st: DebuggerState, tid: number): Thread | undefined {
  return st.Threads?.find((t) => t.id === tid) ?? (st.currentThread?.id === tid ? st.currentThread : undefined);
}

/** Continues until thread `tid` stops at `addr` (a breakpoint we create and remove); others go on. */
export function runToAddress(s: Pick<Session, 'client' | 'sim'>, tid: number, addr: number): Promise<void> {
  return runThreadToAddress(s.client, tid, addr, { stderr: () => s.sim.stderr() });
}

/** Continues until a vCPU thread stops at `addr` (a host-code breakpoint we create and remove). */
export async function runToHostAddress(s: Session, addr: number, accept: (t: Thread) => Promise<boolean> = async () => true): Promise<number> {
  const bp = await s.client.createBreakpoint({ addrs: [addr] });
  try {
    for (let i = 0; i < 200; i++) {
      const st = await s.client.continue({ timeoutMs: 60_000 });
      for (const t of st.Threads ?? []) {
        if (t.pc === addr && s.sim.vcpuTids.includes(t.id) && (await accept(t))) return t.id;
      }
    }
    throw new Error(`no vCPU thread reached 0x${addr.toString(16)}`);
  } finally {
    await s.client.clearBreakpoint(bp.id);
  }
}

export async function stepOnce(s: Session, tid: number): Promise<number> {
  await s.client.switchThread(tid);
  const st = await s.client.stepInstruction({ threadID: tid, timeoutMs: 10_000 });
  const t = threadOf(st, tid);
  if (!t) throw new Error(`thread ${tid} not in the step's state`);
  return t.pc;
}

/** The CALL of kvm.bluepill inside kvm.roundTrip (host code: a breakpoint there is safe). */
export async function callSiteOfBluepill(s: Session): Promise<number> {
  const code = await s.client.disassemble(s.symbols['kvm.roundTrip'], 0, AsmFlavour.Go);
  const call = code.find((i) => i.DestLoc?.pc === s.symbols['kvm.bluepill'] || /kvm\.bluepill\(SB\)/.test(i.Text));
  if (!call) throw new Error(`no CALL kvm.bluepill in kvm.roundTrip:\n${code.map((i) => i.Text).join('\n')}`);
  return call.Loc.pc;
}

/** A vCPU thread stopped on kvm.bluepill's first instruction (before the fault). */
export async function parkBeforeFault(s: Session): Promise<number> {
  const tid = await runToHostAddress(s, await callSiteOfBluepill(s));
  const pc = await stepOnce(s, tid);
  if (pc !== s.symbols['kvm.bluepill']) throw new Error(`stepping the CALL went to 0x${pc.toString(16)}`);
  return tid;
}

/** A vCPU thread stopped on the faulting CLI of kvm.bluepill. */
export async function parkAtFault(s: Session): Promise<number> {
  const tid = await parkBeforeFault(s);
  for (let i = 0; i < 8; i++) {
    const regs = await s.client.listRegisters(tid);
    const pc = Number(regs.find((r) => r.Name === 'Rip' || r.Name === 'PC')!.Value.split(/\s/)[0]);
    if (pc === s.symbols['kvm.bluepill.fault']) return tid;
    await stepOnce(s, tid);
  }
  throw new Error('did not reach the fault');
}

/** A vCPU thread stopped on the handler's first instruction (stepped into by the fault). */
export async function parkAtHandlerEntry(s: Session): Promise<number> {
  const tid = await parkAtFault(s);
  await stepOnce(s, tid);
  return tid;
}

/** A vCPU thread stopped inside bluepillHandler (host code, a few instructions past its entry). */
export async function parkInBluepillHandler(s: Session): Promise<number> {
  const tid = await parkAtHandlerEntry(s);
  const entry = s.symbols['kvm.bluepillHandler'];
  for (let i = 0; i < 64; i++) {
    const pc = await stepOnce(s, tid);
    if (pc > entry + 8 && pc < entry + 0x100) return tid;
  }
  throw new Error('did not get into bluepillHandler');
}

/** A vCPU thread stopped on the trampoline's first instruction, returning from a bluepill handler. */
export async function parkInTrampoline(s: Session): Promise<number> {
  const tramp = s.symbols['trampoline.restorer'];
  return runToHostAddress(s, tramp, async (t) => {
    const regs = await s.client.listRegisters(t.id);
    const sp = Number(regs.find((r) => r.Name === 'Rsp' || r.Name === 'SP')!.Value.split(/\s/)[0]);
    // amd64: the ucontext is at SP; a bluepill return has the guest exit's PC in it.
    const mem = await s.client.examineMemory(sp + 0xa8, 8);
    const pc = Number(mem.readBigUInt64LE(0));
    return pc === s.symbols['kvm.guestExitSyscall.landing'] || pc === s.symbols['ring0.kernelExitToEl0'];
  });
}

/** [start, end) of the simulator's guest code (kvm.bluepill, ring0.kernelExitToEl0, kvm.guestExitSyscall), from Delve. */
export async function guestCodeRanges(s: Session): Promise<Array<[number, number]>> {
  const out: Array<[number, number]> = [];
  for (const name of ['kvm.bluepill', 'ring0.kernelExitToEl0', 'kvm.guestExitSyscall']) {
    const code = await s.client.disassemble(s.symbols[name], 0, AsmFlavour.Go);
    const last = code[code.length - 1];
    out.push([code[0].Loc.pc, last.Loc.pc + Buffer.from(last.Bytes, 'base64').length]);
  }
  return out;
}
