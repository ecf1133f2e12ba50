// The debug adapter, driven through DAP like VS Code does, attached to the bluepill simulator on
// this machine with real Delve: threads, stacks, scopes, registers, variables, evaluate,
// setVariable, every breakpoint kind, every step kind, pause, disassembly, memory, console
// commands, and detach that leaves the simulator running.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startSimulator, simulatorSourceDir, type RunningSimulator } from '../../support/simulator';
import { processStateLetter } from '../../../src/transport/processState';
import { attach, collectOutput, failureOf, newDapClient } from '../../support/dapClient';
import { waitFor } from '../../support/waitFor';

const MACHINE_GO_REAL = join(simulatorSourceDir, 'pkg', 'sentry', 'platform', 'kvm', 'machine.go');
// The UI sees the sources under a different root: substitutePath maps it to the binary's paths.
const LOCAL_ROOT = '/home/someone/checkout/bluepill-sim';
const MACHINE_GO_LOCAL = join(LOCAL_ROOT, 'pkg', 'sentry', 'platform', 'kvm', 'machine.go');
// A line of the vCPU loop (runVCPU) that runs once per round trip and calls a real (not inlined) function.
const CHECK_LINE =
  readFileSync(MACHINE_GO_REAL, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes('if err := CheckGuestCode(); err != nil')) + 1;
const CHECK_FN = 'bluepill.sim/pkg/sentry/platform/kvm.CheckGuestCode';

let sim: RunningSimulator;
let dc: DebugClient;
let output: () => string;

before(async () => {
  assert.ok(CHECK_LINE > 0, 'found the CheckGuestCode call in machine.go');
  sim = await startSimulator({ vcpus: 2 });
  await sim.waitForProgress(5, 20_000);
  dc = newDapClient();
  output = collectOutput(dc);
  await attach(dc, { processId: sim.pid, substitutePath: [{ from: LOCAL_ROOT, to: simulatorSourceDir }] });
  await dc.configurationDoneRequest();
});

after(async () => {
  await dc?.stop().catch(() => undefined);
  await sim?.stop();
});

async function stoppedAfter(action: () => Promise<unknown>): Promise<DebugProtocol.StoppedEvent> {
  const stopped = dc.waitForEvent('stopped', 30_000) as Promise<DebugProtocol.StoppedEvent>;
  await action();
  return stopped;
}

async function topFrame(threadId: number): Promise<DebugProtocol.StackFrame> {
  return (await dc.stackTraceRequest({ threadId, startFrame: 0, levels: 1 })).body.stackFrames[0];
}

async function evaluate(expression: string, frameId?: number, context = 'watch'): Promise<DebugProtocol.EvaluateResponse['body']> {
  return (await dc.evaluateRequest({ expression, frameId, context })).body;
}

async function clearAll(): Promise<void> {
  await dc.setBreakpointsRequest({ source: { path: MACHINE_GO_LOCAL }, breakpoints: [] });
  await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
  await dc.customRequest('setInstructionBreakpoints', { breakpoints: [] });
}

test('after attach the sandbox runs (stopOnAttach false) and the threads are its OS threads, named with function and goroutine', async () => {
  const before = (await sim.status()).roundTrips;
  await sim.waitForProgress(before + 3, 20_000);
  const threads = (await dc.threadsRequest()).body.threads;
  const ids = threads.map((t) => t.id);
  for (const tid of sim.vcpuTids) assert.ok(ids.includes(tid), `vCPU thread ${tid} listed`);
  assert.equal(threads[0].id, sim.pid, 'the main thread comes first');
  // A vCPU thread seen in vCPU-only code is labelled "vCPU [id] · tid T · function" from then on.
  for (const t of threads)
    assert.match(t.name, new RegExp(`^(${t.id} \\S+|vCPU( \\d+)? · tid ${t.id} · \\S+)`), `name "${t.name}" starts with the tid and a function`);
  for (const t of threads.filter((x) => x.name.startsWith('vCPU'))) assert.ok(sim.vcpuTids.includes(t.id), `only vCPU threads are labelled vCPU: ${t.name}`);
  assert.match(output(), /The sandbox keeps running/);
});

