// Raw Delve moves the tests make on a simulator, locally or over SSH on the emulated Pi: park a
// thread with a breakpoint of its own, and the control that a raw single step never comes back.
import assert from 'node:assert/strict';
import type { DelveClient } from '../../src/delve/delveClient';
import { DelveTimeoutError } from '../../src/delve/delveErrors';

/**
 * Continues until thread `tid` stops on a breakpoint at `addr` (created here, removed afterwards);
 * other threads stopping there go on. `stderr` explains an exit of the simulator.
 */
export async function runToAddress(
  client: Pick<DelveClient, 'createBreakpoint' | 'clearBreakpoint' | 'continue'>,
  tid: number,
  addr: number,
  options: { stderr: () => string | Promise<string>; timeoutMs?: number },
): Promise<void> {
  const bp = await client.createBreakpoint({ addrs: [addr] });
  try {
    for (let i = 0; i < 2000; i++) {
      const st = await client.continue({ timeoutMs: options.timeoutMs ?? 60_000 });
      if (st.exited) throw new Error(`the simulator exited: ${(await options.stderr()).slice(0, 400)}`);
      const me = st.Threads?.find((t) => t.id === tid);
      if (me && me.pc === addr && me.breakPoint?.id === bp.id) return;
    }
    throw new Error(`thread ${tid} never reached 0x${addr.toString(16)}`);
  } finally {
    await client.clearBreakpoint(bp.id);
  }
}

/** A raw single step that does not return within `stepMs`, after which Delve answers nothing, not even after a halt. Returns how long it waited. */
export async function assertStepNeverReturns(
  client: Pick<DelveClient, 'switchThread' | 'stepInstruction' | 'halt' | 'state'>,
  tid: number,
  { stepMs, graceMs }: { stepMs: number; graceMs: number },
): Promise<number> {
  await client.switchThread(tid);
  const t0 = Date.now();
  await assert.rejects(client.stepInstruction({ threadID: tid, timeoutMs: stepMs }), DelveTimeoutError, 'the single step does not return');
  await client.halt({ timeoutMs: graceMs }).catch(() => undefined);
  await assert.rejects(client.state(true, { timeoutMs: graceMs }), DelveTimeoutError, 'and even after a halt Delve is stuck in it');
  return Date.now() - t0;
}
