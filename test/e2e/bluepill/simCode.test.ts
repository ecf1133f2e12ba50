// Keeps test/fixtures/transcripts/sim-code-<arch>.json (the code bytes the arch profiles are
// unit-tested on) equal to what the simulator builds to today; BLUEPILL_RECORD_TRANSCRIPTS=1 rewrites them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSimFor, readSimCode, type SimCode } from './simCode';
import { amd64Profile } from '../../../src/bluepill/archAmd64';
import { arm64Profile } from '../../../src/bluepill/archArm64';

function landmarks(c: SimCode, arch: 'amd64' | 'arm64'): string[] {
  const p = arch === 'amd64' ? amd64Profile : arm64Profile;
  const out: string[] = [];
  for (const f of c.functions) {
    const b = Buffer.from(f.bytes, 'hex');
    if (p.isTrampoline(b)) out.push(`${f.name}: trampoline`);
    // amd64 is not decoded here: only the first byte of each function and the bytes the tests look for.
    const step = arch === 'arm64' ? 4 : 1;
    for (let off = 0; off < b.length; off += step) {
      const at = b.subarray(off);
      if (arch === 'arm64' || off === 0 || at[0] === 0xfa) {
        const priv = p.privilegedInstruction(at);
        if (priv && (arch === 'arm64' || !/bluepillHandler/.test(f.name))) out.push(`${f.name}+${off}: ${priv.mnemonic}`);
      }
      if (arch === 'arm64' && p.isSyscallInstruction(at)) out.push(`${f.name}+${off}: SVC`);
    }
  }
  return out;
}

const RECORD = process.env.BLUEPILL_RECORD_TRANSCRIPTS === '1';

for (const arch of ['amd64', 'arm64'] as const) {
  test(`the ${arch} build of the simulator has the code bytes the unit tests use`, () => {
    const goVersion = execFileSync('go', ['env', 'GOVERSION']).toString().trim();
    const now = readSimCode(buildSimFor(arch), arch, goVersion);
    const file = join(__dirname, '../../fixtures/transcripts', `sim-code-${arch}.json`);
    if (RECORD) writeFileSync(file, JSON.stringify(now, null, 1) + '\n');
    const saved = JSON.parse(readFileSync(file, 'utf8')) as SimCode;
    const names = (c: SimCode): string[] => c.functions.map((f) => f.name);
    assert.deepEqual(names(now), names(saved));
    // What the unit tests rely on: where the faulting, syscall and trampoline instructions are.
    // (Other bytes move with the simulator's data layout.) Re-record with BLUEPILL_RECORD_TRANSCRIPTS=1.
    assert.deepEqual(landmarks(now, arch), landmarks(saved, arch));
  });
}