test('pause stops the target and names the thread; continue resumes it', async () => {
  const ev = await stoppedAfter(() => dc.pauseRequest({ threadId: sim.pid }));
  assert.equal(ev.body.reason, 'pause');
  assert.equal(typeof ev.body.threadId, 'number');
  assert.equal(ev.body.allThreadsStopped, true);
  assert.equal(await processStateLetter(sim.pid), 't', 'the sandbox is stopped by the tracer');
  const r = await dc.continueRequest({ threadId: ev.body.threadId! });
  assert.equal(r.success, true);
  const before = (await sim.status()).roundTrips;
  await sim.waitForProgress(before + 3, 20_000);
});

let bpThread = 0;

test('a function breakpoint stops a vCPU thread in the function; the stack pages and every frame has an instruction pointer', async () => {
  const res = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: CHECK_FN }] });
  assert.equal(res.body.breakpoints[0].verified, true, res.body.breakpoints[0].message);
  const ev = await stoppedAfter(async () => undefined);
  assert.equal(ev.body.reason, 'function breakpoint');
  bpThread = ev.body.threadId!;
  assert.ok(sim.vcpuTids.includes(bpThread), `a vCPU thread stopped (${bpThread})`);
  const name = (await dc.threadsRequest()).body.threads.find((t) => t.id === bpThread)?.name ?? '';
  assert.match(
    name,
    new RegExp(`^(${bpThread} \\S*CheckGuestCode \\[g \\d+\\]|vCPU( \\d+)? · tid ${bpThread} · kvm\\.CheckGuestCode)$`),
    `thread name ${name}`,
  );
  const all = (await dc.stackTraceRequest({ threadId: bpThread, startFrame: 0, levels: 20 })).body;
  assert.match(all.stackFrames[0].name, /CheckGuestCode$/);
  assert.match(all.stackFrames[1].name, /runVCPU$/);
  assert.equal(all.stackFrames[1].source?.path, MACHINE_GO_LOCAL, 'frame paths are mapped back through substitutePath');
  assert.equal(all.stackFrames[1].line, CHECK_LINE);
  for (const f of all.stackFrames) assert.match(f.instructionPointerReference ?? '', /^0x[0-9a-f]+$/);
  const page = (await dc.stackTraceRequest({ threadId: bpThread, startFrame: 1, levels: 2 })).body;
  assert.deepEqual(
    page.stackFrames.map((f) => f.name),
    all.stackFrames.slice(1, 3).map((f) => f.name),
  );
  assert.ok((page.totalFrames ?? 0) >= 3);
  await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
});

test('scopes: arguments, locals and live registers of the stopped thread', async () => {
  const frames = (await dc.stackTraceRequest({ threadId: bpThread, startFrame: 0, levels: 2 })).body.stackFrames;
  const scopes = (await dc.scopesRequest({ frameId: frames[1].id })).body.scopes;
  assert.deepEqual(
    scopes.map((s) => s.name.split(' ')[0]),
    ['Locals', 'Arguments', 'Registers'],
  );
  assert.equal(scopes[2].presentationHint, 'registers');
  const locals = (await dc.variablesRequest({ variablesReference: scopes[0].variablesReference })).body.variables;
  assert.ok(
    locals.some((v) => v.name === 'trip'),
    `locals: ${locals.map((v) => v.name).join(',')}`,
  );
  const args = (await dc.variablesRequest({ variablesReference: scopes[1].variablesReference })).body.variables;
  const c = locals.find((v) => v.name === 'c') ?? args.find((v) => v.name === 'c');
  assert.ok(c, 'the vCPU pointer c is visible');
  assert.ok(c.variablesReference > 0, 'c expands');
  const fields = (await dc.variablesRequest({ variablesReference: c.variablesReference })).body.variables;
  const pointee = fields[0];
  assert.ok(pointee.variablesReference > 0, 'the vCPU struct expands');
  const vcpu = (await dc.variablesRequest({ variablesReference: pointee.variablesReference })).body.variables;
  for (const f of ['self', 'id', 'tid', 'hopsWanted'])
    assert.ok(
      vcpu.some((v) => v.name === f),
      `field ${f}`,
    );
  assert.equal(Number(vcpu.find((v) => v.name === 'tid')!.value), bpThread, 'c.tid is the stopped thread');
  const top = (await dc.scopesRequest({ frameId: frames[0].id })).body.scopes;
  const regs = (await dc.variablesRequest({ variablesReference: top[2].variablesReference })).body.variables;
  const rip = regs.find((r) => r.name === 'Rip' || r.name === 'PC');
  assert.ok(rip, 'the PC register is listed');
  assert.equal(Number(rip.value.split(' ')[0]), Number(frames[0].instructionPointerReference), 'live PC equals the top frame');
  assert.match(rip.value, /^0x[0-9a-f]+ kvm\.CheckGuestCode(\+0x[0-9a-f]+)?$/, 'a code address is shown with its symbol');
  const unwound = (await dc.variablesRequest({ variablesReference: scopes[2].variablesReference })).body.variables;
  assert.ok(unwound.length > 0, 'frame 1 has unwound registers');
});

