// Local attach with "sudo": true: Delve runs under `sudo -n` here, and the adapter reaches it
// through the same bridge as over SSH (bash /dev/tcp run under sudo), not a direct socket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startSimulator, type RunningSimulator } from '../../support/simulator';
import { isAlive, processStateLetter } from '../../../src/transport/processState';
import { attach, collectOutput, newDapClient } from '../../support/dapClient';
import { waitFor } from '../../support/waitFor';

const skip = !existsSync('/usr/bin/sudo')
  ? 'sudo is not installed (apt install sudo)'
  : process.getuid?.() !== 0
    ? 'needs root for passwordless sudo -n'
    : undefined;
let sim: RunningSimulator;

before(async () => {
  if (!skip) sim = await startSimulator({ vcpus: 1 });
});

after(async () => {
  await sim?.stop();
});

test('attach with sudo on this machine, pause, stack, detach', { skip }, async () => {
  const dc = newDapClient();
  const out = collectOutput(dc);
  try {
    await attach(dc, { processId: sim.pid, sudo: true });
    await dc.configurationDoneRequest();
    const dlvPid = Number(/Delve \S+ \(pid (\d+)\)/.exec(out())![1]);
    const stopped = dc.waitForEvent('stopped', 30_000);
    await dc.pauseRequest({ threadId: sim.pid });
    await stopped;
    const frames = (await dc.stackTraceRequest({ threadId: sim.vcpuTids[0], startFrame: 0, levels: 5 })).body.stackFrames;
    assert.ok(frames.length > 0);
    await dc.disconnectRequest({});
    await waitFor('Delve to exit', () => !isAlive(dlvPid), { timeoutMs: 10_000, intervalMs: 100 }).catch(() => undefined);
    assert.equal(isAlive(dlvPid), false, 'Delve is gone');
    const before = (await sim.status()).roundTrips;
    await sim.waitForProgress(before + 3, 20_000);
    const state = await processStateLetter(sim.pid);
    assert.ok(state !== 'T' && state !== 't');
  } finally {
    await dc.stop();
  }
});
