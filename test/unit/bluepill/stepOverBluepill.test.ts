// The step-over-bluepill engine on recorded transcripts of real Delve runs against the amd64
// simulator (test/fixtures/transcripts/*.json, recorded by test/e2e/bluepill/stepOverBluepill.test.ts
// with BLUEPILL_RECORD_TRANSCRIPTS=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { bluepillStartPoint, stepOverBluepill } from '../../../src/bluepill/stepOverBluepill';
import { replayDelve, type RecordedCall, type Transcript } from '../../support/transcript';

const DIR = join(__dirname, '../../fixtures/transcripts');

function load(name: string): Transcript {
  return JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')) as Transcript;
}

/** Transcripts of step-over-bluepill runs: those whose expected result has a stopReason. */
const stepOverTranscripts = readdirSync(DIR)
  .filter((f) => f.endsWith('.json') && !f.startsWith('sim-code'))
  .map((f) => f.replace(/\.json$/, ''))
  .filter((name) => typeof load(name).expected.stopReason === 'string');

test('transcripts of every starting point, the chain, foreign hits and the cancel are present', () => {
  for (const name of [
    'one-hop-before-fault',
    'two-hop-at-fault',
    'one-hop-handler-entry',
    'one-hop-in-handler',
    'one-hop-trampoline',
    'foreign-hits',
    'slow-guest-cancelled',
  ]) {
    assert.ok(stepOverTranscripts.includes(name), `${name}.json is recorded`);
  }
});

for (const name of stepOverTranscripts) {
  test(`replay ${name}: the engine makes the same calls and reaches the same result`, async () => {
    const t = load(name);
    const delve = replayDelve(t);
    const ac = new AbortController();
    const r = await stepOverBluepill(delve, t.threadId, {
      progressIntervalMs: 5,
      signal: ac.signal,
      onProgress: (m) => {
        if (t.expected.stopReason === 'cancelled' && /^waiting for the guest to exit/.test(m)) ac.abort();
      },
    });
    assert.equal(r.stopReason, t.expected.stopReason, r.description);
    assert.equal(r.startedAt, t.expected.startedAt);
    assert.equal(r.hops.length, t.expected.hops);
    assert.equal(r.pc, t.expected.pc);
    assert.equal(r.foreignHits, t.expected.foreignHits);
    if (t.expected.stopReason !== 'cancelled') assert.equal(r.description, t.expected.description);
    else
      assert.match(
        r.description,
        /^bluepill: cancelled after [0-9.]+ s waiting for the guest to exit on thread \d+; the thread is left stopped at 0x[0-9a-f]+/,
      );
    assert.deepEqual(
      delve.unused().map((c) => c.method),
      [],
      'every recorded call was made again',
    );
  });
}

function createdAndCleared(calls: RecordedCall[]): { created: Array<{ id: number; addrs: number[] }>; cleared: number[] } {
  const created = calls
    .filter((c) => c.method === 'createBreakpoint' && c.result)
    .map((c) => ({ id: (c.result as { id: number }).id, addrs: (c.args[0] as { addrs: number[] }).addrs }));
  const cleared = calls.filter((c) => c.method === 'clearBreakpoint').map((c) => c.args[0] as number);
  return { created, cleared };
}

test('rules: breakpoints only on the trampoline (never on the faulting instruction or guest code), and every one removed', () => {
  for (const name of stepOverTranscripts) {
    const t = load(name);
    const sym = t.expected.symbols as Record<string, number>;
    const { created, cleared } = createdAndCleared(t.calls);
    for (const bp of created) {
      // On the trampoline's rt_sigreturn SYSCALL (`MOVQ $15, AX` is 7 bytes): one single step less per hop.
      assert.deepEqual(bp.addrs, [sym['trampoline.restorer'] + 7], `${name}: a breakpoint only on the trampoline`);
      for (const guest of ['kvm.bluepill', 'kvm.bluepill.fault', 'ring0.kernelExitToEl0', 'kvm.guestExitSyscall.landing']) {
        assert.ok(!bp.addrs.includes(sym[guest]), `${name}: none on ${guest}`);
      }
      assert.ok(cleared.includes(bp.id), `${name}: breakpoint ${bp.id} removed`);
    }
    // The fault is crossed by a single step, never by continue.
    const steps = t.calls.filter((c) => c.method === 'stepInstruction');
    for (const s of steps) assert.ok((s.args[0] as { timeoutMs?: number }).timeoutMs! > 0, `${name}: every stepInstruction has a timeout`);
  }
});

