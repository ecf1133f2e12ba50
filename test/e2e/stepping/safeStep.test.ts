// Safe instruction steps through each hazard of issue 8 on the simulator with real Delve: the
// simulator survives, its checks pass and its hazard counters move on, and the result names what
// was done. Runs with Debian 12's Go 1.19 + Delve 1.20 and, when available, Debian 13's Go 1.24 +
// Delve 1.24. The raw single-step controls are in rawStepControls.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { interruptedSyscall, safeStepInstruction, singleStepWithTimeout, type SafeStepResult } from '../../../src/stepping/safeStep';
import { ThreadStuckError } from '../../../src/stepping/steppingErrors';
import { InstructionCache } from '../../../src/stepping/instructionAt';
import { registerAddress, registerSigned } from '../../../src/stepping/stepArch';
import type { StepProgress } from '../../../src/stepping/runThreadTo';
import type { Toolchain } from '../../support/simulator';
import {
  assertRunsOn, countersOf, openHazardSession, parkBeforeSyscall, parkBeforeVdsoCall, runFor, runToAddress, shareHazardSession, threadPc,
  toolchainUnavailable, userBreakpointAddrs, type HazardSession,
} from './hazardSession';

const hex = (n: number): string => `0x${n.toString(16)}`;

function note(t: { diagnostic(msg: string): void }, r: SafeStepResult, ms: number): void {
  t.diagnostic(`${r.description} — ${ms} ms in all, ${r.waitedMs} ms waiting, ${r.foreignHits} foreign hits`);
}

