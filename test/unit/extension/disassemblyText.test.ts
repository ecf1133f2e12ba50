import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDisassembly } from '../../../src/extension/disassemblyText';

test('DAP instructions become a Delve-shaped listing with TEXT headers and the => marker', () => {
  const text = formatDisassembly(
    [
      {
        address: '0x4c24e0',
        instruction: 'MOVQ 0x8(SP), AX',
        instructionBytes: '48 8b 44 24 08',
        symbol: 'kvm.bluepill',
        location: { name: 'bluepill_amd64.s', path: '/src/kvm/bluepill_amd64.s' },
        line: 10,
      },
      {
        address: '0x4c24e5',
        instruction: 'CLI',
        instructionBytes: 'fa',
        symbol: 'kvm.bluepill+0x5',
        location: { name: 'bluepill_amd64.s', path: '/src/kvm/bluepill_amd64.s' },
        line: 11,
      },
      { address: '0x4c2500', instruction: 'RET', symbol: 'kvm.sighandler' },
      { address: '0x4c2504', instruction: '', presentationHint: 'invalid' },
    ],
    '0x4c24e5',
  );
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], 'TEXT kvm.bluepill(SB) /src/kvm/bluepill_amd64.s');
  assert.equal(lines[1], '  \tbluepill_amd64.s:10\t0x4c24e0\t48 8b 44 24 08\tMOVQ 0x8(SP), AX');
  assert.ok(lines[2].startsWith('=>\tbluepill_amd64.s:11\t0x4c24e5'), lines[2]);
  assert.equal(lines[3], '');
  assert.equal(lines[4], 'TEXT kvm.sighandler(SB)');
  assert.equal(lines.length, 6, 'invalid entries are dropped');
});
