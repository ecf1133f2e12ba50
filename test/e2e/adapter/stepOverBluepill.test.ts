// "Step over bluepill" through DAP, as the toolbar button sends it: the custom request, the
// stopped event's text, the hops event the views show, and the location event that decides
// whether the button is shown. Real Delve on the amd64 simulator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { textSymbolAddress, type RunningSimulator } from '../../support/simulator';
import { simulatorSession } from '../../support/dapClient';
import type { HopsEventBody, LocationEventBody, StepOverResponseBody } from '../../../src/protocol/bluepillMessages';

let sim: RunningSimulator;
let dc: DebugClient;

before(async () => {
  ({ sim, dc } = await simulatorSession({ vcpus: 2, hops: 'two' }, 5, 20_000));
});

after(async () => {
  await dc?.stop().catch(() => undefined);
  await sim?.stop();
});

test('from the handler entry, one request follows the two-hop chain to the guest exit and records it', async () => {
  const handler = textSymbolAddress(sim.binary, 'bluepill.sim/pkg/sentry/platform/kvm.sighandler');
  const atHandler = dc.waitForEvent('stopped', 30_000) as Promise<DebugProtocol.StoppedEvent>;
  const handlerLocation = dc.waitForEvent('bluepill/location', 30_000);
  await dc.customRequest('setInstructionBreakpoints', { breakpoints: [{ instructionReference: `0x${handler.toString(16)}` }] });
  const stop = await atHandler;
  const threadId = stop.body.threadId!;
  await dc.customRequest('setInstructionBreakpoints', { breakpoints: [] });
  assert.ok(sim.vcpuTids.includes(threadId), 'a vCPU thread stopped in the handler');
  assert.equal(((await handlerLocation).body as LocationEventBody).kind, 'handler', 'the toolbar button applies here');

  // Inside the handler the call stack goes on through the signal frame to the interrupted code.
  const stack = (await dc.stackTraceRequest({ threadId, startFrame: 0, levels: 20 })).body.stackFrames;
  const names = stack.map((f) => f.name);
  const label = names.indexOf('<signal handler called>');
  assert.ok(label > 0, `a <signal handler called> frame below the handler: ${names.join(' | ')}`);
  assert.match(names[0], /kvm\.sighandler/);
  assert.equal(stack[label].presentationHint, 'label');
  assert.match(names[label + 1], /kvm\.(bluepill|kernelExitToEl0)/, 'then the interrupted frame, from the ucontext');
  assert.ok(
    names.slice(label + 2).some((n) => /kvm\.roundTrip|kvm\.runVCPU/.test(n)),
    `then its callers: ${names.join(' | ')}`,
  );
  const interruptedScopes = (await dc.scopesRequest({ frameId: stack[label + 1].id })).body.scopes;
  // Delve has no scope for frames it could not walk; the interrupted one shows the ucontext's registers.
  assert.deepEqual(
    interruptedScopes.map((s) => s.presentationHint),
    ['registers'],
    'only the ucontext registers',
  );
  const interruptedRegs = (await dc.variablesRequest({ variablesReference: interruptedScopes[0].variablesReference })).body.variables;
  const pcName = interruptedRegs.some((r) => r.name === 'Rip') ? 'Rip' : 'PC';
  assert.equal(
    Number(interruptedRegs.find((r) => r.name === pcName)?.value.split(' ')[0]),
    Number(stack[label + 1].instructionPointerReference),
    "its PC is the frame's",
  );

  const hopsEvent = dc.waitForEvent('bluepill/hops', 60_000);
  const location = dc.waitForEvent('bluepill/location', 60_000);
  const stopped = dc.waitForEvent('stopped', 60_000) as Promise<DebugProtocol.StoppedEvent>;
  const res = await dc.customRequest('bluepill/stepOver', { threadId });
  const body = res.body as StepOverResponseBody;
  assert.equal(body.stopReason, 'landed');
  assert.ok(body.hops.length >= 1, 'at least one hop');
  const last = body.hops[body.hops.length - 1];
  assert.equal(last.landing.pc, last.guest.pc, 'landed where the handler wrote the PC');
  assert.match(last.landing.text, /guestExitSyscall/);
  const first = body.hops[0];
  assert.ok(first.host, 'the host context was read at the handler entry');
  assert.equal(first.fault?.pc, first.host.pc, 'the host context PC is the faulting PC');
  assert.match(first.fault!.text, /kvm\.(bluepill|kernelExitToEl0)/);
  assert.ok(
    first.guest.registers.some((r) => r.changed),
    'the guest exit changed registers',
  );
  assert.match(body.markdown, /trampoline: rt_sigreturn/);

  const ev = await stopped;
  assert.equal(ev.body.threadId, threadId);
  assert.match(ev.body.description ?? '', /^bluepill: 0x[0-9a-f]+ .* → 0x[0-9a-f]+ kvm\.guestExitSyscall\+0x[0-9a-f]+ \(\d hops?\)$/);
  const hops = (await hopsEvent).body as HopsEventBody;
  assert.deepEqual(
    hops.latest,
    body.hops.map((h) => h.index),
  );
  const frame = (await dc.stackTraceRequest({ threadId, startFrame: 0, levels: 1 })).body.stackFrames[0];
  assert.equal(BigInt(frame.instructionPointerReference!), BigInt(last.landing.pc), 'the call stack shows the landing PC');
  assert.equal(((await location).body as LocationEventBody).kind, 'other', 'after landing the button no longer applies');
});

test('the simulator runs on afterwards and its guest-code check passes', async () => {
  const before = (await sim.status()).roundTrips;
  await dc.continueRequest({ threadId: sim.vcpuTids[0] });
  const after = await sim.waitForProgress(before + 5, 30_000);
  assert.equal(after.checksOK, true);
});
