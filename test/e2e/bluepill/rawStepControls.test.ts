// Controls that keep the simulator's hazards honest: Delve's raw single step (no guard) through
// each hazard breaks the simulator or does not come back. Each control gets its own simulator and
// Delve and kills both afterwards, so nothing it breaks leaks into another test.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DelveError } from '../../../src/delve/delveErrors';
import { inRange } from '../../../src/linux/processMaps';
import type { Toolchain } from '../../support/simulator';
import { assertStepNeverReturns } from '../../support/rawDelve';
import { openHazardSession, parkBeforeSyscall, parkBeforeVdsoCall, threadPc, toolchainUnavailable, type HazardSession } from './hazardSession';

/** The word the futex hazard thread waits on. */
const FUTEX_WORD = '"bluepill.sim/pkg/sentry/platform/kvm".futexWord';

async function withSession(toolchain: Toolchain, t: { skip(msg: string): void }, fn: (s: HazardSession) => Promise<void>): Promise<void> {
  const why = await toolchainUnavailable(toolchain);
  if (why) return t.skip(why);
  const s = await openHazardSession(toolchain);
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

for (const toolchain of ['debian12', 'debian13'] as Toolchain[]) {
  describe(`raw single steps through the hazards break the sandbox (${toolchain})`, () => {
    test('seccomp: the single-stepped mmap is skipped and the simulator dies', async (t) => {
      await withSession(toolchain, t, async (s) => {
        const { tid, syscallPc } = await parkBeforeSyscall(s, 'seccomp');
        await s.client.switchThread(tid);
        await s.client.stepInstruction({ threadID: tid, timeoutMs: 5_000 });
        assert.equal(await threadPc(s, tid), syscallPc + 2, 'the step "completed" past the SYSCALL');
        // Delve delayed the SIGSYS: the mmap was skipped. Depending on when the delayed signal
        // arrives, the simulator's check aborts (status 3) or the runtime dies of a SIGSYS whose
        // siginfo no longer says seccomp (status 2). Either way the sandbox is gone.
        let ended = false;
        for (let i = 0; i < 5 && !ended; i++) {
          ended = await s.client.continue({ timeoutMs: 30_000 }).then(
            (st) => st.exited,
            (e: unknown) => e instanceof DelveError && /exited/.test(e.delveMessage),
          );
        }
        assert.ok(ended, 'the target exits');
        await assert.rejects(s.sim.waitForProgress(Number.MAX_SAFE_INTEGER, 10_000), /simulator exited \(code [23]/);
        assert.match(s.sim.stderr(), /the trapped mmap was skipped|SIGSYS: bad system call/);
        t.diagnostic(
          s.sim
            .stderr()
            .split('\n')
            .find((l) => /FATAL|SIGSYS/.test(l)) ?? '',
        );
      });
    });

    test('futex: the single step into the blocking wait never returns, and a halt does not free it', async (t) => {
      await withSession(toolchain, t, async (s) => {
        const { tid } = await parkBeforeSyscall(s, 'futex');
        // Every thread is stopped: with the word at the value the waiter expects, FUTEX_WAIT blocks
        // (had the waker just changed it, the wait would return EAGAIN at once).
        await s.client.set(FUTEX_WORD, '0');
        await assertStepNeverReturns(s.client, tid, { stepMs: 3_000, graceMs: 1_000 });
      });
    });

    test('hazard 4: right after attach, a single step of the thread inside futex never returns', async (t) => {
      await withSession(toolchain, t, async (s) => {
        const tid = s.sim.hazardTids.futex;
        assert.equal(await threadPc(s, tid), s.symbols['kvm.hazardFutexWait.syscall'] + 2, 'the thread sits inside its futex');
        await s.client.set(FUTEX_WORD, '0');
        await assertStepNeverReturns(s.client, tid, { stepMs: 3_000, graceMs: 1_000 });
      });
    });

    test('vDSO: single-stepping the clock read does not get out of the vDSO', async (t) => {
      await withSession(toolchain, t, async (s) => {
        const { tid, next } = await parkBeforeVdsoCall(s);
        const maps = await s.maps.read(s.sim.pid);
        await s.client.switchThread(tid);
        const steps = 400;
        const t0 = Date.now();
        let leftAt: number | undefined;
        for (let i = 0; i < steps && leftAt === undefined; i++) {
          const st = await s.client.stepInstruction({ threadID: tid, timeoutMs: 5_000 });
          const pc = st.currentThread?.id === tid ? st.currentThread.pc : await threadPc(s, tid);
          if (i > 0 && !inRange(maps.vdso, pc)) leftAt = i;
        }
        const pc = await threadPc(s, tid);
        t.diagnostic(`${steps} single steps in ${Date.now() - t0} ms; still at [vdso]+0x${(pc - maps.vdso!.start).toString(16)}`);
        assert.equal(leftAt, undefined, `the clock read never returned to 0x${next.toString(16)} in ${steps} steps`);
        assert.ok(inRange(maps.vdso, pc));
      });
    });
  });
}
