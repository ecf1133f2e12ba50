// The safe instruction step on recorded real Delve sessions against the simulator's hazard threads
// (recorded by test/e2e/bluepill/safeStep.test.ts): syscalls and vDSO calls are never single-stepped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { safeStepInstruction } from '../../../src/bluepill/safeStep';
import { runToBreakpoint } from '../../../src/bluepill/breakpointWait';
import { replayDelve, type Transcript } from '../../support/transcript';

const load = (name: string): Transcript => JSON.parse(readFileSync(join(__dirname, '../../fixtures/transcripts', `${name}.json`), 'utf8')) as Transcript;

for (const [name, kind, text] of [
  [
    'safe-step-seccomp',
    'stepped-over-syscall',
    /^stepped over syscall mmap \(9\) with a breakpoint after the next instruction \(MOVQ AX, 0x[0-9a-f]+\(SP\)\); now at /,
  ],
  [
    'safe-step-futex',
    'stepped-over-syscall',
    /^stepped over syscall futex \(202\) with a breakpoint after the next instruction \(MOVQ AX, 0x[0-9a-f]+\(SP\)\); now at /,
  ],
  [
    'safe-step-in-futex',
    'waited-for-syscall',
    /^the thread was inside syscall futex \(202\): waited for it to return with a breakpoint after the next instruction \(MOVQ AX, 0x[0-9a-f]+\(SP\)\); now at /,
  ],
  ['safe-step-vdso', 'stepped-over-call', /^stepped over a call into code without symbols \(0x[0-9a-f]+, e\.g\. the vDSO\) with a breakpoint; now at /],
] as const) {
  test(`${name}: ${kind}, with a breakpoint after the instruction, removed afterwards; no single step`, async () => {
    const t = load(name);
    const delve = replayDelve(t);
    const r = await safeStepInstruction(delve, t.threadId);
    assert.equal(r.kind, kind, r.description);
    assert.match(r.description, text);
    assert.equal(r.description, t.expected.description);
    assert.equal(r.pc, t.expected.pc);
    // After a syscall the breakpoint is one plain instruction (MOVQ AX, ret(FP): 5 bytes) past its
    // return address, where no other thread can be parked inside the call.
    if (kind === 'waited-for-syscall') assert.equal(r.pc, r.fromPc + 5, 'the syscall returned to the PC the thread had, and the MOVQ there ran');
    else if (kind === 'stepped-over-syscall') assert.equal(r.pc, r.fromPc + r.instruction!.bytes.length + 5, 'stopped past the instruction after the SYSCALL');
    else assert.equal(r.pc, r.fromPc + r.instruction!.bytes.length, 'stopped on the next instruction');
    assert.deepEqual(
      delve.unused().map((c) => c.method),
      [],
    );
    const methods = t.calls.map((c) => c.method);
    assert.ok(!methods.includes('stepInstruction'), 'the hazardous instruction was not single-stepped');
    const bp = t.calls.find((c) => c.method === 'createBreakpoint')!;
    assert.deepEqual((bp.args[0] as { addrs: number[] }).addrs, [r.pc]);
    assert.deepEqual(
      t.calls.filter((c) => c.method === 'clearBreakpoint').map((c) => c.args[0]),
      [(bp.result as { id: number }).id],
    );
  });
}

