import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopback, parseListeningLine } from '../../../src/target/listeningLine';

test('parses the tcp and unix forms of the listening line', () => {
  assert.deepEqual(parseListeningLine('API server listening at: 127.0.0.1:33787\n'), { kind: 'tcp', host: '127.0.0.1', port: 33787 });
  assert.deepEqual(parseListeningLine('warning: x\nAPI server listening at: [::1]:40000\n'), { kind: 'tcp', host: '::1', port: 40000 });
  assert.deepEqual(parseListeningLine('API server listening at: /tmp/dlv.sock\n'), { kind: 'unix', path: '/tmp/dlv.sock' });
  assert.equal(parseListeningLine('DAP server listening at: 127.0.0.1:1'), undefined);
  assert.equal(parseListeningLine('API server listening at: 127.0.0.1:99999'), undefined);
});

test('only loopback addresses count as loopback', () => {
  assert.equal(isLoopback({ kind: 'tcp', host: '127.0.0.1', port: 1 }), true);
  assert.equal(isLoopback({ kind: 'tcp', host: '::1', port: 1 }), true);
  assert.equal(isLoopback({ kind: 'unix', path: '/run/x' }), true);
  assert.equal(isLoopback({ kind: 'tcp', host: '0.0.0.0', port: 1 }), false);
  assert.equal(isLoopback({ kind: 'tcp', host: '192.168.1.5', port: 1 }), false);
  assert.equal(isLoopback({ kind: 'tcp', host: '', port: 1 }), false);
});
