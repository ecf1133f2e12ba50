// The code reader never keeps an instruction that Delve decoded from a range cut in its middle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CodeReader } from '../../../src/bluepill/codeReader';
import type { AsmInstruction } from '../../../src/delve/delveTypes';

/** amd64 code at 0x1000: MOVQ (7 bytes), CALL rel32 (5 bytes), RET. */
const CODE: Array<{ pc: number; hex: string; text: string; dest?: number }> = [
  { pc: 0x1000, hex: '48c7c00f000000', text: 'MOVQ $0xf, AX' },
  { pc: 0x1007, hex: 'e8f40f0000', text: 'CALL 0x2000', dest: 0x2000 },
  { pc: 0x100c, hex: 'c3', text: 'RET' },
];

/** As Delve's Disassemble answers: the last instruction cut at EndPC decodes as a shorter one. */
function disassemble(start: number, end: number): Promise<AsmInstruction[]> {
  const out: AsmInstruction[] = [];
  for (const c of CODE) {
    if (c.pc < start || c.pc >= end) continue;
    const bytes = Buffer.from(c.hex, 'hex');
    const cut = c.pc + bytes.length > end;
    const kept = cut ? bytes.subarray(0, end - c.pc) : bytes;
    out.push({
      Loc: { pc: c.pc, file: 'x.s', line: 1 },
      DestLoc: !cut && c.dest ? { pc: c.dest, file: '', line: 0 } : null,
      Text: cut ? `Prefix(0x${kept[0].toString(16)})` : c.text,
      Bytes: kept.toString('base64'),
      Breakpoint: false,
      AtPC: false,
    } as unknown as AsmInstruction);
  }
  return Promise.resolve(out);
}

test('an instruction cut at the end of a read range is read whole (a CALL is never taken for a 1-byte prefix)', async () => {
  const reader = new CodeReader({ disassemble });
  // 8 bytes from 0x1000 end in the middle of the CALL.
  const run = await reader.instructionsFrom(0x1000, 8);
  const call = run.find((i) => i.pc === 0x1007);
  assert.ok(call, 'the CALL starts inside the range');
  assert.equal(call.bytes.length, 5);
  assert.equal(call.text, 'CALL 0x2000');
  assert.equal(call.dest, 0x2000);
  assert.deepEqual((await reader.instructionAt(0x1007, 15))?.bytes.toString('hex'), 'e8f40f0000', 'and so is the cached copy');
  assert.ok(
    run.every((i) => i.pc < 0x1008),
    'only instructions that start in the range',
  );
});

test('reads of 4-aligned ranges stay 4-aligned (Delve decodes nothing of an arm64 range that ends mid-word)', async () => {
  const ends: number[] = [];
  const reader = new CodeReader({
    disassemble: (start: number, end: number) => {
      ends.push(end - start);
      return Promise.resolve([]);
    },
  });
  await reader.instructionsFrom(0x6d8dc0, 64);
  await reader.instructionsFrom(0x6d8dd8, 4);
  assert.ok(
    ends.every((n) => n % 4 === 0),
    `read lengths ${ends.join(', ')}`,
  );
});