for (const toolchain of ['debian12', 'debian13'] as Toolchain[]) {
  describe(`safe instruction steps through the hazards (${toolchain})`, () => {
    let s: HazardSession | undefined;
    let unavailable: string | undefined;

    shareHazardSession(toolchain, (session, why) => {
      s = session;
      unavailable = why;
    });

    test('right after attach, the futex thread first finishes its interrupted futex with a breakpoint (rule 5)', async (t) => {
      if (!s) return t.skip(unavailable);
      const tid = s.sim.hazardTids.futex;
      const regs = await s.client.listRegisters(tid);
      const pc = registerAddress(regs, 'Rip');
      assert.equal(pc, s.symbols['kvm.hazardFutexWait.syscall'] + 2, 'the futex thread is inside its SYSCALL');
      const inside = await interruptedSyscall(s.client, tid, regs);
      assert.deepEqual(inside, { number: 202, name: 'futex', restartCode: 'ERESTARTSYS' });
      const beforeStep = countersOf(await s.sim.status());
      const t0 = Date.now();
      const r = await safeStepInstruction(s.client, tid, { maps: s.maps });
      note(t, r, Date.now() - t0);
      assert.equal(r.outcome, 'done');
      assert.equal(r.how, 'breakpoint');
      assert.match(r.description, /^finished the interrupted syscall futex \(202\) \(ERESTARTSYS\) with a breakpoint; then single-stepped MOVQ AX, 0x18\(SP\)$/);
      assert.equal(r.pc, pc + 5, 'one instruction after the syscall');
      assert.equal(await threadPc(s, tid), r.pc);
      await assertRunsOn(s, beforeStep, 'futexWaits');
    });

    test('seccomp: the trapped mmap is stepped over with a breakpoint and really performed', async (t) => {
      if (!s) return t.skip(unavailable);
      const beforeStep = countersOf(await s.sim.status());
      const { tid, syscallPc } = await parkBeforeSyscall(s, 'seccomp');
      const t0 = Date.now();
      const r = await safeStepInstruction(s.client, tid, { maps: s.maps });
      note(t, r, Date.now() - t0);
      assert.equal(r.outcome, 'done');
      assert.equal(r.how, 'breakpoint');
      assert.equal(r.description, 'stepped over syscall mmap (9) with a breakpoint');
      assert.equal(r.pc, syscallPc + 2);
      const rax = registerSigned(await s.client.listRegisters(tid), 'Rax');
      assert.ok(rax > 0n && rax < 1n << 47n, `mmap returned an address (${rax}), not -errno`);
      await assertRunsOn(s, beforeStep, 'seccompCalls');
    });

    test('futex: the blocking wait is stepped over with a breakpoint; the waker wakes it', async (t) => {
      if (!s) return t.skip(unavailable);
      const beforeStep = countersOf(await s.sim.status());
      const { tid, syscallPc } = await parkBeforeSyscall(s, 'futex');
      const t0 = Date.now();
      const r = await safeStepInstruction(s.client, tid, { maps: s.maps });
      note(t, r, Date.now() - t0);
      assert.equal(r.outcome, 'done');
      assert.equal(r.description, 'stepped over syscall futex (202) with a breakpoint');
      assert.equal(r.pc, syscallPc + 2);
      const rax = registerSigned(await s.client.listRegisters(tid), 'Rax');
      assert.ok(rax === 0n || rax === -11n, `futex returned 0 or -EAGAIN (${rax})`);
      await assertRunsOn(s, beforeStep, 'futexWaits');
    });

    test("vDSO: time.now's CALL AX into the vDSO is stepped over with a breakpoint at its return address", async (t) => {
      if (!s) return t.skip(unavailable);
      const beforeStep = countersOf(await s.sim.status());
      const { tid, next } = await parkBeforeVdsoCall(s);
      const t0 = Date.now();
      const r = await safeStepInstruction(s.client, tid, { maps: s.maps });
      note(t, r, Date.now() - t0);
      assert.equal(r.outcome, 'done');
      assert.match(r.description, /^stepped over the call into the vDSO \(\[vdso\]\+0x[0-9a-f]+\) with a breakpoint$/);
      assert.equal(r.pc, next);
      assert.equal(await threadPc(s, tid), next);
      await assertRunsOn(s, beforeStep, 'vdsoReads');
    });

    test('a thread stopped inside the vDSO, mid-function, leaves it by its return address', async (t) => {
      if (!s) return t.skip(unavailable);
      const beforeStep = countersOf(await s.sim.status());
      const { tid, next } = await parkBeforeVdsoCall(s);
      const target = registerAddress(await s.client.listRegisters(tid), 'Rax');
      await runToAddress(s, tid, target); // a breakpoint in the vDSO (host code): the thread enters it
      await s.client.switchThread(tid);
      for (let i = 0; i < 3; i++) await s.client.stepInstruction({ threadID: tid, timeoutMs: 5_000 }); // a few plain steps inside
      const inside = await threadPc(s, tid);
      assert.ok(inside > target && inside < target + 0x1000, `inside the clock function (${hex(inside)})`);
      const t0 = Date.now();
      const r = await safeStepInstruction(s.client, tid, { maps: s.maps });
      note(t, r, Date.now() - t0);
      assert.equal(r.outcome, 'done');
      assert.match(r.description, new RegExp(`^left the vDSO \\(\\[vdso\\]\\+0x[0-9a-f]+\\) by its return address ${hex(next)} with a breakpoint$`));
      assert.equal(r.pc, next);
      await assertRunsOn(s, beforeStep, 'vdsoReads');
    });

    test('Pause during a syscall wait (the main thread parked in futex, hazard 4): paused, usable, running afterwards', async (t) => {
      if (!s) return t.skip(unavailable);
      const session = s;
      const beforeStep = countersOf(await session.sim.status());
      const main = session.sim.pid;
      const progress: StepProgress[] = [];
      // The main thread is woken only now and then; a wait that ends before the Pause is tried again.
      let r: SafeStepResult | undefined;
      for (let attempt = 0; attempt < 3 && r?.outcome !== 'paused'; attempt++) {
        if (r) {
          t.diagnostic(`the wait ended before the Pause (${r.outcome}: ${r.description}); again`);
          assert.notEqual(r.outcome, 'exited', `simulator stderr: ${session.sim.stderr().slice(0, 2000)}`);
          await runFor(session, 300); // and halted: the main thread is back inside its futex
        }
        const pause = new AbortController();
        r = await safeStepInstruction(session.client, main, {
          maps: session.maps,
          signal: pause.signal,
          progressAfterMs: 200,
          onProgress: (p) => {
            progress.push(p);
            pause.abort(); // the user sees the progress and presses Pause
          },
        });
      }
      assert.ok(r);
      t.diagnostic(`${r.description}; progress: ${progress.map((p) => p.message).join(' | ')}`);
      assert.equal(r.outcome, 'paused');
      assert.equal(r.how, 'breakpoint');
      assert.match(r.description, /^paused while waiting for syscall futex \(202\)$/);
      assert.match(progress[0].message, new RegExp(`^waiting for syscall futex \\(202\\) on thread ${main}: \\d+ s`));
      assert.equal(r.state.Running, false);
      assert.ok((await session.client.listThreads()).some((x) => x.id === main), 'Delve answers');
      await assertRunsOn(session, beforeStep, 'futexWaits');
    });

    test('Pause before a syscall step-over and a vDSO step-over: nothing runs, no breakpoint stays, the session goes on', async (t) => {
      if (!s) return t.skip(unavailable);
      const beforeStep = countersOf(await s.sim.status());
      const paused = AbortSignal.abort();
      const sc = await parkBeforeSyscall(s, 'seccomp');
      const r1 = await safeStepInstruction(s.client, sc.tid, { maps: s.maps, signal: paused });
      assert.equal(r1.outcome, 'paused');
      assert.equal(r1.pc, sc.syscallPc, 'still before the mmap');
      assert.equal(r1.description, 'paused while waiting for syscall mmap (9)');
      const v = await parkBeforeVdsoCall(s);
      const r2 = await safeStepInstruction(s.client, v.tid, { maps: s.maps, signal: paused });
      assert.equal(r2.outcome, 'paused');
      assert.equal(r2.pc, v.call);
      assert.deepEqual(await userBreakpointAddrs(s), []);
      const r3 = await safeStepInstruction(s.client, v.tid, { maps: s.maps });
      assert.equal(r3.outcome, 'done', 'the same step afterwards works');
      await assertRunsOn(s, beforeStep, 'seccompCalls');
    });

    test('Pause as the step over the vDSO call continues (halt racing the return breakpoint), five times: stopped either way, no breakpoint left, the next continue runs', async (t) => {
      if (!s) return t.skip(unavailable);
      const outcomes: string[] = [];
      for (let i = 0; i < 5; i++) {
        const beforeStep = countersOf(await s.sim.status());
        const v = await parkBeforeVdsoCall(s);
        const pause = new AbortController();
        // Progress at 0 ms fires right after the continue is sent: the Pause lands while Delve runs the target.
        const r = await safeStepInstruction(s.client, v.tid, { maps: s.maps, signal: pause.signal, progressAfterMs: 0, onProgress: () => pause.abort() });
        outcomes.push(`${r.outcome} at ${r.pc === v.next ? 'the return address' : hex(r.pc)}`);
        assert.ok(r.outcome === 'paused' || r.outcome === 'done', `${r.outcome}: ${r.description}`);
        if (r.outcome === 'done') assert.equal(r.pc, v.next);
        else assert.match(r.description, /^paused while waiting for/);
        assert.equal(r.state.Running, false);
        assert.deepEqual(await userBreakpointAddrs(s), [], 'the return-address breakpoint is removed');
        // A halt that arrived after the breakpoint stopped the target must not stop the next continue at once.
        await assertRunsOn(s, beforeStep, 'vdsoReads');
      }
      t.diagnostic(outcomes.join('; '));
    });

    test('decoded instructions are cached per PC', async (t) => {
      if (!s) return t.skip(unavailable);
      const cache = new InstructionCache();
      for (let i = 0; i < 2; i++) {
        const { tid } = await parkBeforeSyscall(s, 'futex');
        await safeStepInstruction(s.client, tid, { maps: s.maps, cache });
      }
      assert.equal(cache.misses, 1, 'the SYSCALL was disassembled once');
      assert.equal(cache.hits, 1);
    });
  });
}

