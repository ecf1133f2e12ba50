import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inRange, mapsReaderFrom, parseProcMaps } from '../../../src/linux/processMaps';
import { steppingFixtures } from '../../support/objdumpFixture';

const text = readFileSync(join(steppingFixtures, 'proc-maps-amd64.txt'), 'utf8');

test("a simulator's /proc/PID/maps: the vDSO, not [vvar], and the executable regions", () => {
  const maps = parseProcMaps(text);
  const permissionsAt = (addr: number): string | undefined => maps.regions.find((r) => inRange(r, addr))?.permissions;
  assert.deepEqual(maps.vdso, { start: 0x7f111c35d000, end: 0x7f111c35f000 });
  assert.equal(inRange(maps.vdso, 0x7f111c35daf0), true);
  assert.equal(inRange(maps.vdso, 0x7f111c357000), false, '[vvar] is data');
  assert.equal(permissionsAt(0x461fd4)?.includes('x'), true, 'the binary text');
  assert.equal(permissionsAt(0xc000001000)?.includes('x'), false, 'the Go heap');
  assert.ok(maps.regions.length > 20);
});

test('a reader over any readFile: asks for /proc/PID/maps once per pid', async () => {
  const asked: string[] = [];
  const reader = mapsReaderFrom(async (path) => {
    asked.push(path);
    return text;
  });
  const a = await reader.read(42);
  const b = await reader.read(42);
  assert.equal(a, b);
  assert.deepEqual(asked, ['/proc/42/maps']);
  assert.equal(parseProcMaps('').vdso, undefined, 'no vDSO (qemu-user, for one)');
});

test('a failed read is not remembered', async () => {
  let calls = 0;
  const reader = mapsReaderFrom(async () => {
    calls++;
    if (calls === 1) throw new Error('ssh: connection reset');
    return text;
  });
  await assert.rejects(reader.read(7), /connection reset/);
  assert.ok((await reader.read(7)).vdso);
});
