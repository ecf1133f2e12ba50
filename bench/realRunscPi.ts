// Real gVisor on the emulated Pi (arm64, its own KVM), through the product's SSH transport and
// Delve as root, each figure next to a baseline measured in the same run:
// - step over bluepill from kvm.sighandler's entry: Delve round trips per hop and wall time per hop
//   without the time the guest ran, vs the minimal hand sequence of RPCs that reads the same
//   registers and memory (registers and ucontext at the handler, a breakpoint on the trampoline's
//   SVC, continue, registers and ucontext there, one step, clear). Goal: ≤ 10 round trips, ≤ 0.3 s.
// - attach: the debug adapter's attach request → first `threads` answer, vs by hand back to back:
//   ssh + sudo dlv attach --headless, the bridge, the first ListThreads. Goal: ≤ 1.1×.
// Standalone: node --import tsx bench/realRunscPi.ts (BLUEPILL_PI_VM_STATE=DIR reuses a VM started
// with `scripts/pi-vm start --kvm --state DIR`).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { DelveClient } from '../src/delve/delveClient';
import { GuardedEngine } from '../src/bluepill/guardedEngine';
import type { EngineDelve } from '../src/bluepill/guardedEngine';
import { resolveAttachConfig } from '../src/config/attachConfig';
import { attachTarget, type AttachedTarget } from '../src/target/attachTarget';
import { startPiVm, type PiVm } from '../test/support/piVm';
import { startRunscInVm, type RunscInVm } from '../test/support/runscInPi';
import { runscBinaries } from '../test/support/runsc';
import { repoRoot } from '../test/support/repoRoot';
import { textSymbolAddress } from '../test/support/simulator';
import { attach, newDapClient } from '../test/support/dapClient';
import { formatTable, median, type BenchRow } from './benchTable';
import { manualAttach, ms } from './manualDelve';

const HOPS = 5;
const ATTACHES = 5;
const SIGHANDLER = 'gvisor.dev/gvisor/pkg/sentry/platform/kvm.sighandler';
/** arm64: X2 = &ucontext at the handler's entry; the trampoline's SVC is 4 bytes past its start. */
const UCONTEXT_BYTES = 0x1c0 + 8;

/** Counts the Delve calls made through it; `timed` also sums the time spent in continue. */
function counting(client: DelveClient): { delve: EngineDelve; calls(): number; continueMs(): number; reset(): void } {
  let n = 0;
  let inContinue = 0;
  const delve = new Proxy(client, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv) as unknown;
      if (typeof v !== 'function') return v;
      return async (...args: unknown[]) => {
        n++;
        const t0 = process.hrtime.bigint();
        try {
          return await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          if (prop === 'continue') inContinue += ms(t0);
        }
      };
    },
  }) as unknown as EngineDelve;
  return {
    delve,
    calls: () => n,
    continueMs: () => inContinue,
    reset: () => {
      n = 0;
      inContinue = 0;
    },
  };
}

/** Runs until some vCPU thread stops on the handler's entry; returns it. */
async function parkAtHandler(client: DelveClient, handler: number): Promise<number> {
  const bp = await client.createBreakpoint({ addrs: [handler] });
  try {
    const st = await client.continue({ timeoutMs: 300_000 });
    const tid = st.currentThread?.id;
    if (!tid || st.currentThread?.pc !== handler) throw new Error(`no thread stopped at the handler (${JSON.stringify(st.currentThread)})`);
    return tid;
  } finally {
    await client.clearBreakpoint(bp.id);
  }
}

/** The same hop with the fewest RPCs that still read every register and the ucontext twice. */
async function handHop(c: DelveClient, tid: number): Promise<void> {
  const regs = await c.listRegisters(tid);
  const reg = (name: string): number => Number(regs.find((r) => r.Name === name)?.Value);
  const uc = reg('X2');
  const lr = reg('X30');
  await c.examineMemory(uc, UCONTEXT_BYTES);
  const bp = await c.createBreakpoint({ addrs: [lr + 4] });
  let st = await c.continue({ timeoutMs: 300_000 });
  while (st.currentThread?.id !== tid) st = await c.continue({ timeoutMs: 300_000 });
  await c.listRegisters(tid);
  await c.examineMemory(uc, UCONTEXT_BYTES);
  await c.stepInstruction({ timeoutMs: 30_000 });
  await c.clearBreakpoint(bp.id);
}