test('evaluate: expressions, hover, and casts of raw addresses', async () => {
  const frames = (await dc.stackTraceRequest({ threadId: bpThread, startFrame: 0, levels: 2 })).body.stackFrames;
  const id = frames[1].id;
  assert.equal(Number((await evaluate('c.tid', id)).result), bpThread);
  assert.equal(Number((await evaluate('c.tid', id, 'hover')).result), bpThread);
  const self = await evaluate('c.self', id);
  const addr = Number(self.result);
  assert.ok(addr > 0);
  // A uint64 that holds a PC (the landing the handler last wrote) evaluates in hex, as PCs show everywhere.
  assert.match((await evaluate('c.wantPC', id)).result, /^0x[0-9a-f]+$/);
  const cast = await evaluate(`*(*[2]uint64)(${addr})`, id, 'repl');
  assert.match(cast.result, new RegExp(`^\\[2\\]uint64 \\[${addr}, `), `the first word of the vCPU is its own address: ${cast.result}`);
  assert.ok(cast.variablesReference > 0);
  const err = await failureOf(dc.evaluateRequest({ expression: 'no_such_thing', frameId: id, context: 'watch' }));
  assert.match(err, /no_such_thing/);
});

test('setVariable changes a number; the new value reads back', async () => {
  const frames = (await dc.stackTraceRequest({ threadId: bpThread, startFrame: 0, levels: 2 })).body.stackFrames;
  const scopes = (await dc.scopesRequest({ frameId: frames[1].id })).body.scopes;
  const trip = Number((await evaluate('trip', frames[1].id)).result);
  const res = await dc.setVariableRequest({ variablesReference: scopes[0].variablesReference, name: 'trip', value: String(trip + 1000) });
  assert.equal(Number(res.body.value), trip + 1000);
  assert.equal(Number((await evaluate('trip', frames[1].id)).result), trip + 1000);
  // A pointer: set c to the value it has (anything else would break the vCPU loop).
  const argsRef = scopes[1].variablesReference;
  const before = (await dc.variablesRequest({ variablesReference: argsRef })).body.variables.find((v) => v.name === 'c')!;
  const set = await dc.setVariableRequest({ variablesReference: argsRef, name: 'c', value: `(*kvm.vCPU)(${before.memoryReference})` });
  assert.equal(set.body.value, before.value);
  assert.match(await failureOf(dc.setVariableRequest({ variablesReference: scopes[0].variablesReference, name: 'trip', value: '"text"' })), /Setting trip/);
});

test('step out (line) returns to runVCPU; next moves to the next line; step in enters CheckGuestCode', async () => {
  let ev = await stoppedAfter(() => dc.stepOutRequest({ threadId: bpThread }));
  assert.equal(ev.body.reason, 'step');
  assert.equal(ev.body.threadId, bpThread);
  let f = await topFrame(bpThread);
  assert.match(f.name, /runVCPU$/);
  assert.equal(f.line, CHECK_LINE);
  ev = await stoppedAfter(() => dc.nextRequest({ threadId: bpThread }));
  assert.equal(ev.body.threadId, bpThread);
  f = await topFrame(bpThread);
  assert.ok(f.line > CHECK_LINE, `next went on to a following line (${f.line})`);
  assert.match(f.name, /runVCPU$/);
  // Back to the CheckGuestCode line on the next trip of this thread.
  const bp = await dc.setBreakpointsRequest({ source: { path: MACHINE_GO_LOCAL }, breakpoints: [{ line: CHECK_LINE, condition: `c.tid == ${bpThread}` }] });
  assert.equal(bp.body.breakpoints[0].verified, true, bp.body.breakpoints[0].message);
  ev = await stoppedAfter(() => dc.continueRequest({ threadId: bpThread }));
  assert.equal(ev.body.reason, 'breakpoint');
  assert.equal(ev.body.threadId, bpThread, 'the condition picked this thread');
  await dc.setBreakpointsRequest({ source: { path: MACHINE_GO_LOCAL }, breakpoints: [] });
  ev = await stoppedAfter(() => dc.stepInRequest({ threadId: bpThread }));
  assert.equal(ev.body.threadId, bpThread);
  f = await topFrame(bpThread);
  assert.match(f.name, /CheckGuestCode$/, `step in entered ${f.name}`);
});

