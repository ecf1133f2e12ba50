// Trampoline-aware instruction steps and the stack through the signal frame, on the amd64
// simulator with real Delve (both toolchains). BLUEPILL_RECORD_TRANSCRIPTS=1 saves the Debian 12
// run for the unit tests.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignalFrameMemory, stepInstructionAware, type InstructionStepResult } from '../../../src/bluepill/instructionStep';
import { runToBreakpoint } from '../../../src/bluepill/breakpointWait';
import { SIGNAL_HANDLER_CALLED, unwindThroughSignalFrame } from '../../../src/bluepill/signalFrameUnwind';
import type { Toolchain } from '../../support/simulator';
import { recordingDelve, type RecordedCall, type Transcript } from '../../support/transcript';
import {
  guestCodeRanges,
  parkAtFault,
  parkAtHandlerEntry,
  parkInBluepillHandler,
  testWithSession,
  toolchainUnavailable,
  type Session,
  type SessionOptions,
} from '../../support/delveSession';

const RECORD = process.env.BLUEPILL_RECORD_TRANSCRIPTS === '1';
const TOOLCHAINS = (process.env.BLUEPILL_TOOLCHAINS ?? 'debian12,debian13').split(',') as Toolchain[];

function save(s: Session, name: string, tid: number, calls: RecordedCall[], expected: Record<string, unknown>): void {
  if (!RECORD || s.toolchain !== 'debian12') return;
  const t: Transcript = { name, note: '', toolchain: s.toolchain, arch: 'amd64', threadId: tid, expected: { ...expected, symbols: s.symbols }, calls };
  writeFileSync(join(__dirname, '../../fixtures/transcripts', `${name}.json`), JSON.stringify(t, null, 1) + '\n');
}

for (const toolchain of TOOLCHAINS) {
  describe(`trampoline-aware instruction step and signal-frame stack (${toolchain})`, async () => {
    const unavailable = await toolchainUnavailable(toolchain);
    const withSession = (name: string, opts: SessionOptions, body: (s: Session) => Promise<void>): void =>
      testWithSession(toolchain, unavailable, name, opts, body);

    withSession(
      'CLI faults into the handler (said so); rt_sigreturn lands elsewhere than the interrupted PC (said so); the guest-exit syscall is stepped over by its return address',
      { hops: 'one' },
      async (s) => {
        const tid = await parkAtFault(s);
        const calls: RecordedCall[] = [];
        const delve = recordingDelve(s.client, calls);
        const memory = new SignalFrameMemory();
        const ranges = await guestCodeRanges(s);
        const isGuestCode = (a: number): boolean => ranges.some(([lo, hi]) => a >= lo && a < hi);
        const results: InstructionStepResult[] = [];

        const entered = await stepInstructionAware(delve, tid, { memory, noBreakpointAt: isGuestCode });
        results.push(entered);
        assert.equal(entered.kind, 'entered-handler', entered.description);
        assert.equal(entered.pc, s.symbols['kvm.sighandler']);
        assert.equal(entered.handlerEntry?.faultPc, s.symbols['kvm.bluepill.fault']);
        assert.equal(entered.handlerEntry?.stepOverBluepillAvailable, true);
        assert.match(
          entered.description,
          /^CLI at 0x[0-9a-f]+ kvm\.bluepill\+0x[0-9a-f]+ faulted \(SIGSEGV\) into the handler at 0x[0-9a-f]+ kvm\.sighandler; step over bluepill is available$/,
        );

        // To the trampoline (host code) on this thread, then two trampoline-aware steps: MOV, then the rt_sigreturn SYSCALL.
        const ran = await runToBreakpoint(delve, tid, entered.handlerEntry!.trampoline, { waitingFor: 'the trampoline' });
        assert.equal(ran.outcome, 'arrived');
        const mov = await stepInstructionAware(delve, tid, { memory, noBreakpointAt: isGuestCode });
        results.push(mov);
        assert.equal(mov.kind, 'stepped', mov.description);
        const sig = await stepInstructionAware(delve, tid, { memory, noBreakpointAt: isGuestCode });
        results.push(sig);
        assert.equal(sig.kind, 'rt_sigreturn', sig.description);
        assert.equal(sig.pc, s.symbols['kvm.guestExitSyscall.landing']);
        assert.equal(sig.sigreturn?.interruptedPc, s.symbols['kvm.bluepill.fault']);
        assert.equal(sig.sigreturn?.differsFromInterrupted, true);
        assert.equal(sig.sigreturn?.ucontextPc, sig.pc);
        assert.match(
          sig.description,
          /^rt_sigreturn: landed at 0x[0-9a-f]+ kvm\.guestExitSyscall\+0x[0-9a-f]+, not at the interrupted PC 0x[0-9a-f]+ kvm\.bluepill\+0x[0-9a-f]+ — the handler rewrote the ucontext$/,
        );

        // The landing is the guest's SYSCALL (getpid): never single-stepped; the code after it is guest code, so the breakpoint goes on the return address.
        const over = await stepInstructionAware(delve, tid, { memory, noBreakpointAt: isGuestCode });
        results.push(over);
        assert.equal(over.kind, 'stepped-over-syscall', over.description);
        assert.equal(over.syscall?.name, 'getpid');
        assert.match(
          over.description,
          /^stepped over syscall getpid \(39\) with a breakpoint at its return address 0x[0-9a-f]+; now at 0x[0-9a-f]+ kvm\.roundTrip\+0x[0-9a-f]+$/,
        );
        assert.equal((await s.client.listBreakpoints()).filter((b) => b.id > 0).length, 0);
        save(s, 'instruction-step-sequence', tid, calls, { results: results.map((r) => ({ kind: r.kind, pc: r.pc, description: r.description })) });

        const before = (await s.sim.status()).roundTrips;
        const running = s.client.continue();
        const st = await s.sim.waitForProgress(before + 4, 30_000).finally(async () => {
          await s.client.halt();
          await running;
        });
        assert.equal(st.checksOK, true, 'the guest exit ran its syscall and recorded the right landing; no breakpoint in guest code');
      },
    );

    for (const [where, park] of [
      ['at the handler entry', parkAtHandlerEntry],
      ['inside bluepillHandler', parkInBluepillHandler],
    ] as const) {
      withSession(`the stack ${where}: <signal handler called>, then kvm.bluepill, then its callers`, { hops: 'one' }, async (s) => {
        const tid = await park(s);
        const calls: RecordedCall[] = [];
        const stack = await unwindThroughSignalFrame(recordingDelve(s.client, calls), tid);
        assert.ok(stack, 'a signal frame is found');
        const names = stack.frames.map((f) => f.name);
        assert.equal(names[0], SIGNAL_HANDLER_CALLED);
        assert.equal(stack.frames[0].pc, s.symbols['trampoline.restorer']);
        assert.equal(stack.frames[1].pc, s.symbols['kvm.bluepill.fault']);
        assert.match(names[1], /kvm\.bluepill/);
        assert.match(names[2], /kvm\.roundTrip/, names.join(' < '));
        assert.ok(
          names.some((n) => /runVCPU/.test(n)),
          names.join(' < '),
        );
        assert.ok(stack.frames.length <= 2 + 1 + 32);
        save(s, `unwind-${where.includes('entry') ? 'handler-entry' : 'in-handler'}`, tid, calls, { names, pcs: stack.frames.map((f) => f.pc) });
      });
    }
  });
}
