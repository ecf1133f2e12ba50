// Trampoline-aware instruction steps and the signal-frame stack, replayed from a recorded real
// Delve session on the amd64 simulator (test/e2e/bluepill/instructionStep.test.ts records them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignalFrameMemory, stepInstructionAware } from '../../../src/bluepill/instructionStep';
import { runToBreakpoint } from '../../../src/bluepill/breakpointWait';
import { SIGNAL_HANDLER_CALLED, unwindThroughSignalFrame } from '../../../src/bluepill/signalFrameUnwind';
import { replayDelve, type Transcript } from '../../support/transcript';

const load = (name: string): Transcript => JSON.parse(readFileSync(join(__dirname, '../../fixtures/transcripts', `${name}.json`), 'utf8')) as Transcript;

test('fault → handler, trampoline → rt_sigreturn elsewhere than the interrupted PC, guest syscall stepped over by its return address', async () => {
  const t = load('instruction-step-sequence');
  const sym = t.expected.symbols as Record<string, number>;
  const expected = t.expected.results as Array<{ kind: string; pc: number; description: string }>;
  const delve = replayDelve(t);
  const memory = new SignalFrameMemory();
  const guest = [
    [sym['kvm.bluepill'], sym['kvm.bluepill'] + 16],
    [sym['ring0.kernelExitToEl0'], sym['ring0.kernelExitToEl0'] + 8],
    [sym['kvm.guestExitSyscall'], sym['kvm.guestExitSyscall'] + 0x30],
  ];
  const isGuestCode = (a: number): boolean => guest.some(([lo, hi]) => a >= lo && a < hi);

  const entered = await stepInstructionAware(delve, t.threadId, { memory, noBreakpointAt: isGuestCode });
  assert.equal(entered.kind, 'entered-handler');
  assert.equal(entered.description, expected[0].description);
  assert.equal(entered.handlerEntry?.hostContext.pc, sym['kvm.bluepill.fault']);
  assert.equal(memory.interruptedPc(t.threadId, entered.handlerEntry!.ucontextAddress), sym['kvm.bluepill.fault'], 'the session remembers the interrupted PC');

  const ran = await runToBreakpoint(delve, t.threadId, entered.handlerEntry!.trampoline, { waitingFor: 'the trampoline' });
  assert.equal(ran.outcome, 'arrived');
  const mov = await stepInstructionAware(delve, t.threadId, { memory, noBreakpointAt: isGuestCode });
  assert.equal(mov.kind, 'stepped');
  const sig = await stepInstructionAware(delve, t.threadId, { memory, noBreakpointAt: isGuestCode });
  assert.equal(sig.kind, 'rt_sigreturn');
  assert.equal(sig.pc, sym['kvm.guestExitSyscall.landing']);
  assert.equal(sig.sigreturn?.differsFromInterrupted, true);
  assert.equal(sig.description, expected[2].description);

  const over = await stepInstructionAware(delve, t.threadId, { memory, noBreakpointAt: isGuestCode });
  assert.equal(over.kind, 'stepped-over-syscall');
  assert.equal(over.description, expected[3].description);
  assert.deepEqual(
    delve.unused().map((c) => c.method),
    [],
  );
});

for (const name of ['unwind-handler-entry', 'unwind-in-handler']) {
  test(`${name}: <signal handler called>, the interrupted kvm.bluepill, its caller from [SP], then the frame-pointer chain`, async () => {
    const t = load(name);
    const sym = t.expected.symbols as Record<string, number>;
    const stack = await unwindThroughSignalFrame(replayDelve(t), t.threadId);
    assert.ok(stack);
    assert.deepEqual(
      stack.frames.map((f) => f.name),
      t.expected.names,
    );
    assert.equal(stack.frames[0].name, SIGNAL_HANDLER_CALLED);
    assert.equal(stack.frames[0].pc, sym['trampoline.restorer']);
    assert.equal(stack.frames[1].pc, sym['kvm.bluepill.fault']);
    assert.equal(stack.frames[1].source, 'ucontext');
    assert.equal(stack.frames[2].source, 'stack-top');
    assert.ok(stack.frames.slice(3).every((f) => f.source === 'frame-pointer'));
    assert.equal(stack.frame.foundBy, name === 'unwind-handler-entry' ? 'handler-entry' : 'stack-scan');
  });
}
