import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseSandbox, onlyKvmSandbox, rankSandboxes, SandboxChoiceError } from '../../../src/transport/chooseSandbox';
import type { SandboxProcess } from '../../../src/transport/sandboxProcess';

const sb = (pid: number, containerId: string): SandboxProcess => ({ pid, containerId, platform: 'kvm', root: undefined, uptimeSeconds: 10, argv: [] });
const two = [sb(100, 'abc123'), sb(200, 'abd456')];

test('processId wins, even when it is not in the list', () => {
  assert.equal(chooseSandbox(two, { processId: 200 }, 'pi').pid, 200);
  assert.deepEqual(chooseSandbox([], { processId: 42 }, 'pi'), { pid: 42 });
});

test('sandbox: exact id, unique prefix; an ambiguous prefix lists the matches', () => {
  assert.equal(chooseSandbox(two, { sandbox: 'abd456' }, 'pi').pid, 200);
  assert.equal(chooseSandbox(two, { sandbox: 'abc' }, 'pi').pid, 100);
  assert.throws(
    () => chooseSandbox(two, { sandbox: 'ab' }, 'pi'),
    (e: unknown) => e instanceof SandboxChoiceError && /matches 2 sandboxes on pi/.test(e.message) && e.candidates.length === 2,
  );
  assert.throws(() => chooseSandbox(two, { sandbox: 'zzz' }, 'pi'), /no sandbox with container id "zzz" on pi\. Running sandboxes:\n {2}pid 100/);
});

test('the only one; none; several', () => {
  assert.equal(chooseSandbox([sb(7, 'x')], {}, 'pi').pid, 7);
  assert.throws(
    () => chooseSandbox([], {}, 'raspberrypi'),
    /^Error|No runsc-sandbox … boot process found on raspberrypi\. Start the sandbox \(runsc --platform=kvm …\) or set "processId"\.$/,
  );
  assert.throws(
    () => chooseSandbox(two, {}, 'pi'),
    (e: unknown) => e instanceof SandboxChoiceError && /2 sandboxes run on pi/.test(e.message) && e.candidates.length === 2,
  );
});

test('the only KVM sandbox among several is chosen; KVM sandboxes rank first, newest first', () => {
  const systrap = { ...sb(300, 'sys999'), platform: 'systrap' };
  const old = { ...sb(400, 'kvmold'), uptimeSeconds: 5000 };
  assert.equal(chooseSandbox([systrap, sb(100, 'abc123')], {}, 'pi').pid, 100);
  assert.equal(onlyKvmSandbox([systrap, sb(100, 'abc123')])?.pid, 100);
  assert.equal(onlyKvmSandbox([systrap, ...two]), undefined, 'two KVM sandboxes: the user chooses');
  assert.equal(onlyKvmSandbox([sb(100, 'abc123')]), undefined, 'one sandbox is not a choice among several');
  assert.throws(() => chooseSandbox([systrap, ...two], {}, 'pi'), /3 sandboxes run on pi/);
  assert.deepEqual(
    rankSandboxes([systrap, old, sb(100, 'abc123')]).map((s) => s.pid),
    [100, 400, 300],
  );
});