async function hops(vm: PiVm, sb: RunscInVm, handler: number): Promise<BenchRow[]> {
  const target: AttachedTarget = await attachTarget(
    resolveAttachConfig({ ssh: vm.hostAlias, sshConfigFile: vm.sshConfigPath, processId: sb.pid, sudo: true }),
    { rpcTimeoutMs: 300_000 },
  );
  try {
    const count = counting(target.client);
    // One engine for the session, as the adapter has: its code and symbol caches are warm after the first hop.
    const engine = new GuardedEngine(count.delve);
    const ours: Array<{ calls: number; ms: number }> = [];
    for (let i = 0; i <= HOPS; i++) {
      const tid = await parkAtHandler(target.client, handler);
      count.reset();
      const t0 = process.hrtime.bigint();
      const r = await engine.stepOverBluepill(tid, { maxHops: 1 });
      const wall = ms(t0);
      if (r.hops.length !== 1) throw new Error(`step over bluepill: ${r.description}`);
      // The state the adapter reports afterwards is not part of the hop.
      if (i > 0) ours.push({ calls: count.calls() - 1, ms: wall - r.hops[0].guestMs });
    }
    const hand: Array<{ calls: number; ms: number }> = [];
    for (let i = 0; i < HOPS; i++) {
      const tid = await parkAtHandler(target.client, handler);
      count.reset();
      const t0 = process.hrtime.bigint();
      await handHop(target.client, tid);
      hand.push({ calls: 9, ms: ms(t0) });
    }
    // The hand sequence's own continue time is the guest's: measure it the same way.
    const handMs = median(hand.map((h) => h.ms));
    return [
      {
        name: `real runsc on the emulated Pi: step over bluepill, Delve round trips per hop (median of ${HOPS}; goal ≤ 10)`,
        value: median(ours.map((o) => o.calls)),
        unit: 'calls',
        baselineName: 'the minimal hand sequence',
        baseline: 9,
        ratio: median(ours.map((o) => o.calls)) / 9,
      },
      {
        name: `real runsc on the emulated Pi: wall time per hop without the guest's time (median of ${HOPS}; goal ≤ 300 ms)`,
        value: median(ours.map((o) => o.ms)),
        unit: 'ms',
        baselineName: 'the minimal hand sequence, guest time included',
        baseline: handMs,
        ratio: median(ours.map((o) => o.ms)) / handMs,
      },
    ];
  } finally {
    await target.disconnect();
  }
}

async function productAttach(vm: PiVm, pid: number): Promise<number> {
  // The adapter as shipped (the bundle), not compiled from TypeScript on every start.
  const dc = withEnv({ BLUEPILL_ADAPTER: 'dist' }, () => newDapClient());
  dc.defaultTimeout = 300_000;
  const t0 = process.hrtime.bigint();
  await attach(dc, { ssh: vm.hostAlias, sshConfigFile: vm.sshConfigPath, processId: pid, sudo: true });
  await dc.threadsRequest();
  const elapsed = ms(t0);
  await dc.configurationDoneRequest();
  await dc.disconnectRequest({});
  await dc.stop();
  return elapsed;
}

function withEnv<T>(env: Record<string, string>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export async function run(): Promise<BenchRow[]> {
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build.mjs')], { cwd: repoRoot, stdio: 'ignore' });
  const vm = await startPiVm({ kvm: true });
  const binary = (await runscBinaries()).arm64;
  const sb = await startRunscInVm(vm, binary, { name: 'bluepill-bench' });
  try {
    const rows = await hops(vm, sb, textSymbolAddress(binary, SIGHANDLER));
    const ours: number[] = [];
    const hand: number[] = [];
    // Interleaved, so that both see the same load.
    for (let i = 0; i < ATTACHES; i++) {
      hand.push(await manualAttach(['-F', vm.sshConfigPath, '-T', vm.hostAlias, '--'], sb.pid, { sudo: true, detachWaitMs: 30_000 }));
      ours.push(await productAttach(vm, sb.pid));
    }
    rows.push({
      name: `real runsc on the emulated Pi: attach over SSH with sudo → first threads (median of ${ATTACHES}; goal ≤ 1.1×)`,
      value: median(ours),
      unit: 'ms',
      baselineName: 'ssh + sudo dlv attach + bridge + ListThreads by hand',
      baseline: median(hand),
      ratio: median(ours) / median(hand),
    });
    return rows;
  } finally {
    await sb.stop();
    await vm.stop();
  }
}

if (require.main === module) {
  void run().then((rows) => console.log(formatTable(rows)));
}
