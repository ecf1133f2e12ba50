// The safe instruction step against the simulator's hazard threads (docs/architecture.md §3.2), with real Delve on
// both toolchains: a seccomp-trapped mmap, a futex wait, a vDSO clock call. Control tests show the
// hazards are real: raw single-steps break the simulator or never return.
import { describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { amd64Profile } from '../../../src/bluepill/archAmd64';
import { safeStepInstruction, stepWithTimeout } from '../../../src/bluepill/safeStep';
import { ThreadRegisters } from '../../../src/bluepill/threadRegisters';
import { DelveTimeoutError } from '../../../src/delve/delveErrors';
import { AsmFlavour } from '../../../src/delve/delveTypes';
import { hazardCounter, type Toolchain } from '../../support/simulator';
import { recordingDelve, type RecordedCall, type Transcript } from '../../support/transcript';
import { runToAddress, testWithSession, toolchainUnavailable, type Session, type SessionOptions } from '../../support/delveSession';
import { StopWaiting, waitFor } from '../../support/waitFor';

const RECORD = process.env.BLUEPILL_RECORD_TRANSCRIPTS === '1';
const TOOLCHAINS = (process.env.BLUEPILL_TOOLCHAINS ?? 'debian12,debian13').split(',') as Toolchain[];
const HAZARDS: SessionOptions = { vcpus: 1, hazards: ['seccomp', 'futex', 'vdso'] };

/**
 * Thread `tid` standing on the syscall at `sc` with no breakpoint there: a breakpoint on the
 * instruction before it, then one (harmless) single step. A breakpoint on the syscall itself would
 * make Delve's next continue single-step the syscall to get past it — the very hazard.
 */
async function parkOnSyscall(s: Session, tid: number, fnName: string, sc: number): Promise<void> {
  const code = await s.client.disassemble(s.symbols[fnName], 0, AsmFlavour.Go);
  const i = code.findIndex((x) => x.Loc.pc === sc);
  if (i < 1) throw new Error(`no instruction before 0x${sc.toString(16)} in ${fnName}`);
  await runToAddress(s, tid, code[i - 1].Loc.pc);
  await s.client.switchThread(tid);
  const st = await s.client.stepInstruction({ threadID: tid, timeoutMs: 10_000 });
  const pc = (st.Threads?.find((t) => t.id === tid) ?? st.currentThread)?.pc;
  if (pc !== sc) throw new Error(`stepping to the syscall went to 0x${pc?.toString(16)}`);
}

/** The indirect `CALL reg` into the vDSO inside runtime.nanotime1. */
async function vdsoCallSite(s: Session): Promise<number> {
  const fn = (await s.client.findLocation('runtime.nanotime1'))[0].function!;
  const code = await s.client.disassemble(fn.value, 0, AsmFlavour.Go);
  const call = code.find((i) => /^CALL (AX|R\d+|[A-Z]X)$/.test(i.Text.trim()));
  if (!call) throw new Error(`no indirect CALL in runtime.nanotime1:\n${code.map((i) => i.Text).join('\n')}`);
  return call.Loc.pc;
}

async function runsOn(s: Session, check: (st: Record<string, unknown>) => boolean, what: string): Promise<void> {
  const running = s.client.continue();
  try {
    let last: Record<string, unknown> | undefined;
    await waitFor(
      () => `progress: ${what}: ${JSON.stringify(last?.hazards)}`,
      async () => {
        last = await s.sim.status();
        if (check(last)) return true;
        if (!s.sim.alive()) throw new StopWaiting(`the simulator died: ${s.sim.stderr()}`);
        return false;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  } finally {
    await s.client.halt({ timeoutMs: 10_000 });
    await running;
  }
  assert.equal((await s.sim.status()).checksOK, true);
}

function save(s: Session, name: string, tid: number, calls: RecordedCall[], expected: Record<string, unknown>): void {
  if (!RECORD || s.toolchain !== 'debian12') return;
  const t: Transcript = { name, note: '', toolchain: s.toolchain, arch: 'amd64', threadId: tid, expected: { ...expected, symbols: s.symbols }, calls };
  writeFileSync(join(__dirname, '../../fixtures/transcripts', `${name}.json`), JSON.stringify(t, null, 1) + '\n');
}

for (const toolchain of TOOLCHAINS) {
  describe(`safe instruction step on hazard threads (${toolchain})`, async () => {
    const unavailable = await toolchainUnavailable(toolchain);
    const withSession = (name: string, body: (s: Session, t: TestContext) => Promise<void>, extraArgs: string[] = []): void =>
      testWithSession(toolchain, unavailable, name, { ...HAZARDS, extraArgs }, body);

    withSession('a seccomp-trapped mmap is stepped over with a breakpoint; the SIGSYS handler performs it and the simulator runs on', async (s) => {
      const tid = s.sim.hazardTids.seccomp;
      const sc = s.symbols['kvm.hazardSeccompMmap.syscall'];
      await parkOnSyscall(s, tid, 'kvm.hazardSeccompMmap', sc);
      const trapped = hazardCounter(await s.sim.status(), 'seccomp', 'trapped');
      const calls: RecordedCall[] = [];
      const r = await safeStepInstruction(recordingDelve(s.client, calls), tid);
      assert.equal(r.kind, 'stepped-over-syscall', r.description);
      assert.deepEqual(r.syscall, { number: 9, name: 'mmap' });
      // One instruction past the SYSCALL's return address (MOVQ AX, ret(FP): 5 bytes), where no thread can be parked inside the call.
      assert.equal(r.pc, sc + 2 + 5);
      assert.match(
        r.description,
        /^stepped over syscall mmap \(9\) with a breakpoint after the next instruction \(MOVQ AX, 0x[0-9a-f]+\(SP\)\); now at 0x[0-9a-f]+ kvm\.hazardSeccompMmap\+0x[0-9a-f]+$/,
      );
      save(s, 'safe-step-seccomp', tid, calls, { kind: r.kind, pc: r.pc, description: r.description });
      await runsOn(s, (st) => hazardCounter(st, 'seccomp', 'trapped') > trapped + 2, 'trapped mmaps go on');
    });

    withSession('a futex wait is stepped over with a breakpoint (the waker runs meanwhile)', async (s) => {
      const tid = s.sim.hazardTids.futex;
      const sc = s.symbols['kvm.hazardFutexWait.syscall'];
      await parkOnSyscall(s, tid, 'kvm.hazardFutexWait', sc);
      const waits = hazardCounter(await s.sim.status(), 'futex', 'waits');
      const calls: RecordedCall[] = [];
      const r = await safeStepInstruction(recordingDelve(s.client, calls), tid);
      assert.equal(r.kind, 'stepped-over-syscall', r.description);
      assert.match(r.description, /^stepped over syscall futex \(202\) with a breakpoint after the next instruction \(MOVQ AX, 0x[0-9a-f]+\(SP\)\); now at /);
      assert.equal(r.pc, sc + 2 + 5);
      save(s, 'safe-step-futex', tid, calls, { kind: r.kind, pc: r.pc, description: r.description });
      await runsOn(s, (st) => hazardCounter(st, 'futex', 'waits') > waits + 2, 'futex waits go on');
    });

    withSession('a call into the vDSO clock is stepped over with a breakpoint after the call', async (s) => {
      const tid = s.sim.hazardTids.vdso;
      const call = await vdsoCallSite(s);
      await runToAddress(s, tid, call);
      const reads = hazardCounter(await s.sim.status(), 'vdso', 'reads');
      const calls: RecordedCall[] = [];
      const r = await safeStepInstruction(recordingDelve(s.client, calls), tid);
      assert.equal(r.kind, 'stepped-over-call', r.description);
      assert.match(
        r.description,
        /^stepped over a call into code without symbols \(0x[0-9a-f]+, e\.g\. the vDSO\) with a breakpoint; now at 0x[0-9a-f]+ runtime\.nanotime1\+0x[0-9a-f]+$/,
      );
      assert.equal(r.pc, call + 2);
      save(s, 'safe-step-vdso', tid, calls, { kind: r.kind, pc: r.pc, description: r.description });
      await runsOn(s, (st) => hazardCounter(st, 'vdso', 'reads') > reads + 200, 'vDSO reads go on');
    });

    withSession('Pause during the wait for a futex: halted, breakpoint removed, session usable, simulator runs on', async (s) => {
      const tid = s.sim.hazardTids.futex;
      const sc = s.symbols['kvm.hazardFutexWait.syscall'];
      await parkOnSyscall(s, tid, 'kvm.hazardFutexWait', sc);
      const ac = new AbortController();
      const r = await safeStepInstruction(s.client, tid, { signal: ac.signal, progressIntervalMs: 1, onProgress: () => ac.abort() });
      // The waker wakes every 20 ms: the halt usually wins, the wake sometimes does; both must leave a clean session.
      assert.ok(r.kind === 'cancelled' || r.kind === 'stepped-over-syscall', r.description);
      if (r.kind === 'cancelled')
        assert.match(
          r.description,
          /^cancelled after [0-9.]+ s waiting for thread \d+ to return from syscall futex \(202\); thread \d+ is left stopped at 0x[0-9a-f]+, the breakpoint is removed$/,
        );
      assert.deepEqual(
        (await s.client.listBreakpoints()).filter((b) => b.id > 0),
        [],
      );
      assert.equal((await s.client.state()).Running, false);
      const waits = hazardCounter(await s.sim.status(), 'futex', 'waits');
      await runsOn(s, (st) => hazardCounter(st, 'futex', 'waits') > waits + 2, 'futex waits go on');
    });

    withSession(
      'Pause mid-wait on a slow seccomp trap (SIGSYS handler taking 1.5 s): cancelled inside the trap, breakpoint removed; continued, the mmap completes and is checked',
      async (s, t) => {
        const tid = s.sim.hazardTids.seccomp;
        const sc = s.symbols['kvm.hazardSeccompMmap.syscall'];
        await parkOnSyscall(s, tid, 'kvm.hazardSeccompMmap', sc);
        const trapped = hazardCounter(await s.sim.status(), 'seccomp', 'trapped');
        const ac = new AbortController();
        const progress: string[] = [];
        const r = await safeStepInstruction(s.client, tid, {
          signal: ac.signal,
          progressIntervalMs: 300,
          onProgress: (m) => {
            progress.push(m);
            ac.abort();
          },
        });
        t.diagnostic(`${r.description}; progress: ${progress.join(' | ')}`);
        assert.equal(r.kind, 'cancelled', r.description);
        assert.match(
          r.description,
          /^cancelled after [0-9.]+ s waiting for thread \d+ to return from syscall mmap \(9\); thread \d+ is left stopped at 0x[0-9a-f]+, the breakpoint is removed$/,
        );
        assert.notEqual(r.pc, sc + 2, 'not past the SYSCALL: the trap handler was still running');
        assert.deepEqual(
          (await s.client.listBreakpoints()).filter((b) => b.id > 0),
          [],
        );
        await runsOn(s, (st) => hazardCounter(st, 'seccomp', 'trapped') > trapped + 1, 'the paused trap and the next one complete');
      },
      ['--sim-trap-delay=1500ms'],
    );

    withSession(
      'Pause racing the return breakpoint of a vDSO call, five times: stepped or cancelled, never a breakpoint left, the next continue runs',
      async (s, t) => {
        const tid = s.sim.hazardTids.vdso;
        const call = await vdsoCallSite(s);
        const outcomes: string[] = [];
        for (let i = 0; i < 5; i++) {
          await runToAddress(s, tid, call);
          const ac = new AbortController();
          // Aborted as soon as the first progress timer fires (1 ms): the halt goes out while the target runs.
          const r = await safeStepInstruction(s.client, tid, { signal: ac.signal, progressIntervalMs: 1, onProgress: () => ac.abort() });
          outcomes.push(r.kind);
          assert.ok(r.kind === 'stepped-over-call' || r.kind === 'cancelled', r.description);
          if (r.kind === 'stepped-over-call') assert.equal(r.pc, call + 2, 'arrived: the step is done, not reported as cancelled');
          assert.deepEqual(
            (await s.client.listBreakpoints()).filter((b) => b.id > 0),
            [],
          );
          const reads = hazardCounter(await s.sim.status(), 'vdso', 'reads');
          await runsOn(s, (st) => hazardCounter(st, 'vdso', 'reads') > reads + 200, 'vDSO reads go on after the raced Pause');
        }
        t.diagnostic(outcomes.join(', '));
      },
    );

    withSession(
      'a single step that does not return in time (forced onto a blocking futex SVC): stuck, with thread and PC, and the advice to restart',
      async (s, t) => {
        const tid = s.sim.hazardTids.futex;
        const sc = s.symbols['kvm.hazardFutexWait.syscall'];
        await parkOnSyscall(s, tid, 'kvm.hazardFutexWait', sc);
        await s.client.set('"bluepill.sim/pkg/sentry/platform/kvm".futexWord', '0');
        const r = await stepWithTimeout(s.client, tid, sc, 2_000);
        t.diagnostic(r.description);
        assert.equal(r.kind, 'stuck');
        assert.equal(r.pc, sc);
        assert.match(
          r.description,
          new RegExp(
            `^thread ${tid} stuck in the instruction at PC 0x${sc.toString(16)} \\(no answer in 2000 ms\\); Delve does not answer a halt either: restart the debug session`,
          ),
        );
        // Delve is wedged in the step and answers nothing until its target is gone: kill the
        // simulator first, then the session closes as usual.
        void s.sim.stop();
      },
    );

    withSession('a thread stopped inside the vDSO, mid-function, leaves it by the return address found up the stack', async (s, t) => {
      const tid = s.sim.hazardTids.vdso;
      const call = await vdsoCallSite(s);
      const callInsn = (await s.client.disassemble(call, call + 16, AsmFlavour.Go)).find((i) => i.Loc.pc === call)!;
      t.diagnostic(`${callInsn.Text} at 0x${call.toString(16)}`);
      const bytes = Buffer.from(callInsn.Bytes, 'base64');
      const reg = amd64Profile.indirectCallRegister({ pc: call, bytes, text: callInsn.Text })!;
      const after = call + bytes.length;
      await runToAddress(s, tid, call);
      const target = new ThreadRegisters(await s.client.listRegisters(tid)).address(reg);
      await runToAddress(s, tid, target); // a breakpoint in the vDSO (host code): the thread enters it
      await s.client.switchThread(tid);
      for (let i = 0; i < 3; i++) await s.client.stepInstruction({ threadID: tid, timeoutMs: 5_000 }); // past its pushes
      const regs = new ThreadRegisters(await s.client.listRegisters(tid));
      const inside = regs.address('Rip');
      assert.ok(inside > target && inside < target + 0x1000, `inside the clock function (0x${inside.toString(16)})`);
      const top = Number((await s.client.examineMemory(regs.address('Rsp'), 8)).readBigUInt64LE(0));
      assert.notEqual(top, after, '[SP] is no longer the return address');
      const reads = hazardCounter(await s.sim.status(), 'vdso', 'reads');
      const r = await safeStepInstruction(s.client, tid);
      t.diagnostic(r.description);
      assert.equal(r.kind, 'left-unknown-code', r.description);
      assert.equal(r.pc, after);
      assert.match(
        r.description,
        new RegExp(
          `^left code without symbols at 0x${inside.toString(16)} with a breakpoint at its return address 0x${after.toString(16)}; now at 0x${after.toString(16)} runtime\\.nanotime1\\+0x[0-9a-f]+$`,
        ),
      );
      await runsOn(s, (st) => hazardCounter(st, 'vdso', 'reads') > reads + 200, 'vDSO reads go on');
    });

    withSession(
      'a Pause before the step: the step over a syscall and over a vDSO call run nothing and leave no breakpoint; the same step afterwards works',
      async (s) => {
        const paused = AbortSignal.abort();
        const sc = s.symbols['kvm.hazardSeccompMmap.syscall'];
        const seccomp = s.sim.hazardTids.seccomp;
        await parkOnSyscall(s, seccomp, 'kvm.hazardSeccompMmap', sc);
        const r1 = await safeStepInstruction(s.client, seccomp, { signal: paused });
        assert.equal(r1.kind, 'cancelled', r1.description);
        assert.equal(r1.pc, sc, 'still before the mmap');
        assert.match(
          r1.description,
          /^cancelled while waiting for thread \d+ to return from syscall mmap \(9\); thread \d+ is left stopped, the breakpoint is removed$/,
        );
        const vdso = s.sim.hazardTids.vdso;
        const call = await vdsoCallSite(s);
        await runToAddress(s, vdso, call);
        const r2 = await safeStepInstruction(s.client, vdso, { signal: paused });
        assert.equal(r2.kind, 'cancelled', r2.description);
        assert.equal(r2.pc, call);
        assert.deepEqual(
          (await s.client.listBreakpoints()).filter((b) => b.id > 0),
          [],
        );
        const r3 = await safeStepInstruction(s.client, vdso);
        assert.equal(r3.kind, 'stepped-over-call', r3.description);
        const trapped = hazardCounter(await s.sim.status(), 'seccomp', 'trapped');
        await runsOn(s, (st) => hazardCounter(st, 'seccomp', 'trapped') > trapped + 1, 'the mmap that was not stepped runs, and the next ones');
      },
    );

    withSession('a thread stopped inside futex() (as right after attach) is not stepped: it returns onto a breakpoint at its PC', async (s) => {
      const tid = s.sim.hazardTids.futex;
      const after = s.symbols['kvm.hazardFutexWait.syscall'] + 2;
      const pcOf = async (): Promise<number> => Number((await s.client.listRegisters(tid)).find((r) => r.Name === 'Rip')!.Value.split(/\s/)[0]);
      for (let i = 0; i < 40 && (await pcOf()) !== after; i++) {
        const running = s.client.continue();
        await new Promise((r) => setTimeout(r, 7));
        await s.client.halt({ timeoutMs: 10_000 });
        await running;
      }
      assert.equal(await pcOf(), after, 'the futex thread is blocked in its wait');
      const calls: RecordedCall[] = [];
      const r = await safeStepInstruction(recordingDelve(s.client, calls), tid);
      assert.equal(r.kind, 'waited-for-syscall', r.description);
      assert.deepEqual(r.syscall, { number: 202, name: 'futex', restart: 'ERESTARTSYS' }, 'inside the call, which the kernel restarts');
      assert.equal(r.pc, after + 5, 'returned, and ran the MOVQ after the SYSCALL');
      assert.match(
        r.description,
        /^the thread was inside syscall futex \(202\): waited for it to return with a breakpoint after the next instruction \(MOVQ AX, 0x[0-9a-f]+\(SP\)\); now at 0x[0-9a-f]+ kvm\.hazardFutexWait\+0x[0-9a-f]+$/,
      );
      assert.ok(!calls.some((c) => c.method === 'stepInstruction'));
      save(s, 'safe-step-in-futex', tid, calls, { kind: r.kind, pc: r.pc, description: r.description });
      const waits = hazardCounter(await s.sim.status(), 'futex', 'waits');
      await runsOn(s, (st) => hazardCounter(st, 'futex', 'waits') > waits + 2, 'futex waits go on');
    });

    withSession('control: a raw single-step of the trapped mmap skips it and the simulator aborts loudly (Delve 1.20)', async (s, t) => {
      const tid = s.sim.hazardTids.seccomp;
      await parkOnSyscall(s, tid, 'kvm.hazardSeccompMmap', s.symbols['kvm.hazardSeccompMmap.syscall']);
      await s.client.stepInstruction({ threadID: tid, timeoutMs: 10_000 });
      const running = s.client.continue();
      await waitFor('the simulator to die', () => !s.sim.alive(), { timeoutMs: 20_000, intervalMs: 100 }).catch(() => undefined); // or not: Delve 1.24 below
      await Promise.race([running.catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
      if (s.toolchain === 'debian12') {
        assert.equal(s.sim.alive(), false, 'the simulator noticed the skipped syscall');
        // The delayed SIGSYS arrives away from its syscall: the simulator's check or the Go runtime aborts.
        assert.match(s.sim.stderr(), /bluepill-sim: FATAL: |SIGSYS: bad system call/);
      } else {
        // Observed with Delve 1.24.0: the SIGSYS is delivered during the step and the simulator survives.
        t.diagnostic(`${s.toolchain}: after a raw single-step of the trapped mmap the simulator is ${s.sim.alive() ? 'alive' : 'dead'}`);
        assert.equal(s.sim.alive(), true, s.sim.stderr());
      }
    });

    withSession('control: a raw single-step of a futex wait does not return (and Delve then answers nothing)', async (s, t) => {
      const tid = s.sim.hazardTids.futex;
      // FUTEX_WAIT returns at once (EAGAIN) when the waker changed the value just before: then the
      // wait did not block, so park and try again; one blocking wait is what this control shows.
      let blocked = false;
      for (let attempt = 1; attempt <= 5 && !blocked; attempt++) {
        await parkOnSyscall(s, tid, 'kvm.hazardFutexWait', s.symbols['kvm.hazardFutexWait.syscall']);
        try {
          await s.client.stepInstruction({ threadID: tid, timeoutMs: 3000 });
          t.diagnostic(`attempt ${attempt}: the futex value had changed, the wait returned at once; again`);
        } catch (err) {
          if (!(err instanceof DelveTimeoutError)) throw err;
          blocked = true;
        }
      }
      assert.ok(blocked, 'a raw single-step of a blocking futex wait never returned within 3 s');
      await assert.rejects(s.client.halt({ timeoutMs: 3000 }), DelveTimeoutError, 'Delve 1.20/1.24 stay in their single-step loop');
      // Closing the session kills Delve; the simulator must be left running.
    });
  });
}
