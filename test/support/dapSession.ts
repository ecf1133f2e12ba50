// What the real-sandbox tests do with a debug session, one DAP request at a time, as VS Code
// would: stop at an address, pause, step, step over bluepill, read registers, memory and stacks.
import assert from 'node:assert/strict';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { StepOverResponseBody, WireHop } from '../../src/protocol/bluepillMessages';

export const hex = (n: number): string => `0x${n.toString(16)}`;

/** Stop events over an emulated link, or with a loaded machine, can take minutes. */
export const STOP_TIMEOUT_MS = Number(process.env.BLUEPILL_TEST_STOP_TIMEOUT_MS ?? 300_000);

export function nextStop(dc: DebugClient, timeoutMs = STOP_TIMEOUT_MS): Promise<DebugProtocol.StoppedEvent> {
  return dc.waitForEvent('stopped', timeoutMs) as Promise<DebugProtocol.StoppedEvent>;
}

export async function pcOf(dc: DebugClient, threadId: number): Promise<number> {
  const frame = (await dc.stackTraceRequest({ threadId, startFrame: 0, levels: 1 })).body.stackFrames[0];
  return Number(frame.instructionPointerReference);
}

/** Sets instruction breakpoints, waits for a thread to stop at one, clears them; returns the thread. */
export async function stopAt(dc: DebugClient, ...addrs: number[]): Promise<number> {
  const stopped = nextStop(dc);
  const set = await dc.customRequest('setInstructionBreakpoints', { breakpoints: addrs.map((a) => ({ instructionReference: hex(a) })) });
  for (const bp of (set.body as DebugProtocol.SetInstructionBreakpointsResponse['body']).breakpoints) assert.equal(bp.verified, true, bp.message);
  const ev = await stopped;
  await dc.customRequest('setInstructionBreakpoints', { breakpoints: [] });
  const pc = await pcOf(dc, ev.body.threadId!);
  assert.ok(addrs.includes(pc), `thread ${ev.body.threadId} stopped at ${hex(pc)}, one of ${addrs.map(hex).join(', ')}`);
  return ev.body.threadId!;
}

export async function pause(dc: DebugClient): Promise<DebugProtocol.StoppedEvent> {
  const stopped = nextStop(dc);
  const threads = (await dc.threadsRequest()).body.threads;
  await dc.pauseRequest({ threadId: threads[0].id });
  const ev = await stopped;
  assert.equal(ev.body.reason, 'pause');
  return ev;
}

export async function stepInstruction(dc: DebugClient, threadId: number): Promise<DebugProtocol.StoppedEvent> {
  const stopped = nextStop(dc);
  await dc.stepInRequest({ threadId, granularity: 'instruction' });
  return stopped;
}

export interface StepOverRun {
  body: StepOverResponseBody;
  event: DebugProtocol.StoppedEvent;
  ms: number;
}

export async function stepOverBluepill(dc: DebugClient, threadId: number, maxHops?: number): Promise<StepOverRun> {
  const stopped = nextStop(dc);
  const t0 = Date.now();
  const res = await dc.customRequest('bluepill/stepOver', { threadId, ...(maxHops ? { maxHops } : {}) });
  const ms = Date.now() - t0;
  return { body: res.body as StepOverResponseBody, event: await stopped, ms };
}

/**
 * Every hop landed where the handler wrote the PC into the ucontext, on the stepped thread, and the
 * thread is at the last landing now. Returns the last hop.
 */
export async function assertLandedOnUcontextPc(dc: DebugClient, threadId: number, r: StepOverRun, signal: RegExp): Promise<WireHop> {
  assert.ok(r.body.hops.length >= 1, r.body.description);
  for (const hop of r.body.hops) {
    assert.equal(hop.threadId, threadId);
    assert.equal(hop.landing.pc, hop.guest.pc, `hop ${hop.index}: landed at the ucontext PC (${hop.landing.text})`);
    assert.match(hop.signal, signal);
  }
  const last = r.body.hops[r.body.hops.length - 1];
  assert.equal(r.event.body.threadId, threadId, 'the stopped event names the stepped thread');
  assert.equal(await pcOf(dc, threadId), Number(last.landing.pc), 'the thread is at the last landing');
  return last;
}

/** The registers of frame 0 of a thread, by name, through the registers scope. */
export async function registers(dc: DebugClient, threadId: number): Promise<Map<string, string>> {
  const frame = (await dc.stackTraceRequest({ threadId, startFrame: 0, levels: 1 })).body.stackFrames[0];
  const scopes = (await dc.scopesRequest({ frameId: frame.id })).body.scopes;
  const scope = scopes.find((s) => s.presentationHint === 'registers');
  assert.ok(scope, 'a registers scope');
  const vars = (await dc.variablesRequest({ variablesReference: scope.variablesReference })).body.variables;
  return new Map(vars.map((v) => [v.name, v.value.split(/\s/)[0]]));
}

export async function readMemory(dc: DebugClient, address: number, count: number): Promise<Buffer> {
  const res = await dc.customRequest('readMemory', { memoryReference: hex(address), count });
  const data = Buffer.from((res.body as { data: string }).data, 'base64');
  assert.equal(data.length, count, `${count} bytes at ${hex(address)}`);
  return data;
}

/** The first instruction at `pc`, as the Disassembly view shows it. */
export async function instructionAt(dc: DebugClient, pc: number): Promise<string> {
  const res = await dc.customRequest('disassemble', { memoryReference: hex(pc), instructionCount: 1 });
  return (res.body as NonNullable<DebugProtocol.DisassembleResponse['body']>).instructions[0].instruction;
}

/** A thread whose top `depth + 1` frames (all, when undefined) have one named like `re`. */
export async function threadInFunction(dc: DebugClient, re: RegExp, depth?: number, unless?: RegExp): Promise<number | undefined> {
  for (const th of (await dc.threadsRequest()).body.threads) {
    const frames = (await dc.stackTraceRequest({ threadId: th.id, startFrame: 0, levels: 30 })).body.stackFrames;
    if (unless && frames.some((f) => unless.test(f.name))) continue;
    if (frames.slice(0, depth === undefined ? frames.length : depth + 1).some((f) => re.test(f.name))) return th.id;
  }
  return undefined;
}
