// Attach over SSH through the test's own sshd on 127.0.0.1: as root without sudo, and as a
// non-root user with `sudo -n`, so Delve runs as root and the bridge (running as root too) is
// what passes Delve's same-user check. Then the link drops and Delve dies mid-session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startSimulator, type RunningSimulator } from '../../support/simulator';
import { HOSTS, SUDO_USER, sshdUnavailable, startSshd, type TestSshd } from '../../support/sshd';
import { waitFor } from '../../support/waitFor';
import { processStateLetter, isAlive } from '../../../src/transport/processState';
import { attach, collectOutput, newDapClient } from '../../support/dapClient';

const skip = sshdUnavailable();
let sshd: TestSshd;
let sim: RunningSimulator;

before(async () => {
  if (skip) return;
  sshd = await startSshd();
  sim = await startSimulator({ vcpus: 2 });
  await sim.waitForProgress(5, 20_000);
});

after(async () => {
  await sim?.stop();
  await sshd?.stop();
});

/** Delve's pid and the control socket, from the adapter's log. */
function fromLog(out: string): { dlvPid: number; controlPath: string | undefined } {
  const dlv = /Delve \S+ \(pid (\d+)\)/.exec(out);
  assert.ok(dlv, `the adapter logged Delve's pid:\n${out}`);
  return { dlvPid: Number(dlv[1]), controlPath: /control socket (\S+)\)/.exec(out)?.[1] };
}

function uidOf(pid: number): number {
  const status = execFileSync('cat', [`/proc/${pid}/status`]).toString();
  return Number(/^Uid:\s+(\d+)/m.exec(status)![1]);
}

async function gone(pid: number, ms = 20_000): Promise<boolean> {
  await waitFor(`process ${pid} to exit`, () => !isAlive(pid), { timeoutMs: ms, intervalMs: 100 }).catch(() => undefined);
  return !isAlive(pid);
}

async function assertSandboxRuns(): Promise<void> {
  const before = (await sim.status()).roundTrips;
  const after = await sim.waitForProgress(before + 5, 20_000);
  assert.equal(after.checksOK, true);
  const state = await processStateLetter(sim.pid);
  assert.ok(state && state !== 'T' && state !== 't', `sandbox state ${state}`);
}

async function session(host: string, extra: Record<string, unknown>): Promise<{ dc: DebugClient; out: () => string }> {
  const dc = newDapClient();
  const out = collectOutput(dc);
  await attach(dc, { ssh: host, sshConfigFile: sshd.clientConfig, ...extra });
  return { dc, out };
}

async function exercise(dc: DebugClient): Promise<void> {
  await dc.configurationDoneRequest();
  const threads = (await dc.threadsRequest()).body.threads.map((t) => t.id);
  for (const tid of sim.vcpuTids) assert.ok(threads.includes(tid));
  const stopped = dc.waitForEvent('stopped', 30_000) as Promise<DebugProtocol.StoppedEvent>;
  await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'bluepill.sim/pkg/sentry/platform/kvm.CheckGuestCode' }] });
  const ev = await stopped;
  assert.equal(ev.body.reason, 'function breakpoint');
  const tid = ev.body.threadId!;
  assert.ok(sim.vcpuTids.includes(tid));
  const frames = (await dc.stackTraceRequest({ threadId: tid, startFrame: 0, levels: 5 })).body.stackFrames;
  assert.match(frames[0].name, /CheckGuestCode$/);
  const scopes = (await dc.scopesRequest({ frameId: frames[0].id })).body.scopes;
  const regs = (await dc.variablesRequest({ variablesReference: scopes[2].variablesReference })).body.variables;
  assert.ok(regs.length > 10, 'registers over the bridge');
  const mem = await dc.customRequest('readMemory', { memoryReference: frames[0].instructionPointerReference, count: 64 });
  assert.equal(Buffer.from(mem.body.data, 'base64').length, 64);
  await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
}

test('attach over SSH as root without sudo: threads, breakpoint, stack, registers, memory; detach leaves nothing behind', { skip }, async () => {
  const { dc, out } = await session(HOSTS.root, { processId: sim.pid, sudo: false });
  try {
    const { dlvPid } = fromLog(out());
    assert.equal(uidOf(dlvPid), 0);
    await exercise(dc);
    await dc.disconnectRequest({});
    assert.ok(await gone(dlvPid), 'the Delve we started on the target is gone');
    await assertSandboxRuns();
  } finally {
    await dc.stop();
  }
});

test(`attach over SSH as ${SUDO_USER} with sudo -n: Delve runs as root, the bridge passes its same-user check`, { skip }, async () => {
  const { dc, out } = await session(HOSTS.user, { sandbox: sim.containerId });
  try {
    const { dlvPid } = fromLog(out());
    assert.equal(uidOf(dlvPid), 0, 'Delve runs as root');
    assert.match(out(), new RegExp(`container ${sim.containerId}`));
    await exercise(dc);
    await dc.disconnectRequest({});
    assert.ok(await gone(dlvPid));
    await assertSandboxRuns();
  } finally {
    await dc.stop();
  }
});

test('stopOnAttach: the first stop is reported as "entry"', { skip }, async () => {
  const { dc } = await session(HOSTS.root, { processId: sim.pid, sudo: false, stopOnAttach: true });
  try {
    const stopped = dc.waitForEvent('stopped', 30_000) as Promise<DebugProtocol.StoppedEvent>;
    await dc.configurationDoneRequest();
    const ev = await stopped;
    assert.equal(ev.body.reason, 'entry');
    await dc.disconnectRequest({});
    await assertSandboxRuns();
  } finally {
    await dc.stop();
  }
});

test('the SSH link drops mid-session (master killed): the session ends with a message, Delve leaves the target, the sandbox runs', { skip }, async () => {
  const { dc, out } = await session(HOSTS.user, { processId: sim.pid });
  try {
    await dc.configurationDoneRequest();
    const { dlvPid, controlPath } = fromLog(out());
    assert.ok(controlPath);
    const check = spawnSync('ssh', ['-F', sshd.clientConfig, '-o', `ControlPath=${controlPath}`, '-O', 'check', '--', HOSTS.user], { encoding: 'utf8' });
    const master = Number(/pid=(\d+)/.exec(check.stderr)?.[1]);
    assert.ok(master > 0, `the control master runs: ${check.stderr}`);
    const terminated = dc.waitForEvent('terminated', 60_000);
    process.kill(master, 'SIGKILL');
    await terminated;
    assert.match(out(), /The SSH connection to bluepill-user dropped/);
    assert.ok(await gone(dlvPid, 30_000), 'Delve on the target exited when its SSH channel closed');
    await assertSandboxRuns();
  } finally {
    await dc.stop();
  }
});

test('Delve is killed mid-session: the session ends with a message saying so; the sandbox runs', { skip }, async () => {
  const { dc, out } = await session(HOSTS.root, { processId: sim.pid, sudo: false });
  try {
    await dc.configurationDoneRequest();
    const { dlvPid } = fromLog(out());
    const terminated = dc.waitForEvent('terminated', 60_000);
    process.kill(dlvPid, 'SIGKILL');
    await terminated;
    assert.match(out(), /Delve on bluepill-root exited \(status 137/);
    await assertSandboxRuns();
  } finally {
    await dc.stop();
  }
});
