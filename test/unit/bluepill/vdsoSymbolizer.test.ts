import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VdsoSymbolizer } from '../../../src/bluepill/vdsoSymbolizer';
import { mapsReaderFrom } from '../../../src/linux/processMaps';
import { steppingFixtures } from '../../support/objdumpFixture';

test("a simulator's vDSO is named from its /proc/PID/maps; its own text is left to Delve", async () => {
  const text = readFileSync(join(steppingFixtures, 'proc-maps-amd64.txt'), 'utf8');
  const vdsoName = new VdsoSymbolizer(
    mapsReaderFrom(async () => text),
    1,
  );
  assert.deepEqual(await vdsoName.symbolize(0x7f111c35daf0), { name: '[vdso]', offset: 0xaf0 });
  assert.equal(await vdsoName.symbolize(0x461fd4), undefined);
});
