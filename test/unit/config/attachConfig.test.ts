import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, resolveAttachConfig, validateSshDestination } from '../../../src/config/attachConfig';

function rejects(config: Record<string, unknown>, field: string, message?: RegExp): void {
  assert.throws(
    () => resolveAttachConfig({ type: 'bluepill', request: 'attach', ...config }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `ConfigError for ${JSON.stringify(config)}`);
      assert.equal(e.field, field);
      assert.ok(e.message.includes(`"${field.replace(/\[.*$/, '')}`), `message names the field: ${e.message}`);
      if (message) assert.match(e.message, message);
      return true;
    },
  );
}

const HOSTILE = [
  '-oProxyCommand=touch /tmp/canary',
  '$(touch canary)',
  '`touch canary`',
  'host; touch canary',
  'host\ntouch canary',
  'host && touch canary',
  'host|touch canary',
  "host'",
  'host"',
  'host touch',
  'pi@host -oProxyCommand=x',
  '-F/tmp/x',
  'a\u0000b',
];

test('defaults: local target, no sudo, dlv on PATH, keep running', () => {
  const c = resolveAttachConfig({ type: 'bluepill', request: 'attach', name: 'x', __sessionId: 'abc' });
  assert.equal(c.ssh, undefined);
  assert.equal(c.sudo, false);
  assert.equal(c.dlvPath, 'dlv');
  assert.deepEqual(c.dlvFlags, []);
  assert.equal(c.stopOnAttach, false);
  assert.equal(c.processId, undefined);
  assert.deepEqual(c.substitutePath, []);
});

test('a remote target defaults to sudo; sudo can be turned off', () => {
  assert.equal(resolveAttachConfig({ ssh: 'pi@raspberrypi' }).sudo, true);
  assert.equal(resolveAttachConfig({ ssh: 'pi@raspberrypi', sudo: false }).sudo, false);
});

test('valid OpenSSH destinations are accepted as they are', () => {
  for (const d of [
    'raspberrypi',
    'pi@raspberrypi',
    'pi@192.168.1.20',
    'ssh://pi@pi.local:2222',
    'ssh://pi@[fe80::1]:22',
    'my-pi_alias',
    'fe80::1',
    'user.name@host-1.example.org',
  ]) {
    assert.equal(validateSshDestination(d), d);
  }
});

test('hostile "ssh" values are refused before anything runs', () => {
  for (const v of HOSTILE) rejects({ ssh: v }, 'ssh');
  rejects({ ssh: '-oProxyCommand=touch /tmp/canary' }, 'ssh', /starts with "-"/);
  rejects({ ssh: 'a b' }, 'ssh');
  rejects({ ssh: 'ssh://pi@host:99999' }, 'ssh', /port/);
  rejects({ ssh: '[::1]' }, 'ssh');
  rejects({ ssh: 42 }, 'ssh', /string/);
});

test('processId: a number or digits; an unresolved ${command:...} says so', () => {
  assert.equal(resolveAttachConfig({ processId: 1234 }).processId, 1234);
  assert.equal(resolveAttachConfig({ processId: '1234' }).processId, 1234);
  rejects({ processId: '${command:bluepill.pickSandbox}' }, 'processId', /did not resolve/);
  rejects({ processId: '12; touch canary' }, 'processId');
  rejects({ processId: '$(touch canary)' }, 'processId');
  rejects({ processId: -3 }, 'processId');
  rejects({ processId: 1.5 }, 'processId');
});

test('hostile "sandbox" values are refused', () => {
  assert.equal(resolveAttachConfig({ sandbox: 'abc123-x.y' }).sandbox, 'abc123-x.y');
  for (const v of HOSTILE) rejects({ sandbox: v }, 'sandbox');
});

test('"dlvPath" may not be an option or hold control characters; other characters stay literal (they are quoted)', () => {
  rejects({ dlvPath: '-oProxyCommand=touch /tmp/canary' }, 'dlvPath', /starts with "-"/);
  rejects({ dlvPath: '/usr/bin/dlv\ntouch canary' }, 'dlvPath', /control character/);
  rejects({ dlvPath: 7 }, 'dlvPath');
  assert.equal(resolveAttachConfig({ dlvPath: '$(touch canary)' }).dlvPath, '$(touch canary)');
  assert.equal(resolveAttachConfig({ dlvPath: '~/go/bin/dlv' }).dlvPath, '~/go/bin/dlv');
});

test('"dlvFlags": refused flags, unknown flags and hostile words name the field', () => {
  assert.deepEqual(resolveAttachConfig({ dlvFlags: ['--log', '--log-output=rpc'] }).dlvFlags, ['--log', '--log-output=rpc']);
  rejects({ dlvFlags: ['--listen=0.0.0.0:2345'] }, 'dlvFlags', /--listen/);
  rejects({ dlvFlags: ['--only-same-user=false'] }, 'dlvFlags');
  rejects({ dlvFlags: ['$(touch canary)'] }, 'dlvFlags');
  rejects({ dlvFlags: ['; touch canary'] }, 'dlvFlags');
  rejects({ dlvFlags: ['--log\ntouch canary'] }, 'dlvFlags', /control character/);
  rejects({ dlvFlags: '--log' }, 'dlvFlags', /list/);
});

test('"substitutePath": vscode-go shape, strings without control characters', () => {
  assert.deepEqual(resolveAttachConfig({ substitutePath: [{ from: '/a', to: '/b' }] }).substitutePath, [{ from: '/a', to: '/b' }]);
  rejects({ substitutePath: { from: '/a', to: '/b' } }, 'substitutePath', /list/);
  rejects({ substitutePath: [{ from: '/a' }] }, 'substitutePath', /substitutePath\[0\]\.to/);
  rejects({ substitutePath: [{ from: '/a\n$(touch canary)', to: '/b' }] }, 'substitutePath', /control/);
});

test('booleans, symbolFile, sshConfigFile, stackTraceDepth and unknown fields', () => {
  rejects({ sudo: 'yes' }, 'sudo', /true or false/);
  rejects({ stopOnAttach: 1 }, 'stopOnAttach');
  rejects({ trace: 'verbose' }, 'trace');
  rejects({ symbolFile: '-x' }, 'symbolFile');
  rejects({ sshConfigFile: '/tmp/cfg' }, 'sshConfigFile', /only applies with "ssh"/);
  rejects({ ssh: 'pi', sshConfigFile: '-oProxyCommand=x' }, 'sshConfigFile');
  rejects({ ssh: 'pi', sshConfigFile: '/nonexistent/$(touch canary)' }, 'sshConfigFile', /does not exist/);
  assert.equal(resolveAttachConfig({ ssh: 'pi', sshConfigFile: '/etc/hostname' }).sshConfigFile, '/etc/hostname');
  rejects({ stackTraceDepth: 0 }, 'stackTraceDepth');
  rejects({ stackTraceDepth: 5000 }, 'stackTraceDepth');
  rejects({ proccessId: 3 }, 'proccessId', /not a bluepill attach setting/);
  rejects({ request: 'launch' }, 'request', /attach/);
  assert.equal(resolveAttachConfig({ stackTraceDepth: 200 }).stackTraceDepth, 200);
});

test('"sandbox" and "processId" together are refused, naming the field (one of them would be ignored)', () => {
  rejects({ processId: 4242, sandbox: 'c0ffee' }, 'sandbox', /give one of them/);
  assert.equal(resolveAttachConfig({ sandbox: 'c0ffee' }).sandbox, 'c0ffee');
});
