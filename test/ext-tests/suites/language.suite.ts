// The go-objdump language is recognised by file extension and by its first line.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { suite, suiteSetup, suiteTeardown, test } from '../src/tdd';

const DUMP = [
  'TEXT main.main(SB) /x/main.go',
  '  main.go:3\t\t0x45c1e0\t\t493b6610\t\tCMPQ 0x10(R14), SP',
  '  main.go:3\t\t0x45c1e4\t\t7629\t\t\tJBE 0x45c20f',
  '',
].join('\n');

suite('go-objdump language', () => {
  let dir = '';

  suiteSetup(() => {
    dir = mkdtempSync(join(tmpdir(), 'bluepill-lang-'));
  });

  suiteTeardown(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('a .objdump file is go-objdump', async () => {
    const file = join(dir, 'runsc.objdump');
    writeFileSync(file, DUMP);
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    assert.equal(doc.languageId, 'go-objdump');
  });

  test('a file starting with "TEXT main.main(SB)" is go-objdump', async () => {
    const file = join(dir, 'dump-without-extension');
    writeFileSync(file, DUMP);
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    assert.equal(doc.languageId, 'go-objdump');
  });
});
