// Hostile launch-configuration values execute nothing, on this machine or on the SSH target
// (here the same machine, reached through the test sshd): every attempt would create a file in
// a canary directory, which must stay empty.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type RunningSimulator } from '../../support/simulator';
import { HOSTS, sshdUnavailable, startSshd, type TestSshd } from '../../support/sshd';
import { attach, attachFailure, newDapClient } from '../../support/dapClient';

const noSshd = sshdUnavailable();
let sshd: TestSshd | undefined;
let sim: RunningSimulator;
let canaryDir: string;

/** Shell tricks that would each create a file in the canary dir if anything interpreted them. */
function hostile(tag: string): string[] {
  const f = join(canaryDir, tag);
  return [
    `-oProxyCommand=touch ${f}-proxy`,
    `$(touch ${f}-subst)`,
    `\`touch ${f}-backtick\``,
    `x; touch ${f}-semicolon`,
    `x\ntouch ${f}-newline`,
    `x | touch ${f}-pipe`,
    `x && touch ${f}-and`,
    `x' ; touch '${f}-quote`,
  ];
}

before(async () => {
  canaryDir = mkdtempSync(join(tmpdir(), 'bluepill-canary-'));
  chmodSync(canaryDir, 0o777); // a non-root remote user could write here too
  if (!noSshd) sshd = await startSshd();
  sim = await startSimulator({ vcpus: 1 });
});

after(async () => {
  await sim?.stop();
  await sshd?.stop();
  rmSync(canaryDir, { recursive: true, force: true });
});

function assertNoCanary(): void {
  assert.deepEqual(readdirSync(canaryDir), [], 'nothing was executed');
}

test('"ssh", "sshConfigFile", "sandbox", "processId": refused by validation, naming the field', async () => {
  for (const v of hostile('ssh')) assert.match(await attachFailure({ ssh: v, processId: sim.pid }), /"ssh"/);
  for (const v of hostile('cfg')) assert.match(await attachFailure({ ssh: 'localhost', sshConfigFile: v, processId: sim.pid }), /"sshConfigFile"/);
  for (const v of hostile('sandbox')) assert.match(await attachFailure({ sandbox: v }), /"sandbox"/);
  for (const v of hostile('pid')) assert.match(await attachFailure({ processId: v }), /"processId"/);
  assertNoCanary();
});

test('"dlvPath" on this machine: taken literally as a file name', async () => {
  for (const v of hostile('local-dlv').filter((x) => !x.startsWith('-') && !x.includes('\n'))) {
    assert.match(await attachFailure({ processId: sim.pid, dlvPath: v }), /was not found on this machine/);
  }
  assertNoCanary();
});

test('"dlvPath" over SSH, without and with sudo: quoted for the remote shell, taken literally', { skip: noSshd }, async () => {
  for (const [host, sudo] of [
    [HOSTS.root, false],
    [HOSTS.user, true],
  ] as const) {
    for (const v of hostile(`remote-dlv-${sudo}`).filter((x) => !x.startsWith('-') && !x.includes('\n'))) {
      const msg = await attachFailure({ ssh: host, sshConfigFile: sshd!.clientConfig, processId: sim.pid, sudo, dlvPath: v });
      assert.match(msg, /was not found on bluepill-/, `${JSON.stringify(v)} → ${msg}`);
    }
  }
  assertNoCanary();
});

test('"dlvFlags": hostile words are refused; values of allowed flags reach dlv literally', { skip: noSshd }, async () => {
  for (const v of hostile('flag')) assert.match(await attachFailure({ processId: sim.pid, dlvFlags: [v] }), /"dlvFlags"/);
  // --wd takes any value: over SSH it must arrive as one literal argument.
  for (const v of hostile('wd').filter((x) => !x.includes('\n') && !x.startsWith('-'))) {
    const dc = newDapClient();
    try {
      await attach(dc, { ssh: HOSTS.root, sshConfigFile: sshd!.clientConfig, processId: sim.pid, sudo: false, dlvFlags: ['--wd', v] }).catch(() => undefined);
      await dc.disconnectRequest({}).catch(() => undefined);
    } finally {
      await dc.stop();
    }
  }
  assertNoCanary();
});

test('"substitutePath": paths go to Delve as data, never through a shell', { skip: noSshd }, async () => {
  const rules = hostile('subst')
    .filter((x) => !x.includes('\n'))
    .map((v) => ({ from: `/local/${v.replace(/[^a-z]/g, '')}`, to: v }));
  const dc = newDapClient();
  try {
    await attach(dc, { ssh: HOSTS.root, sshConfigFile: sshd!.clientConfig, processId: sim.pid, sudo: false, substitutePath: rules });
    await dc.configurationDoneRequest();
    for (const r of rules) {
      const res = await dc.setBreakpointsRequest({ source: { path: `${r.from}/x.go` }, breakpoints: [{ line: 3 }] });
      assert.equal(res.body.breakpoints[0].verified, false);
    }
    await dc.disconnectRequest({});
  } finally {
    await dc.stop();
  }
  assertNoCanary();
});
