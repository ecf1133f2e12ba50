// Every failure a user will hit, provoked for real and checked for a message that says what
// happened and what to do.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type RunningSimulator } from '../../support/simulator';
import { HOSTS, sshdUnavailable, startSshd, type TestSshd } from '../../support/sshd';
import { startLocalDelve } from '../../../src/target/localDelve';
import { processStateLetter } from '../../../src/transport/processState';
import { attachFailure } from '../../support/dapClient';

const noSshd = sshdUnavailable();
let sshd: TestSshd | undefined;
let sim: RunningSimulator;

before(async () => {
  if (!noSshd) sshd = await startSshd();
  sim = await startSimulator({ vcpus: 1 });
  await sim.waitForProgress(3, 20_000);
});

after(async () => {
  await sim?.stop();
  await sshd?.stop();
});

function viaSsh(host: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ssh: host, sshConfigFile: sshd!.clientConfig, processId: sim.pid, ...extra };
}

test('unknown host', { skip: noSshd }, async () => {
  const msg = await attachFailure(viaSsh('no-such-host.invalid'));
  assert.match(msg, /Cannot find the host "no-such-host\.invalid"/);
  assert.match(msg, /Check "ssh"/);
});

test('failed authentication', { skip: noSshd }, async () => {
  const msg = await attachFailure(viaSsh(HOSTS.wrongUserKey));
  assert.match(msg, /SSH authentication to bluepill-nokey failed \(.*Permission denied/);
  assert.match(msg, /ssh-copy-id/);
});

test('changed host key (a different key in known_hosts)', { skip: noSshd }, async () => {
  const msg = await attachFailure(viaSsh(HOSTS.changedHostKey));
  assert.match(msg, /does not match the one in known_hosts \(REMOTE HOST IDENTIFICATION HAS CHANGED\)/);
  assert.match(msg, /ssh-keygen -R/);
});

test('unknown host key (empty known_hosts, BatchMode)', { skip: noSshd }, async () => {
  const msg = await attachFailure(viaSsh(HOSTS.unknownHostKey));
  assert.match(msg, /host key is not in known_hosts/);
  assert.match(msg, /Connect once with "ssh bluepill-newhost"/);
});

test('no dlv on the target', { skip: noSshd }, async () => {
  const msg = await attachFailure(viaSsh(HOSTS.root, { sudo: false, dlvPath: '/nonexistent/dlv' }));
  assert.match(msg, /Delve \("\/nonexistent\/dlv"\) was not found on bluepill-root/);
  assert.match(msg, /set "dlvPath"/);
  const withSudo = await attachFailure(viaSsh(HOSTS.user, { dlvPath: '/nonexistent/dlv' }));
  assert.match(withSudo, /was not found on bluepill-user/);
});

test('no dlv on this machine', async () => {
  const msg = await attachFailure({ processId: sim.pid, dlvPath: '/nonexistent/dlv' });
  assert.match(msg, /Delve \("\/nonexistent\/dlv"\) was not found on this machine/);
});

test('sudo wants a password', { skip: noSshd }, async () => {
  const msg = await attachFailure(viaSsh(HOSTS.passwordSudo));
  assert.match(msg, /sudo on bluepill-pw asks for a password/);
  assert.match(msg, /NOPASSWD/);
});

test('no such sandbox, and several sandboxes without a choice', async () => {
  const none = await attachFailure({ sandbox: 'no-such-container-4711' });
  assert.match(none, /"sandbox": no sandbox with container id "no-such-container-4711" on this machine/);
  const second = await startSimulator({ vcpus: 1 });
  try {
    const several = await attachFailure({});
    assert.match(several, /sandboxes run on this machine; set "processId" or "sandbox"/);
    assert.match(several, new RegExp(`pid ${sim.pid}, container ${sim.containerId}, platform kvm`));
    assert.match(several, new RegExp(`pid ${second.pid}, container ${second.containerId}`));
  } finally {
    await second.stop();
  }
});

test('no sandbox over SSH names the host', { skip: noSshd }, async () => {
  const msg = await attachFailure({ ssh: HOSTS.root, sshConfigFile: sshd!.clientConfig, sandbox: 'no-such-container-4711' });
  assert.match(msg, /no sandbox with container id "no-such-container-4711" on bluepill-root/);
});

test('attach refused: another debugger already traces the sandbox', async () => {
  const other = await startLocalDelve({ pid: sim.pid });
  try {
    const msg = await attachFailure({ processId: sim.pid });
    // Told before Delve starts, naming the tracer (Delve itself would only say "operation not permitted").
    assert.match(msg, new RegExp(`Another debugger already traces process ${sim.pid} on this machine: pid \\d+ \\(dlv\\)`));
  } finally {
    await other.stop();
  }
  const before = (await sim.status()).roundTrips;
  await sim.waitForProgress(before + 3, 20_000);
  const state = await processStateLetter(sim.pid);
  assert.ok(state !== 'T' && state !== 't');
});

test('an invalid launch configuration names the field', async () => {
  const msg = await attachFailure({ processId: '${command:bluepill.pickSandbox}' });
  assert.match(msg, /^Invalid launch configuration: "processId"/);
  assert.match(await attachFailure({ dlvFlags: ['--listen=0.0.0.0:4040'] }), /"dlvFlags" may not contain --listen/);
});
