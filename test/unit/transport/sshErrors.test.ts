// OpenSSH's stderr (as printed by OpenSSH 9.2 in the e2e tests) → kind and advice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeSshFailure } from '../../../src/transport/sshErrors';
import { describeDlvCheckFailure, parseDlvVersion } from '../../../src/target/delveLauncher';

test('each OpenSSH failure maps to its kind', () => {
  const cases: Array<[string, string]> = [
    ['ssh: Could not resolve hostname nope.invalid: Name or service not known\r\n', 'unknown-host'],
    ['@@@@@@@@\r\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n...\r\nHost key verification failed.\r\n', 'host-key-changed'],
    ['No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\r\nHost key verification failed.\r\n', 'host-key-unknown'],
    ['root@127.0.0.1: Permission denied (publickey).\r\n', 'auth-failed'],
    ['ssh: connect to host 127.0.0.1 port 1: Connection refused\r\n', 'connection-refused'],
    ['ssh: connect to host 10.0.0.1 port 22: Connection timed out\r\n', 'unreachable'],
    ['something else entirely', 'other'],
  ];
  for (const [stderr, kind] of cases) assert.equal(describeSshFailure(stderr, 'pi').kind, kind, stderr);
  assert.match(describeSshFailure(cases[1][0], 'pi').message, /ssh-keygen -R/);
});

test('dlv version: parse, and say what to do when it fails', () => {
  assert.equal(parseDlvVersion('Delve Debugger\nVersion: 1.20.2\nBuild: $Id: e0c2 $\n'), '1.20.2');
  assert.equal(parseDlvVersion('nope'), undefined);
  assert.equal(describeDlvCheckFailure(1, 'sudo: a password is required\n', 'dlv', 'pi', true).kind, 'sudo-password');
  assert.equal(describeDlvCheckFailure(127, 'sh: 1: /x/dlv: not found\n', '/x/dlv', 'pi', false).kind, 'no-dlv');
  assert.equal(describeDlvCheckFailure(1, 'sudo: /x/dlv: command not found\n', '/x/dlv', 'pi', true).kind, 'no-dlv');
  assert.equal(describeDlvCheckFailure(1, 'sudo: command not found\n', 'dlv', 'pi', true).kind, 'no-sudo');
});
