import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localToRemote, remoteToLocal } from '../../../src/config/substitutePath';

const rules = [
  { from: '/home/me/gvisor', to: '/build/gvisor' },
  { from: '/home/me/gvisor/pkg/x', to: '/elsewhere/x' },
];

test('local paths map to the target by the longest matching prefix', () => {
  assert.equal(localToRemote('/home/me/gvisor/runsc/main.go', rules), '/build/gvisor/runsc/main.go');
  assert.equal(localToRemote('/home/me/gvisor/pkg/x/y.go', rules), '/elsewhere/x/y.go');
  assert.equal(localToRemote('/home/me/gvisorX/a.go', rules), '/home/me/gvisorX/a.go', 'a prefix must end at a path separator');
  assert.equal(localToRemote('/other/a.go', rules), '/other/a.go');
});

test('target paths map back to local ones', () => {
  assert.equal(remoteToLocal('/build/gvisor/runsc/main.go', rules), '/home/me/gvisor/runsc/main.go');
  assert.equal(remoteToLocal('/elsewhere/x/y.go', rules), '/home/me/gvisor/pkg/x/y.go');
  assert.equal(remoteToLocal('/usr/lib/go/src/runtime/proc.go', []), '/usr/lib/go/src/runtime/proc.go');
});
