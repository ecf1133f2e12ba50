// DAP progress and cancel, as VS Code uses them: a client that says supportsProgressReporting gets
// progressStart (cancellable) / progressUpdate / progressEnd for a long wait, and its `cancel` of
// that progress ends the wait exactly like Pause. The wait: an instruction step over the
// simulator's seccomp-trapped mmap, whose SIGSYS handler sleeps 4 s before the syscall returns.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { collectOutput, newDapClient } from '../../support/dapClient';
import { hex, nextStop, pcOf, stopAt } from '../../support/dapSession';
import { hazardCounter, startSimulator, type RunningSimulator } from '../../support/simulator';
import { waitFor } from '../../support/waitFor';
import { ProgressEvent } from '../../../src/protocol/bluepillMessages';

let sim: RunningSimulator;
let dc: DebugClient;
let output: () => string;
const sym: Record<string, number> = {};
const events: DebugProtocol.Event[] = [];

before(async () => {
  sim = await startSimulator({ vcpus: 1, hazards: ['seccomp'], extraArgs: ['--sim-trap-delay=4s'] });
  const st = await sim.waitForProgress(2, 60_000);
  for (const [k, v] of Object.entries((st.symbols ?? {}) as Record<string, string>)) sym[k] = Number(v);
  dc = newDapClient();
  output = collectOutput(dc);
  await dc.start();
  const init = await dc.initializeRequest({
    adapterID: 'bluepill',
    linesStartAt1: true,
    columnsStartAt1: true,
    pathFormat: 'path',
    supportsProgressReporting: true,
  });
  assert.equal(init.body?.supportsCancelRequest, true, 'the adapter takes cancel requests');
  for (const name of ['progressStart', 'progressUpdate', 'progressEnd', ProgressEvent.event]) dc.on(name, (e: DebugProtocol.Event) => events.push(e));
  const initialized = new Promise((resolve) => dc.once('initialized', resolve));
  await dc.attachRequest({ type: 'bluepill', request: 'attach', name: 'progress', processId: sim.pid } as DebugProtocol.AttachRequestArguments);
  await initialized;
  await dc.configurationDoneRequest();
});

after(async () => {
  await dc?.disconnectRequest({}).catch(() => undefined);
  await dc?.stop();
  await sim?.stop();
});

test('a long wait shows as DAP progress (cancellable, no custom event), and Cancel ends it like Pause', async (t) => {
  const tid = sim.hazardTids.seccomp;
  const syscall = sym['kvm.hazardSeccompMmap.syscall'];
  assert.ok(tid && syscall, 'the seccomp hazard thread and its syscall instruction');
  // Parked on the syscall instruction: a breakpoint at the function, then plain instruction steps.
  let at = await stopAt(dc, sym['kvm.hazardSeccompMmap']);
  while (at !== tid) {
    await dc.continueRequest({ threadId: at });
    at = await stopAt(dc, sym['kvm.hazardSeccompMmap']);
  }
  for (let i = 0; i < 64 && (await pcOf(dc, tid)) !== syscall; i++) {
    const stopped = nextStop(dc);
    await dc.stepInRequest({ threadId: tid, granularity: 'instruction' });
    await stopped;
  }
  assert.equal(await pcOf(dc, tid), syscall, `thread ${tid} is on the trapped syscall at ${hex(syscall)}`);

  events.length = 0;
  const started = dc.waitForEvent('progressStart', 30_000) as Promise<DebugProtocol.ProgressStartEvent>;
  const stopped = nextStop(dc);
  await dc.stepInRequest({ threadId: tid, granularity: 'instruction' });
  const start = await started;
  t.diagnostic(`progressStart: ${JSON.stringify(start.body)}`);
  assert.equal(start.body.cancellable, true);
  assert.match(start.body.message ?? '', /waiting for thread \d+ to return from syscall mmap/);
  const ended = dc.waitForEvent('progressEnd', 30_000) as Promise<DebugProtocol.ProgressEndEvent>;
  await dc.customRequest('cancel', { progressId: start.body.progressId });
  const ev = await stopped;
  assert.equal(ev.body.reason, 'pause');
  assert.equal(ev.body.threadId, tid, 'the stop names the stepped thread');
  assert.match(ev.body.description ?? '', /^cancelled after [0-9.]+ s waiting for thread \d+ to return from syscall mmap/);
  assert.equal((await ended).body.progressId, start.body.progressId, 'the progress ends');
  assert.equal(events.filter((e) => e.event === ProgressEvent.event).length, 0, 'no custom progress event for a client that shows DAP progress');
  assert.doesNotMatch(output(), /Cancel:/);

  // The session goes on: the trapped mmap completes after continue, and the thread traps again.
  const calls = hazardCounter(await sim.status(), 'seccomp', 'calls');
  await dc.continueRequest({ threadId: tid });
  await waitFor('the seccomp thread to trap again', async () => hazardCounter(await sim.status(), 'seccomp', 'calls') > calls, { timeoutMs: 60_000 });
});
