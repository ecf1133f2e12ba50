// The wait loop of the breakpoint route against a scripted Delve: which stops count as arrival,
// which are other threads to let go, and that the temporary breakpoint goes away in every outcome.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runThreadTo } from '../../../src/stepping/runThreadTo';
import type { SteppingDelve } from '../../../src/stepping/steppingDelve';
import { DelveConnectionClosedError, DelveError } from '../../../src/delve/delveErrors';
import type { Breakpoint, BreakpointSpec, DebuggerState, Thread } from '../../../src/delve/delveTypes';

const ADDR = 0x4c2760;

function thread(id: number, pc: number, bpId = 0): Thread {
  return { id, pc, file: '', line: 0, function: null, goroutineID: 0, breakPoint: bpId ? ({ id: bpId } as Breakpoint) : null };
}

function state(threads: Thread[], exited = false): DebuggerState {
  return { Pid: 1, Running: false, currentThread: threads[0] ?? null, Threads: threads, NextInProgress: false, exited, exitStatus: 0 };
}

/** Answers each continue with the next scripted stop; records breakpoint traffic. */
function scripted(stops: Array<(bpId: number) => DebuggerState | Error>, existing?: Breakpoint) {
  const log: string[] = [];
  let next = 0;
  const bpId = existing?.id ?? 7;
  const delve = {
    async createBreakpoint(spec: BreakpointSpec) {
      log.push(`create ${spec.addrs?.map((a) => a.toString(16)).join(',')}`);
      if (existing) throw new DelveError('CreateBreakpoint', `Breakpoint exists at ${ADDR}`);
      return { id: bpId, addr: ADDR, addrs: [ADDR] } as Breakpoint;
    },
    async listBreakpoints() {
      return existing ? [existing] : [];
    },
    async clearBreakpoint(id: number) {
      log.push(`clear ${id}`);
      return { id } as Breakpoint;
    },
    async continue() {
      log.push('continue');
      const s = stops[next++](bpId);
      if (s instanceof Error) throw s;
      return s;
    },
    async halt() {
      log.push('halt');
      return state([]);
    },
    async state() {
      return state([]);
    },
  } as unknown as SteppingDelve;
  return { delve, log };
}

test('other threads at the temporary breakpoint are let go; the waited-for thread arrives', async () => {
  const { delve, log } = scripted([
    (bp) => state([thread(11, ADDR, bp), thread(12, 0x1000)]),
    (bp) => state([thread(11, ADDR, bp), thread(13, ADDR, bp)]),
    (bp) => state([thread(12, ADDR, bp)]),
  ]);
  const r = await runThreadTo(delve, 12, ADDR, { waitingFor: 'syscall futex (202)' });
  assert.equal(r.outcome, 'arrived');
  assert.equal(r.foreignHits, 3);
  assert.equal(r.continues, 3);
  assert.deepEqual(log, ['create 4c2760', 'continue', 'continue', 'continue', 'clear 7']);
});

test('a thread already at the address (inside a syscall) has not arrived until the breakpoint stops it', async () => {
  const { delve } = scripted([
    (bp) => state([thread(5, ADDR, bp), thread(12, ADDR)]),
    (bp) => state([thread(12, ADDR, bp)]),
  ]);
  const r = await runThreadTo(delve, 12, ADDR, { waitingFor: 'x' });
  assert.equal(r.outcome, 'arrived');
  assert.equal(r.continues, 2);
});

test('another breakpoint, an exit, or a dropped connection end the wait; the breakpoint is removed each time', async () => {
  const other = scripted([() => state([thread(12, 0x2000, 99)])]);
  assert.equal((await runThreadTo(other.delve, 12, ADDR, { waitingFor: 'x' })).outcome, 'stopped-elsewhere');
  assert.equal(other.log.at(-1), 'clear 7');

  const exit = scripted([() => state([], true)]);
  assert.equal((await runThreadTo(exit.delve, 12, ADDR, { waitingFor: 'x' })).outcome, 'exited');
  assert.equal(exit.log.at(-1), 'clear 7');

  const lost = scripted([() => new DelveConnectionClosedError('Command', 'gone')]);
  await assert.rejects(runThreadTo(lost.delve, 12, ADDR, { waitingFor: 'x' }), DelveConnectionClosedError);
  assert.equal(lost.log.at(-1), 'clear 7');
});

test("a user's breakpoint already at the address is used and left in place", async () => {
  const user = { id: 3, addr: ADDR, addrs: [ADDR] } as Breakpoint;
  const { delve, log } = scripted([(bp) => state([thread(12, ADDR, bp)])], user);
  const r = await runThreadTo(delve, 12, ADDR, { waitingFor: 'x' });
  assert.equal(r.outcome, 'arrived');
  assert.ok(!log.some((l) => l.startsWith('clear')), log.join(' | '));
});

test('an aborted signal: no continue at all, outcome paused', async () => {
  const { delve, log } = scripted([]);
  const r = await runThreadTo(delve, 12, ADDR, { waitingFor: 'x', signal: AbortSignal.abort() });
  assert.equal(r.outcome, 'paused');
  assert.deepEqual(log, ['create 4c2760', 'clear 7']);
});