test('waiting at a breakpoint: other threads stopping there are ignored; Pause halts and removes the breakpoint', async () => {
  const t = load('foreign-hits');
  const sym = t.expected.symbols as Record<string, number>;
  // The recorded run had another thread stop at the trampoline breakpoint (on its SYSCALL, +7) before ours did.
  const calls = t.calls.filter((c) => ['createBreakpoint', 'continue', 'clearBreakpoint', 'listRegisters'].includes(c.method));
  const progress: string[] = [];
  const r = await runToBreakpoint(replayDelve({ calls }), t.threadId, sym['trampoline.restorer'] + 7, {
    waitingFor: 'the trampoline',
    onProgress: (m) => progress.push(m),
  });
  assert.equal(r.outcome, 'arrived');
  assert.equal(r.foreignHits, t.expected.foreignHits);
  assert.ok(
    progress.some((m) => /stopped at the breakpoint at 0x[0-9a-f]+; ignored \(1 so far\), waiting for the trampoline/.test(m)),
    progress.join('\n'),
  );

  const slow = load('slow-guest-cancelled');
  const ac = new AbortController();
  const slowCalls = slow.calls.filter((c) => ['createBreakpoint', 'continue', 'clearBreakpoint', 'halt'].includes(c.method));
  const delve = replayDelve({ calls: slowCalls });
  const cancelled = await runToBreakpoint(delve, slow.threadId, sym['trampoline.restorer'] + 7, {
    waitingFor: 'the guest',
    signal: ac.signal,
    progressIntervalMs: 5,
    onProgress: (m) => {
      if (m.startsWith('waiting for')) ac.abort();
    },
  });
  assert.equal(cancelled.outcome, 'cancelled');
  assert.match(cancelled.message, /^cancelled after [0-9.]+ s waiting for the guest; thread \d+ is left stopped at 0x[0-9a-f]+, the breakpoint is removed$/);
  assert.deepEqual(
    delve.unused().map((c) => c.method),
    [],
    'halt sent, breakpoint cleared',
  );
});

test('a Pause before the wait: no continue at all; cancelled, the breakpoint removed', async () => {
  const t = load('foreign-hits');
  const sym = t.expected.symbols as Record<string, number>;
  const create = t.calls.find((c) => c.method === 'createBreakpoint')!;
  const clear = t.calls.find((c) => c.method === 'clearBreakpoint')!;
  const delve = replayDelve({ calls: [create, clear] });
  const r = await runToBreakpoint(delve, t.threadId, sym['trampoline.restorer'] + 7, { waitingFor: 'the trampoline', signal: AbortSignal.abort() });
  assert.equal(r.outcome, 'cancelled');
  assert.match(r.message, /^cancelled while waiting for the trampoline; thread \d+ is left stopped, the breakpoint is removed$/);
  assert.deepEqual(
    delve.unused().map((c) => c.method),
    [],
    'created and cleared, nothing else',
  );
});

test('a thread already at the address (inside a syscall, or halted there) has not arrived until the breakpoint stops it', async () => {
  const tid = 12;
  const addr = 0x401000;
  const states = [
    // Another thread stopped somewhere; ours is still inside its syscall, its PC already at addr.
    {
      Running: false,
      exited: false,
      currentThread: { id: 13, pc: 0x402000, breakPoint: { id: 99 } },
      Threads: [
        { id: tid, pc: addr, breakPoint: null },
        { id: 13, pc: 0x402000, breakPoint: { id: 99 } },
      ],
    },
    { Running: false, exited: false, currentThread: { id: tid, pc: addr, breakPoint: { id: 7 } }, Threads: [{ id: tid, pc: addr, breakPoint: { id: 7 } }] },
  ];
  const calls: string[] = [];
  const delve = {
    createBreakpoint: async () => (calls.push('createBreakpoint'), { id: 7 }),
    clearBreakpoint: async () => (calls.push('clearBreakpoint'), {}),
    continue: async () => (calls.push('continue'), states.shift()!),
    halt: async () => (calls.push('halt'), states[0]),
    listRegisters: async () => [],
  } as unknown as Parameters<typeof runToBreakpoint>[0];
  const r = await runToBreakpoint(delve, tid, addr, { waitingFor: 'the syscall' });
  assert.equal(r.outcome, 'arrived');
  assert.equal(r.foreignHits, 1, 'the first stop was not the arrival');
  assert.deepEqual(calls, ['createBreakpoint', 'continue', 'continue', 'clearBreakpoint']);
});