test('instruction steps: stepIn/next with granularity instruction move one instruction on that thread', async () => {
  const f0 = await topFrame(bpThread);
  const code = (await dc.disassembleRequest({ memoryReference: f0.instructionPointerReference!, instructionOffset: 0, instructionCount: 3 })).body!
    .instructions;
  let ev = await stoppedAfter(() => dc.stepInRequest({ threadId: bpThread, granularity: 'instruction' }));
  assert.equal(ev.body.threadId, bpThread);
  const f1 = await topFrame(bpThread);
  assert.equal(f1.instructionPointerReference, code[1].address, 'landed on the next instruction');
  const code1 = (await dc.disassembleRequest({ memoryReference: f1.instructionPointerReference!, instructionOffset: 0, instructionCount: 2 })).body!
    .instructions;
  ev = await stoppedAfter(() => dc.nextRequest({ threadId: bpThread, granularity: 'instruction' }));
  const f2 = await topFrame(bpThread);
  assert.equal(f2.instructionPointerReference, code1[1].address, `next (instruction) went to the next instruction after ${code1[0].instruction}`);
  assert.equal(ev.body.threadId, bpThread);
});

test("instruction breakpoint by address; readMemory there shows the original bytes, not Delve's trap", async () => {
  const frames = (await dc.stackTraceRequest({ threadId: bpThread, startFrame: 0, levels: 2 })).body.stackFrames;
  // The call site in runVCPU: runs on every trip of every vCPU.
  const insns = (await dc.disassembleRequest({ memoryReference: frames[1].instructionPointerReference!, instructionOffset: -1, instructionCount: 1 })).body!
    .instructions;
  const callAddr = insns[0].address;
  assert.match(insns[0].instruction, /CALL/, `the instruction before the return address is the call (${insns[0].instruction})`);
  const res = await dc.customRequest('setInstructionBreakpoints', { breakpoints: [{ instructionReference: callAddr }] });
  assert.equal(res.body.breakpoints[0].verified, true, res.body.breakpoints[0].message);
  const mem = await dc.customRequest('readMemory', { memoryReference: callAddr, count: 5 });
  assert.equal(
    Buffer.from(mem.body.data, 'base64')
      .toString('hex')
      .replace(/(..)(?=.)/g, '$1 '),
    insns[0].instructionBytes,
  );
  const ev = await stoppedAfter(() => dc.continueRequest({ threadId: bpThread }));
  assert.equal(ev.body.reason, 'instruction breakpoint');
  assert.equal((await topFrame(ev.body.threadId!)).instructionPointerReference, callAddr);
  bpThread = ev.body.threadId!;
  await dc.customRequest('setInstructionBreakpoints', { breakpoints: [] });
  // next (instruction) over the CALL lands on the return address, on the same thread.
  const over = await stoppedAfter(() => dc.nextRequest({ threadId: bpThread, granularity: 'instruction' }));
  assert.equal(over.body.threadId, bpThread);
  assert.equal((await topFrame(bpThread)).instructionPointerReference, frames[1].instructionPointerReference);
});

test('hit count: "== 3" stops on the third hit', async () => {
  await clearAll();
  const cond = `c.tid == ${bpThread}`;
  await dc.setBreakpointsRequest({ source: { path: MACHINE_GO_LOCAL }, breakpoints: [{ line: CHECK_LINE, condition: cond }] });
  await stoppedAfter(() => dc.continueRequest({ threadId: bpThread }));
  const f = await topFrame(bpThread);
  const t0 = Number((await evaluate('trip', f.id)).result);
  await dc.setBreakpointsRequest({ source: { path: MACHINE_GO_LOCAL }, breakpoints: [{ line: CHECK_LINE, condition: cond, hitCondition: '== 3' }] });
  const ev = await stoppedAfter(() => dc.continueRequest({ threadId: bpThread }));
  assert.equal(ev.body.threadId, bpThread);
  const t3 = Number((await evaluate('trip', (await topFrame(bpThread)).id)).result);
  assert.equal(t3, t0 + 3);
});

