import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DlvFlagError, validateDlvFlags } from '../../../src/config/dlvFlags';
import { dlvAttachArgv } from '../../../src/target/dlvCommandLine';

test('attach argv listens on loopback only, headless, API v2, multiclient', () => {
  assert.deepEqual(dlvAttachArgv({ pid: 4989, listen: 'tcp' }), [
    'attach',
    '4989',
    '--headless',
    '--api-version=2',
    '--listen=127.0.0.1:0',
    '--accept-multiclient',
  ]);
  assert.deepEqual(dlvAttachArgv({ pid: 7, listen: { unixSocket: '/tmp/b/dlv.sock' } }).slice(4, 5), ['--listen=unix:/tmp/b/dlv.sock']);
});

test('refuses flags that would widen access or fight the adapter, naming the flag', () => {
  for (const f of ['--listen=0.0.0.0:2345', '--only-same-user=false', '--headless', '--init=/tmp/x', '--continue']) {
    assert.throws(
      () => validateDlvFlags([f]),
      (e: unknown) => e instanceof DlvFlagError && e.message.includes(f.split('=')[0]),
    );
  }
});

test('refuses unknown and hostile flags', () => {
  assert.throws(() => validateDlvFlags(['-oProxyCommand=touch /tmp/canary']), DlvFlagError);
  assert.throws(() => validateDlvFlags(['$(touch canary)']), DlvFlagError);
  assert.throws(() => validateDlvFlags(['--log\nrm -rf /']), /control character/);
  assert.throws(() => validateDlvFlags(['--log-output']), /needs a value/);
  assert.throws(() => dlvAttachArgv({ pid: -1, listen: 'tcp' }), DlvFlagError);
  assert.throws(() => dlvAttachArgv({ pid: 1.5, listen: 'tcp' }), DlvFlagError);
});

test('keeps allowed flags and their values', () => {
  assert.deepEqual(validateDlvFlags(['--log', '--log-output', 'rpc,debugger', '--backend=native']), [
    '--log',
    '--log-output',
    'rpc,debugger',
    '--backend=native',
  ]);
});
