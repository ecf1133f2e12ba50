// Line-granularity next / step made safe (src/bluepill/lineStep.ts), on the hazard simulator with
// real Delve: the interrupted syscall after attach is finished first, a step into the vDSO is
// stepped over, a thread in the vDSO leaves it, and Delve's own next passes the hazards.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { safeLineStep, type SafeLineStepOptions, type SafeLineStepResult } from '../../../src/bluepill/lineStep';
import { inRange } from '../../../src/linux/processMaps';
import type { Toolchain } from '../../support/simulator';
import {
  assertRunsOn,
  countersOf,
  parkBeforeSyscall,
  parkBeforeVdsoCall,
  runFor,
  sessionSymbolizer,
  shareHazardSession,
  threadPc,
  type HazardSession,
} from './hazardSession';

/** The options the adapter passes: Delve's symbols and the vDSO named from /proc/PID/maps. */
const adapterLike = (s: HazardSession, more: SafeLineStepOptions = {}): SafeLineStepOptions => ({ symbolizer: sessionSymbolizer(s), ...more });

for (const toolchain of ['debian12', 'debian13'] as Toolchain[]) {
  describe(`safe line steps (${toolchain})`, () => {
    let s: HazardSession | undefined;
    let unavailable: string | undefined;
    shareHazardSession(toolchain, (session, why) => {
      s = session;
      unavailable = why;
    });

    test('next right after attach: the interrupted futex is finished first, then Delve steps to the next line', async (t) => {
      if (!s) return t.skip(unavailable);
      const tid = s.sim.hazardTids.futex;
      const syscall = s.symbols['kvm.hazardFutexWait.syscall'];
      assert.equal(await threadPc(s, tid), syscall + 2, 'inside the futex');
      const r = await safeLineStep(s.client, tid, 'next', adapterLike(s));
      t.diagnostic(r.description);
      assert.equal(r.outcome, 'done');
      assert.equal(r.description, 'finished the interrupted syscall futex (202) (ERESTARTSYS) with a breakpoint; then next');
      // The wait's breakpoint is on the RET after `MOVQ AX, ret+16(FP)` (one instruction past the
      // SYSCALL's return address, where no thread can be parked in the call); Delve's next from the
      // RET's line returns to the caller, never back onto the SYSCALL.
      const pc = await threadPc(s, tid);
      assert.ok(pc < s.symbols['kvm.hazardFutexWait'] || pc > syscall + 7, `back in the caller of hazardFutexWait (PC ${pc.toString(16)})`);
      await assertRunsOn(s, countersOf(await s.sim.status()), 'futexWaits', 800);
    });

    test("Delve's next passes the seccomp mmap and the futex wait", async (t) => {
      if (!s) return t.skip(unavailable);
      for (const hazard of ['seccomp', 'futex'] as const) {
        const { tid, syscallPc } = await parkBeforeSyscall(s, hazard);
        const r = await safeLineStep(s.client, tid, 'next', adapterLike(s));
        assert.equal(r.outcome, 'done');
        assert.equal(r.description, 'next');
        assert.equal(await threadPc(s, tid), syscallPc + 2);
        await assertRunsOn(s, countersOf(await s.sim.status()), hazard === 'seccomp' ? 'seccompCalls' : 'futexWaits', 800);
      }
    });

    test('step on the call into the vDSO steps over it (Delve alone would stop inside the vDSO)', async (t) => {
      if (!s) return t.skip(unavailable);
      const { tid, next } = await parkBeforeVdsoCall(s);
      const r = await safeLineStep(s.client, tid, 'step', adapterLike(s));
      t.diagnostic(r.description);
      assert.equal(r.outcome, 'done');
      assert.match(r.description, /^stepped over the call into the vDSO \(\[vdso\]\+0x[0-9a-f]+\) with a breakpoint$/);
      assert.equal(await threadPc(s, tid), next);
      await assertRunsOn(s, countersOf(await s.sim.status()), 'vdsoReads', 800);
    });

    test('next from inside the vDSO (where Delve has no source) leaves it by its return address', async (t) => {
      if (!s) return t.skip(unavailable);
      const { tid, next } = await parkBeforeVdsoCall(s);
      await s.client.switchThread(tid);
      const st = await s.client.command('step', { timeoutMs: 10_000 }); // Delve's own step lands in the vDSO
      const maps = await s.maps.read(s.sim.pid);
      assert.ok(inRange(maps.vdso, st.currentThread!.pc), 'Delve stopped inside the vDSO');
      const r = await safeLineStep(s.client, tid, 'next', adapterLike(s));
      assert.match(r.description, /^left the vDSO \(\[vdso\]\+0x[0-9a-f]+\) by its return address 0x[0-9a-f]+ with a breakpoint$/);
      assert.equal(await threadPc(s, tid), next);
      await assertRunsOn(s, countersOf(await s.sim.status()), 'vdsoReads', 800);
    });

    test('Pause while the main thread finishes its futex before a next: paused, usable', async (t) => {
      if (!s) return t.skip(unavailable);
      const session = s;
      // The main thread is woken only now and then; a wait that ends before the Pause is tried again.
      let r: SafeLineStepResult | undefined;
      const progress: string[] = [];
      for (let attempt = 0; attempt < 3 && r?.outcome !== 'cancelled'; attempt++) {
        if (r) {
          t.diagnostic(`the wait ended before the Pause (${r.outcome}: ${r.description}); again`);
          if (r.outcome === 'exited') t.diagnostic(`simulator stderr: ${session.sim.stderr().slice(0, 2000)}`);
          assert.notEqual(r.outcome, 'exited');
          await runFor(session, 300); // and halted: the main thread is back inside its futex
        }
        const pause = new AbortController();
        r = await safeLineStep(
          session.client,
          session.sim.pid,
          'next',
          adapterLike(session, {
            signal: pause.signal,
            progressIntervalMs: 1, // the Pause comes a millisecond into the wait
            onProgress: (m) => {
              progress.push(m);
              pause.abort();
            },
          }),
        );
      }
      assert.equal(r?.outcome, 'cancelled');
      t.diagnostic(r.description);
      // Paused during the wait, or the futex returned just as the Pause came: then Delve's next is not run.
      const pid = session.sim.pid;
      assert.match(
        r.description,
        new RegExp(
          `^(?:cancelled after [0-9.]+ s waiting for thread ${pid} to return from syscall futex \\(202\\); thread ${pid} is left stopped at 0x[0-9a-f]+, the breakpoint is removed` +
            `|finished the interrupted syscall futex \\(202\\) \\(ERESTART\\w+\\) with a breakpoint; then paused before next)$`,
        ),
      );
      assert.match(progress[0], new RegExp(`^waiting for thread ${pid} to return from syscall futex \\(202\\): \\d+ s$`));
      assert.deepEqual(
        (await session.client.listBreakpoints()).filter((b) => b.id > 0),
        [],
        'no breakpoint left',
      );
      assert.equal((await session.client.state(false)).Running, false);
      await assertRunsOn(session, countersOf(await session.sim.status()), 'futexWaits', 800);
    });
  });
}
