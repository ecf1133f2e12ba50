// The sandbox's binary is copied from the target over the session's SSH connection once and
// cached by Go build ID, so the objdump language server can symbolize the very build under the
// debugger. Over the test sshd as the non-root user with sudo (the binary is root's to read).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type RunningSimulator } from '../../support/simulator';
import { HOSTS, sshdUnavailable, startSshd, type TestSshd } from '../../support/sshd';
import { attach, newDapClient } from '../../support/dapClient';

const skip = sshdUnavailable();
let sshd: TestSshd;
let sim: RunningSimulator;
let cache: string;
const savedCache = process.env.BLUEPILL_CACHE;

before(async () => {
  if (skip) return;
  cache = mkdtempSync(join(tmpdir(), 'bluepill-binary-cache-'));
  // The adapter process inherits the environment: its binary cache goes to a fresh folder.
  process.env.BLUEPILL_CACHE = cache;
  sshd = await startSshd();
  sim = await startSimulator({ vcpus: 1 });
  await sim.waitForProgress(3, 20_000);
});

after(async () => {
  if (savedCache === undefined) delete process.env.BLUEPILL_CACHE;
  else process.env.BLUEPILL_CACHE = savedCache;
  await sim?.stop();
  await sshd?.stop();
  if (cache) rmSync(cache, { recursive: true, force: true });
});

interface Fetched {
  path: string;
  buildId?: string;
  cached: boolean;
  bytes: number;
}

async function fetchOnce(): Promise<Fetched> {
  const dc = newDapClient();
  try {
    const attached = dc.waitForEvent('bluepill/attached', 60_000);
    await attach(dc, { ssh: HOSTS.user, sshConfigFile: sshd.clientConfig, processId: sim.pid, sudo: true });
    assert.equal((await attached).body.pid, sim.pid, 'the adapter announces the attach');
    await dc.configurationDoneRequest();
    return (await dc.customRequest('bluepill/fetchBinary')).body as Fetched;
  } finally {
    await dc.disconnectRequest({}).catch(() => undefined);
    await dc.stop().catch(() => undefined);
  }
}

test('the first session copies the binary into the cache, named by its Go build ID; the next one reuses it', { skip }, async () => {
  const first = await fetchOnce();
  assert.equal(first.cached, false);
  assert.ok(first.path.startsWith(join(cache, 'binaries')), first.path);
  assert.ok(readFileSync(first.path).equals(readFileSync(sim.binary)), 'a byte-exact copy of the sandbox binary');
  const buildId = execFileSync('go', ['tool', 'buildid', sim.binary], { encoding: 'utf8' }).trim();
  assert.equal(first.buildId, buildId);
  assert.equal(first.bytes, readFileSync(sim.binary).length);

  const second = await fetchOnce();
  assert.equal(second.cached, true, 'same build ID: no transfer');
  assert.equal(second.path, first.path);
  assert.equal(second.bytes, 0);
});
