// Step over bluepill vs stepping the same hop one instruction at a time, both on the amd64
// simulator in one run: Delve round trips and wall time per hop, from the faulting CLI to the
// landing PC (the guest exit's syscall). Goal: at least 20× fewer round trips.
import { DelveClient } from '../src/delve/delveClient';
import { stepOverBluepill } from '../src/bluepill/stepOverBluepill';
import type { BluepillDelve } from '../src/bluepill/bluepillDelve';
import { openSession, parkAtFault, type Session } from '../test/support/delveSession';
import { formatTable, median, type BenchRow } from './benchTable';

const OURS_RUNS = 5;
const BASELINE_RUNS = 2;
const MAX_SINGLE_STEPS = 200_000;

/** Counts every Delve call (one JSON-RPC round trip each) made through it. */
function counting(client: DelveClient): { delve: BluepillDelve; count(): number; reset(): void } {
  let n = 0;
  const delve = new Proxy(client, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        n++;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as unknown as BluepillDelve;
  return {
    delve,
    count: () => n,
    reset: () => {
      n = 0;
    },
  };
}

async function oursOnce(s: Session): Promise<{ trips: number; ms: number; hops: number }> {
  const tid = await parkAtFault(s);
  const c = counting(s.client);
  const t0 = process.hrtime.bigint();
  const r = await stepOverBluepill(c.delve, tid);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.stopReason !== 'landed') throw new Error(`step over bluepill: ${r.description}`);
  return { trips: c.count(), ms: ms / r.hops.length, hops: r.hops.length };
}

/** The same hop by hand: stepInstruction until the thread is on the landing PC. */
async function singleStepOnce(s: Session): Promise<{ trips: number; ms: number }> {
  const tid = await parkAtFault(s);
  const landing = s.symbols['kvm.guestExitSyscall.landing'];
  const c = counting(s.client);
  const t0 = process.hrtime.bigint();
  await c.delve.switchThread(tid);
  for (let i = 0; i < MAX_SINGLE_STEPS; i++) {
    const st = await c.delve.stepInstruction({ threadID: tid, timeoutMs: 10_000 });
    const pc = (st.Threads?.find((t) => t.id === tid) ?? st.currentThread)?.pc;
    if (pc === landing) return { trips: c.count(), ms: Number(process.hrtime.bigint() - t0) / 1e6 };
  }
  throw new Error(`no landing after ${MAX_SINGLE_STEPS} single steps`);
}

export async function run(): Promise<BenchRow[]> {
  // One vCPU, one hop per round trip, 2 ms "in the guest": the handler's spin loop is what single-stepping walks through.
  const s = await openSession({ vcpus: 1, hops: 'one', guestSpin: '2ms' });
  try {
    const ours: Array<{ trips: number; ms: number }> = [];
    for (let i = 0; i < OURS_RUNS; i++) ours.push(await oursOnce(s));
    const base: Array<{ trips: number; ms: number }> = [];
    for (let i = 0; i < BASELINE_RUNS; i++) base.push(await singleStepOnce(s));
    const oursTrips = median(ours.map((o) => o.trips));
    const baseTrips = median(base.map((b) => b.trips));
    const oursMs = median(ours.map((o) => o.ms));
    const baseMs = median(base.map((b) => b.ms));
    return [
      {
        name: `step over bluepill: Delve round trips per hop (median of ${OURS_RUNS}; ratio = × fewer, goal ≥ 20)`,
        value: oursTrips,
        unit: 'calls',
        baselineName: `stepInstruction from the fault to the landing, median of ${BASELINE_RUNS}`,
        baseline: baseTrips,
        ratio: baseTrips / oursTrips,
      },
      {
        name: `step over bluepill: wall time per hop (median of ${OURS_RUNS}; ratio = × faster)`,
        value: oursMs,
        unit: 'ms',
        baselineName: 'single-stepping the same hop',
        baseline: baseMs,
        ratio: baseMs / oursMs,
      },
    ];
  } finally {
    await s.close();
  }
}

if (require.main === module) {
  void run().then((rows) => console.log(formatTable(rows)));
}