test('a logpoint prints its message with evaluated {expressions} and does not stop', async () => {
  await dc.setBreakpointsRequest({
    source: { path: MACHINE_GO_LOCAL },
    breakpoints: [{ line: CHECK_LINE, condition: `c.tid == ${bpThread}`, logMessage: 'trip={trip} tid={c.tid}' }],
  });
  let stops = 0;
  const onStop = (): void => {
    stops++;
  };
  dc.on('stopped', onStop);
  await dc.continueRequest({ threadId: bpThread });
  const logLines = (): number => (output().match(new RegExp(`trip=\\d+ tid=${bpThread}`, 'g')) ?? []).length;
  await waitFor('three log lines', () => logLines() >= 3, { timeoutMs: 20_000, intervalMs: 100 }).catch(() => undefined);
  assert.ok((output().match(new RegExp(`trip=\\d+ tid=${bpThread}`, 'g')) ?? []).length >= 3, 'three log lines');
  assert.equal(stops, 0, 'no stopped event');
  dc.removeListener('stopped', onStop);
  // Breakpoints change while running: the adapter halts, applies and resumes without a stop.
  await dc.setBreakpointsRequest({ source: { path: MACHINE_GO_LOCAL }, breakpoints: [] });
  const before = (await sim.status()).roundTrips;
  await sim.waitForProgress(before + 3, 20_000);
  assert.equal(stops, 0);
  const ev = await stoppedAfter(() => dc.pauseRequest({ threadId: bpThread }));
  assert.equal(ev.body.reason, 'pause');
});

test('disassemble: Go syntax, negative offsets, exactly instructionCount entries', async () => {
  const f = await topFrame(bpThread);
  const base = f.instructionPointerReference!;
  const res = (await dc.disassembleRequest({ memoryReference: base, instructionOffset: -5, instructionCount: 10 })).body!.instructions;
  assert.equal(res.length, 10);
  assert.equal(res[5].address, base, 'index 0 is the instruction at the reference');
  for (let i = 1; i < res.length; i++) assert.ok(Number(res[i].address) > Number(res[i - 1].address), 'addresses increase');
  assert.ok(
    res.some((i) => /^[A-Z]+/.test(i.instruction)),
    'Go assembler mnemonics',
  );
  const far = (await dc.disassembleRequest({ memoryReference: '0x10', instructionOffset: 0, instructionCount: 4 })).body!.instructions;
  assert.equal(far.length, 4);
  assert.equal(far[0].presentationHint, 'invalid', 'unmapped memory gives placeholders');
});

test('readMemory reads raw bytes; unmapped memory is reported unreadable', async () => {
  const f = await topFrame(bpThread);
  const mem = await dc.customRequest('readMemory', { memoryReference: f.instructionPointerReference, count: 32 });
  assert.equal(Buffer.from(mem.body.data, 'base64').length, 32);
  const none = await dc.customRequest('readMemory', { memoryReference: '0x10', count: 8 });
  assert.equal(none.body.unreadableBytes, 8);
});

test('Debug Console commands: -help, -threads, -bt, -regs, -x, -dis', async () => {
  const run = async (cmd: string): Promise<string> => (await dc.evaluateRequest({ expression: cmd, context: 'repl' })).body.result;
  assert.match(await run('-help'), /-threads/);
  const threads = await run('-threads');
  for (const tid of sim.vcpuTids) assert.match(threads, new RegExp(`\\b${tid}\\b`));
  const bt = await run(`-bt 3 ${bpThread}`);
  assert.ok(bt.split('\n').length >= 2 && bt.split('\n').length <= 4, bt);
  assert.match(await run(`-regs ${bpThread}`), /^(Rip|PC|X0)\s/m);
  const f = await topFrame(bpThread);
  assert.match(await run(`-x ${f.instructionPointerReference} 32`), /^[0-9a-f]{12} {2}([0-9a-f]{2} ){15}[0-9a-f]{2}/m);
  assert.ok((await run(`-dis ${f.instructionPointerReference} 4`)).split('\n').length === 4);
  assert.match(await failureOf(dc.evaluateRequest({ expression: '-nope', context: 'repl' })), /unknown command/);
});

