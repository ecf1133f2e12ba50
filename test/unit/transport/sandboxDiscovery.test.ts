// Sandbox discovery against the real /proc: a stand-in process named runsc-sandbox with a
// `boot` subcommand, found by the local reader and by the remote sh script run here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { listLocalSandboxes } from '../../../src/transport/localSandboxes';
import { LIST_SANDBOXES_SCRIPT, parseSandboxListing } from '../../../src/transport/remoteSandboxes';
import { LocalRunner } from '../../../src/transport/localRunner';
import { argvFromCmdline, formatUptime, isSandboxArgv, sandboxFromArgv, uptimeFromStat } from '../../../src/transport/sandboxProcess';
import { waitFor } from '../../support/waitFor';

let fake: ChildProcess;
const ODD = 'a b\nc\td';

before(async () => {
  fake = spawn(
    process.execPath,
    ['-e', 'setTimeout(() => {}, 60000)', '--', '--root=/run/runsc', `--x=${ODD}`, '--platform=kvm', 'boot', '--bundle=/b', 'cid-unit-1234'],
    { argv0: 'runsc-sandbox', stdio: 'ignore' },
  );
  const pid = fake.pid;
  await waitFor('the stand-in to run under its sandbox argv', () => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('cid-unit-1234'), {
    timeoutMs: 10_000,
    intervalMs: 20,
  });
});

after(() => {
  fake.kill();
});

test('local discovery finds the runsc-sandbox boot process with its container id, platform, root and uptime', async () => {
  const found = (await listLocalSandboxes()).find((s) => s.pid === fake.pid);
  assert.ok(found, 'the stand-in is listed');
  assert.equal(found.containerId, 'cid-unit-1234');
  assert.equal(found.platform, 'kvm');
  assert.equal(found.root, '/run/runsc');
  assert.ok(found.uptimeSeconds >= 0 && found.uptimeSeconds < 60, `uptime ${found.uptimeSeconds}`);
  assert.ok(found.argv.includes(`--x=${ODD}`), 'arguments with spaces and newlines survive');
  assert.ok(!(await listLocalSandboxes()).some((s) => s.pid === process.pid), 'this test process is not a sandbox');
});

test('the remote script (run here with sh) reports the same, NUL- and newline-safe', async () => {
  const r = await new LocalRunner().run(['sh', '-c', LIST_SANDBOXES_SCRIPT]);
  assert.equal(r.code, 0, r.stderr);
  const found = parseSandboxListing(r.stdout).find((s) => s.pid === fake.pid);
  assert.ok(found);
  assert.equal(found.containerId, 'cid-unit-1234');
  assert.equal(found.platform, 'kvm');
  assert.ok(found.argv.includes(`--x=${ODD}`));
  assert.ok(found.uptimeSeconds < 60);
});

test('what counts as a sandbox', () => {
  assert.equal(isSandboxArgv(['runsc-sandbox', '--platform=kvm', 'boot', 'cid']), true);
  assert.equal(isSandboxArgv(['/usr/bin/runsc', 'boot', '--bundle=/x', 'cid']), true);
  assert.equal(isSandboxArgv(['runsc', 'run', 'cid']), false, 'runsc run is the CLI, not the sandbox');
  assert.equal(isSandboxArgv(['grep', 'runsc', 'boot']), false);
  assert.equal(isSandboxArgv(['runsc-gofer', 'boot', 'x']), false);
  const s = sandboxFromArgv(7, ['runsc-sandbox', '-platform', 'systrap', 'boot', 'c1'], 5);
  assert.equal(s?.platform, 'systrap');
  assert.equal(sandboxFromArgv(7, ['runsc-sandbox', 'boot', 'c1'], 5)?.platform, undefined);
});

test('/proc parsing helpers', () => {
  assert.deepEqual(argvFromCmdline(Buffer.from('a\0b c\0\0')), ['a', 'b c', '']);
  // comm with spaces and parentheses; starttime (field 22) = 500 ticks
  const stat = '123 (we ird) name)) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 500 20 21';
  assert.equal(uptimeFromStat(stat, 100, 100), 95);
  assert.equal(formatUptime(59), '59s');
  assert.equal(formatUptime(3700), '1h 1m');
  assert.equal(formatUptime(90000), '1d 1h');
});