test('the landing PC is the PC the handler wrote, and the host context PC is the faulting PC (one hop, from before the fault)', async () => {
  const t = load('one-hop-before-fault');
  const sym = t.expected.symbols as Record<string, number>;
  const r = await stepOverBluepill(replayDelve(t), t.threadId);
  const hop = r.hops[0];
  assert.equal(hop.landing.pc, hop.guestContext.pc);
  assert.equal(hop.landing.pc, sym['kvm.guestExitSyscall.landing']);
  assert.equal(hop.hostContext?.pc, sym['kvm.bluepill.fault']);
  assert.equal(hop.fault?.instruction, 'CLI');
  assert.equal(hop.trampoline.pc, sym['trampoline.restorer']);
  assert.equal(hop.handler?.pc, sym['kvm.sighandler'], "the step over CLI lands on the handler's true entry");
});

test('a step that never returns (timeout) halts the target, reports the thread stuck, and still removes the breakpoint', async () => {
  const t = load('one-hop-before-fault');
  const calls = structuredClone(t.calls);
  // The rt_sigreturn step is the last stepInstruction: make it time out, and let the halt answer.
  const lastStep = calls.map((c) => c.method).lastIndexOf('stepInstruction');
  calls[lastStep] = { ...calls[lastStep], result: undefined, error: { kind: 'timeout', method: 'Command', message: 'x', timeoutMs: 10_000 } };
  calls.push({ method: 'halt', args: [{ timeoutMs: 3000 }], result: calls[lastStep - 1].result });
  const delve = replayDelve({ calls });
  const r = await stepOverBluepill(delve, t.threadId);
  assert.equal(r.stopReason, 'stuck');
  assert.match(
    r.description,
    new RegExp(`^thread ${t.threadId} stuck in the instruction at PC 0x[0-9a-f]+ \\(no answer in 10000 ms\\); the target was halted$`),
  );
  const cleared = delve.unused().filter((c) => c.method === 'clearBreakpoint');
  assert.deepEqual(cleared, [], 'the trampoline breakpoint was removed');
});

test('a thread that is nowhere near a bluepill is refused without stepping or planting anything', async () => {
  const t = load('one-hop-before-fault');
  // Serve the same session, but claim the thread sits in the middle of bluepillHandler's caller chain: a PC in the Go runtime.
  const calls = structuredClone(t.calls);
  const regs = calls.find((c) => c.method === 'listRegisters')!;
  const sym = t.expected.symbols as Record<string, number>;
  const elsewhere = sym['runtime.handler.SIGSEGV'];
  const list = regs.result as Array<{ Name: string; Value: string }>;
  for (const r of list) if (r.Name === 'Rip') r.Value = `0x${elsewhere.toString(16)}`;
  const delve = replayDelve({ calls });
  const made: string[] = [];
  const spy = new Proxy(delve, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      return typeof v === 'function'
        ? (...a: unknown[]) => {
            made.push(String(prop));
            return (v as (...x: unknown[]) => unknown).apply(target, a);
          }
        : v;
    },
  });
  const r = await stepOverBluepill(spy, t.threadId).catch((e: Error) => ({ stopReason: 'threw', description: e.message, hops: [] }));
  assert.ok(!made.includes('stepInstruction'), `no step (${made.join(',')})`);
  assert.ok(!made.includes('createBreakpoint'), 'no breakpoint');
  assert.ok(['not-in-bluepill', 'unexpected'].includes(r.stopReason), `${r.stopReason}: ${r.description}`);
});

test('the start point is told without moving the thread (reads only), for showing the toolbar button', async () => {
  for (const [name, start] of [
    ['one-hop-before-fault', 'before-fault'],
    ['two-hop-at-fault', 'at-fault'],
    ['one-hop-handler-entry', 'handler-entry'],
    ['one-hop-in-handler', 'in-handler'],
    ['one-hop-trampoline', 'trampoline'],
  ] as const) {
    const t = load(name);
    const made: string[] = [];
    const replay = replayDelve(t);
    const spy = new Proxy(replay, {
      get(target, prop, recv) {
        const v = Reflect.get(target, prop, recv);
        return typeof v === 'function'
          ? (...a: unknown[]) => {
              made.push(String(prop));
              return (v as (...x: unknown[]) => unknown).apply(target, a);
            }
          : v;
      },
    });
    assert.equal(await bluepillStartPoint(spy, t.threadId), start, name);
    assert.ok(
      made.every((m) => ['listRegisters', 'disassemble', 'examineMemory'].includes(m)),
      `${name}: only reads (${made.join(',')})`,
    );
  }
});