test('the bluepill signal handler: a breakpoint at its entry stops a vCPU thread; instruction steps stay on that thread', async () => {
  await clearAll();
  const res = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'bluepill.sim/pkg/sentry/platform/kvm.sighandler' }] });
  assert.equal(res.body.breakpoints[0].verified, true, res.body.breakpoints[0].message);
  const ev = await stoppedAfter(() => dc.continueRequest({ threadId: bpThread }));
  const tid = ev.body.threadId!;
  assert.ok(sim.vcpuTids.includes(tid), `a vCPU thread is in the handler (${tid})`);
  let f = await topFrame(tid);
  assert.match(f.name, /sighandler$/);
  await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
  for (let i = 0; i < 3; i++) {
    const code = (await dc.disassembleRequest({ memoryReference: f.instructionPointerReference!, instructionOffset: 0, instructionCount: 2 })).body!
      .instructions;
    const step = await stoppedAfter(() => dc.stepInRequest({ threadId: tid, granularity: 'instruction' }));
    assert.equal(step.body.threadId, tid);
    const next = await topFrame(tid);
    if (!/^(CALL|JMP)/.test(code[0].instruction)) assert.equal(next.instructionPointerReference, code[1].address, `after ${code[0].instruction}`);
    f = next;
  }
  const scopes = (await dc.scopesRequest({ frameId: f.id })).body.scopes;
  const regs = (await dc.variablesRequest({ variablesReference: scopes[2].variablesReference })).body.variables;
  assert.ok(
    regs.some((r) => r.name === 'Rdx' || r.name === 'X2'),
    'the ucontext register is shown',
  );
  // -si N: several instruction steps as one action (the engine seam), one stop with a description.
  const code = (await dc.disassembleRequest({ memoryReference: f.instructionPointerReference!, instructionOffset: 0, instructionCount: 3 })).body!.instructions;
  const si = await stoppedAfter(() => dc.evaluateRequest({ expression: `-si 2 ${tid}`, context: 'repl' }));
  assert.equal(si.body.threadId, tid);
  assert.equal(si.body.description, `2 instruction step(s) on thread ${tid}`);
  if (!code.slice(0, 2).some((i) => /^(CALL|JMP|J[A-Z]+|RET)/.test(i.instruction)))
    assert.equal((await topFrame(tid)).instructionPointerReference, code[2].address);
  await dc.continueRequest({ threadId: tid });
  const before = (await sim.status()).roundTrips;
  const after = await sim.waitForProgress(before + 3, 20_000);
  assert.equal(after.checksOK, true);
});

test('next (instruction) on the CALL in kvm.sighandler runs the call and stops right after it, never inside', async () => {
  await clearAll();
  const res = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'bluepill.sim/pkg/sentry/platform/kvm.sighandler' }] });
  assert.equal(res.body.breakpoints[0].verified, true, res.body.breakpoints[0].message);
  const ev = await stoppedAfter(() => dc.continueRequest({ threadId: bpThread }));
  const tid = ev.body.threadId!;
  await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
  // Instruction steps up to the CALL: each step's read of the code ends at a different place, so
  // one of them cuts the 5-byte CALL (Delve decodes a cut CALL as a 1-byte prefix).
  let call: DebugProtocol.DisassembledInstruction | undefined;
  for (let i = 0; i < 12 && !call; i++) {
    const f = await topFrame(tid);
    const insn = (await dc.disassembleRequest({ memoryReference: f.instructionPointerReference!, instructionOffset: 0, instructionCount: 1 })).body!
      .instructions[0];
    if (/^CALL /.test(insn.instruction)) call = insn;
    else await stoppedAfter(() => dc.nextRequest({ threadId: tid, granularity: 'instruction' }));
  }
  assert.ok(call, 'reached the CALL in sighandler');
  const step = await stoppedAfter(() => dc.nextRequest({ threadId: tid, granularity: 'instruction' }));
  assert.equal(step.body.threadId, tid);
  assert.equal(
    Number((await topFrame(tid)).instructionPointerReference),
    Number(call.address) + 5,
    `stepped over ${call.instruction}: ${step.body.description}`,
  );
  await dc.continueRequest({ threadId: tid });
});

test('disconnect detaches: the simulator keeps running, is not stopped and its checks still pass', async () => {
  await dc.disconnectRequest({});
  const before = (await sim.status()).roundTrips;
  const after = await sim.waitForProgress(before + 10, 20_000);
  assert.equal(after.checksOK, true, 'no breakpoint left behind');
  const state = await processStateLetter(sim.pid);
  assert.ok(state && state !== 'T' && state !== 't', `state ${state}`);
  assert.ok(sim.alive());
});
