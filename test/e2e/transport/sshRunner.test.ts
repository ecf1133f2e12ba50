// The SSH runner against the test sshd: argv arrives literally on the other side (every word
// quoted), the remote sandbox listing finds the simulator, and closing ends the control master.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type RunningSimulator } from '../../support/simulator';
import { HOSTS, sshdUnavailable, startSshd, type TestSshd } from '../../support/sshd';
import { waitFor } from '../../support/waitFor';
import { SshRunner } from '../../../src/transport/sshTransport';
import { listSandboxes } from '../../../src/transport/sandboxListing';
import { isAlive } from '../../../src/transport/processState';

const skip = sshdUnavailable();
let sshd: TestSshd;
let sim: RunningSimulator;
let canary: string;

before(async () => {
  if (skip) return;
  sshd = await startSshd();
  sim = await startSimulator({ vcpus: 1 });
  canary = mkdtempSync(join(tmpdir(), 'bluepill-canary-'));
  chmodSync(canary, 0o777);
});

after(async () => {
  await sim?.stop();
  await sshd?.stop();
  if (canary) rmSync(canary, { recursive: true, force: true });
});

test('every argv word reaches the remote program literally, for root and through sudo -n', { skip }, async () => {
  const words = [
    `$(touch ${canary}/a)`,
    `\`touch ${canary}/b\``,
    `; touch ${canary}/c`,
    `x\ntouch ${canary}/d`,
    `'"' ; touch ${canary}/e`,
    '',
    ' spaced  out ',
    '*',
    '-oProxyCommand=x',
  ];
  for (const [host, prefix] of [
    [HOSTS.root, []],
    [HOSTS.user, ['sudo', '-n', '--']],
  ] as const) {
    const runner = await SshRunner.open({ destination: host, configFile: sshd.clientConfig });
    try {
      const r = await runner.run([...prefix, 'printf', '%s\\0', ...words]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.split('\0').slice(0, -1), words);
      const who = await runner.run([...prefix, 'id', '-u']);
      assert.equal(who.stdout.trim(), '0');
    } finally {
      await runner.close();
    }
  }
  assert.deepEqual(readdirSync(canary), []);
});

test('remote discovery lists the simulator with its container id', { skip }, async () => {
  const runner = await SshRunner.open({ destination: HOSTS.user, configFile: sshd.clientConfig });
  try {
    const found = (await listSandboxes(runner)).find((s) => s.pid === sim.pid);
    assert.ok(found);
    assert.equal(found.containerId, sim.containerId);
    assert.equal(found.platform, 'kvm');
  } finally {
    await runner.close();
  }
});

test('one authentication serves the session; close ends the master and removes the private control dir', { skip }, async () => {
  const runner = await SshRunner.open({ destination: HOSTS.root, configFile: sshd.clientConfig });
  const master = await runner.masterPid();
  assert.ok(master && isAlive(master), 'a control master runs');
  for (let i = 0; i < 3; i++) assert.equal((await runner.run(['true'])).code, 0);
  assert.equal(await runner.masterPid(), master, 'commands reuse the same master');
  await runner.close();
  await waitFor('the control master to exit', () => !isAlive(master), { timeoutMs: 5_000, intervalMs: 100 }).catch(() => undefined);
  assert.equal(isAlive(master), false, 'the master exited');
  assert.equal(existsSync(runner.controlPath), false);
});
