import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isObjdumpPath, listingLineAt, listingName, parseBreakSpec, sameFunction } from '../../../src/adapter/addressSpecs';
import { functionDocumentUri } from '../../../src/protocol/languageMessages';

test('break specs: *0xADDR, 0xADDR, name+0xOFF, name', () => {
  assert.deepEqual(parseBreakSpec('*0x4c2960'), { kind: 'address', addr: 0x4c2960 });
  assert.deepEqual(parseBreakSpec(' * 0x4C2960 '), { kind: 'address', addr: 0x4c2960 });
  assert.deepEqual(parseBreakSpec('0x4c2960'), { kind: 'address', addr: 0x4c2960 });
  assert.deepEqual(parseBreakSpec('kvm.bluepill+0x18'), { kind: 'offset', name: 'kvm.bluepill', offset: 0x18 });
  assert.deepEqual(parseBreakSpec('gvisor.dev/gvisor/pkg/sentry/platform/kvm.bluepill+24'), {
    kind: 'offset',
    name: 'gvisor.dev/gvisor/pkg/sentry/platform/kvm.bluepill',
    offset: 24,
  });
  assert.deepEqual(parseBreakSpec('kvm.(*vCPU).switchToUser'), { kind: 'function', name: 'kvm.(*vCPU).switchToUser' });
  assert.equal(parseBreakSpec('*nonsense'), undefined);
  assert.equal(parseBreakSpec('  '), undefined);
});

test('function names compare without .abi0', () => {
  assert.ok(sameFunction('kvm.sighandler.abi0', 'kvm.sighandler'));
  assert.ok(!sameFunction('kvm.sighandler', 'kvm.sighandlerX'));
});

test('objdump sources: .objdump/.goobjdump files and the extension listing URIs', () => {
  assert.ok(isObjdumpPath('/tmp/runsc.objdump'));
  assert.ok(isObjdumpPath('/tmp/runsc.GOOBJDUMP'));
  assert.ok(!isObjdumpPath('/tmp/machine.go'));
  assert.ok(!isObjdumpPath(undefined));
  const uri = functionDocumentUri({ file: '/bin/runsc', name: 'gvisor.dev/gvisor/pkg/sentry/platform/kvm.bluepill' });
  assert.ok(isObjdumpPath(uri));
  assert.equal(listingName(uri), 'kvm.bluepill.objdump');
  assert.ok(isObjdumpPath('bluepill-disasm:/0x4c2960.objdump'));
});

const LISTING = [
  'TEXT kvm.bluepill(SB) /src/bluepill.go',
  '  bluepill.go:10\t0x4c2960\t493b6610\tCMPQ SP, 0x10(R14)',
  '  bluepill.go:11\t0x4c2964\t7609\t\tJBE 0x4c296f',
  '',
  'TEXT kvm.other(SB) /src/other.go',
  '  other.go:3\t\t0x4c2980\tc3\t\tRET',
];

test('listing lines: the instruction, the enclosing TEXT function and its first address', async () => {
  const second = await listingLineAt(LISTING, 3, 'x.objdump');
  assert.ok(typeof second !== 'string');
  assert.equal(second.insn.address, 0x4c2964);
  assert.equal(second.function, 'kvm.bluepill');
  assert.equal(second.blockStart, 0x4c2960);
  assert.equal(second.startsAtEntry, true);
  const other = await listingLineAt(LISTING, 6, 'x.objdump');
  assert.ok(typeof other !== 'string' && other.function === 'kvm.other' && other.blockStart === 0x4c2980);
  assert.equal(await listingLineAt(LISTING, 1, 'x.objdump'), 'line 1 of x.objdump is not an instruction line');
  assert.equal(await listingLineAt(LISTING, 4, 'x.objdump'), 'line 4 of x.objdump is not an instruction line');
  assert.match((await listingLineAt(LISTING, 40, 'x.objdump')) as string, /past its end/);
  // Delve's disassemble shape: the block may start mid-function.
  const delve = await listingLineAt(['TEXT kvm.bluepill(SB) /src/bluepill.go', '=>\tbluepill.go:11\t0x4c2964\t7609\tJBE 0x4c296f'], 2, 'd.objdump');
  assert.ok(typeof delve !== 'string' && delve.insn.address === 0x4c2964 && delve.startsAtEntry === false);
  // No TEXT line above: the address alone.
  const bare = await listingLineAt(['  bluepill.go:10\t0x4c2960\t493b6610\tCMPQ SP, 0x10(R14)'], 1, 'b.objdump');
  assert.ok(typeof bare !== 'string' && bare.function === undefined);
});