for (const toolchain of ['debian12', 'debian13'] as Toolchain[]) {
  describe(`Pause while a slow seccomp trap runs (${toolchain}, SIGSYS handler taking 1.5 s)`, () => {
    test('Pause mid-wait on the trapped mmap: paused inside the trap, no breakpoint left; continued, the mmap completes and is checked', async (t) => {
      const why = await toolchainUnavailable(toolchain);
      if (why) return t.skip(why);
      const s = await openHazardSession(toolchain, ['--sim-trap-delay=1500ms']);
      try {
        const { tid, syscallPc } = await parkBeforeSyscall(s, 'seccomp');
        const beforeStep = countersOf(await s.sim.status());
        const pause = new AbortController();
        const progress: StepProgress[] = [];
        const t0 = Date.now();
        const r = await safeStepInstruction(s.client, tid, {
          maps: s.maps, signal: pause.signal, progressAfterMs: 300,
          onProgress: (p) => {
            progress.push(p);
            pause.abort();
          },
        });
        t.diagnostic(`${r.description} after ${Date.now() - t0} ms; progress: ${progress.map((p) => p.message).join(' | ')}`);
        assert.equal(r.outcome, 'paused', r.description);
        assert.equal(r.description, 'paused while waiting for syscall mmap (9)');
        assert.match(progress[0].message, new RegExp(`^waiting for syscall mmap \\(9\\) on thread ${tid}: \\d+ s`));
        assert.notEqual(r.pc, syscallPc + 2, 'not past the SYSCALL yet: the trap handler was still running');
        assert.deepEqual(await userBreakpointAddrs(s), []);
        const after = await assertRunsOn(s, beforeStep, 'seccompCalls', 3_500);
        assert.equal(after.checksOK, true, 'the paused mmap was performed and checked');
      } finally {
        await s.close();
      }
    });
  });
}

describe('a single step that does not finish in time', () => {
  test('is reported as stuck with thread, PC and function; a step blocked in the kernel leaves Delve unusable, and says so', async (t) => {
    const s = await openHazardSession('debian12');
    try {
      const { tid, syscallPc } = await parkBeforeSyscall(s, 'futex');
      const err = await singleStepWithTimeout(s.client, tid, { pc: syscallPc, where: 'kvm.hazardFutexWait' }, { stepTimeoutMs: 1_500, haltGraceMs: 1_500 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof ThreadStuckError, `ThreadStuckError, got ${String(err)}`);
      t.diagnostic(err.message);
      assert.equal(err.threadId, tid);
      assert.equal(err.pc, syscallPc);
      assert.match(err.message, new RegExp(`^thread ${tid} stuck in the instruction at PC ${hex(syscallPc)} \\(kvm\\.hazardFutexWait\\)`));
      assert.equal(err.delveResponsive, false, 'Delve 1.20 cannot interrupt a single step blocked in futex: halt does not help');
      await assert.rejects(s.client.state(true, { timeoutMs: 1_000 }), 'a following call gets no answer');
    } finally {
      await s.close();
    }
  });
});
