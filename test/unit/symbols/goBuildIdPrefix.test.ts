import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD_ID_PREFIX_BYTES, goBuildIdFromPrefix } from '../../../src/symbols/goBuildIdPrefix';
import { ElfFile } from '../../../src/symbols/elfFile';

test('the Go build ID read from the first 64 KiB equals go tool buildid, for amd64 and arm64', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bluepill-buildid-'));
  try {
    writeFileSync(join(dir, 'go.mod'), 'module x\ngo 1.19\n');
    writeFileSync(join(dir, 'main.go'), 'package main\nfunc main() { println("x") }\n');
    for (const arch of ['amd64', 'arm64']) {
      const bin = join(dir, `x-${arch}`);
      execFileSync('go', ['build', '-o', bin, '.'], { cwd: dir, env: { ...process.env, GOARCH: arch, CGO_ENABLED: '0' } });
      const want = execFileSync('go', ['tool', 'buildid', bin], { encoding: 'utf8' }).trim();
      const prefix = readFileSync(bin).subarray(0, BUILD_ID_PREFIX_BYTES);
      assert.equal(goBuildIdFromPrefix(prefix), want, arch);
      assert.equal(ElfFile.open(bin).goBuildId(), want, `${arch}: same as the full ELF reader`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no build ID in a file without the note', () => {
  assert.equal(goBuildIdFromPrefix(readFileSync('/bin/true').subarray(0, BUILD_ID_PREFIX_BYTES)), undefined);
  assert.equal(goBuildIdFromPrefix(Buffer.from('Go\0\0Go\0\0')), undefined);
});
