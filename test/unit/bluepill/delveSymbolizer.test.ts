// Symbolization over Delve (FindLocation '*0xADDR', replayed from a real session) and over /proc/PID/maps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DelveSymbolizer } from '../../../src/bluepill/delveSymbolizer';
import { VdsoSymbolizer } from '../../../src/bluepill/vdsoSymbolizer';
import { mapsReaderFrom } from '../../../src/linux/processMaps';
import { formatSymbol, shortFunctionName } from '../../../src/bluepill/symbolizer';
import { replayDelve, type Transcript } from '../../support/transcript';

const t = JSON.parse(readFileSync(join(__dirname, '../../fixtures/transcripts/one-hop-before-fault.json'), 'utf8')) as Transcript;
const sym = t.expected.symbols as Record<string, number>;

test('a PC is named by its function and offset from the true entry; repeated and nearby PCs cost no round trip', async () => {
  const delve = replayDelve(t);
  const s = new DelveSymbolizer(delve);
  const fault = sym['kvm.bluepill.fault'];
  const hit = await s.symbolize(fault);
  assert.ok(hit);
  assert.equal(shortFunctionName(hit.name), 'kvm.bluepill');
  assert.equal(hit.offset, fault - sym['kvm.bluepill']);
  assert.equal(formatSymbol(fault, { name: shortFunctionName(hit.name), offset: hit.offset }), `kvm.bluepill+0x${hit.offset.toString(16)}`);
  assert.equal(s.lookups, 1);
  assert.deepEqual(await s.symbolize(fault), hit, 'cached');
  // Between the entry and a PC known to be inside: same function, from the learned span (the replay has no such call).
  const inside = await s.symbolize(sym['kvm.bluepill'] + 1);
  assert.equal(inside?.name, hit.name);
  assert.equal(inside?.offset, 1);
  assert.equal(s.lookups, 1);
});

test('an address Delve cannot name falls back to the other symbolizer (e.g. the vDSO from /proc/PID/maps), or stays unnamed', async () => {
  const text = [
    '00400000-004c3000 r-xp 00000000 08:01 123 /work/bin/runsc-sandbox',
    '7ffd1e5f0000-7ffd1e5f2000 r-xp 00000000 00:00 0                          [vdso]',
    '7f0000000000-7f0000001000 rw-p 00000000 00:00 0 ',
  ].join('\n');
  const read: string[] = [];
  const vdso = new VdsoSymbolizer(
    mapsReaderFrom(async (path) => (read.push(path), text)),
    4242,
  );
  assert.deepEqual(await vdso.symbolize(0x7ffd1e5f07bc), { name: '[vdso]', offset: 0x7bc });
  assert.equal(await vdso.symbolize(0x401000), undefined, 'the binary is named by Delve, not here');
  assert.equal(await vdso.symbolize(0x10), undefined);
  assert.deepEqual(read, ['/proc/4242/maps'], 'read once');
  const unreadable = new VdsoSymbolizer(
    mapsReaderFrom(async () => {
      throw new Error('gone');
    }),
    1,
  );
  assert.equal(await unreadable.symbolize(0x7ffd1e5f07bc), undefined, 'no maps: unnamed, no error');
  const s = new DelveSymbolizer(replayDelve({ calls: [] }), vdso);
  assert.deepEqual(await s.symbolize(0x7ffd1e5f07bc), { name: '[vdso]', offset: 0x7bc }, 'Delve failed, maps named it');
  assert.equal(await new DelveSymbolizer(replayDelve({ calls: [] })).symbolize(0x7ffd1e5f07bc), undefined);
});
