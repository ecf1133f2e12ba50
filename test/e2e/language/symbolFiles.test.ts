// Symbol sources on disk (`bluepill.symbolFiles`): a dump that was never opened, a Go binary
// built here, and bad input of every kind, over LSP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SymbolInformation } from 'vscode-languageserver-protocol';
import {
  AddSymbolFileRequest,
  FunctionListingRequest,
  ListFunctionsRequest,
  ListSymbolFilesRequest,
  parseFunctionDocumentUri,
  type FunctionListingResult,
  type ListFunctionsResult,
  type ListSymbolFilesResult,
  type SymbolFileInfo,
} from '../../../src/protocol/languageMessages';
import { FIXTURES, firstLocation, hoverText, LanguageServerProcess, positionOf } from '../../support/languageServerProcess';
import { waitFor } from '../../support/waitFor';
import { addr2line, buildPanicdemo, goVersion, nmAddress } from './panicdemoBinary';

const PANIC_DUMP = readFileSync(join(FIXTURES, 'objdump_panicdemo_amd64_go1.19.txt'), 'utf8');
const MD = 'The panic was at 0x460631 (see the dump).\n';

describe('bluepill.symbolFiles: a dump on disk', () => {
  let dir: string;
  let dump: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bluepill-lsp-'));
    dump = join(dir, 'panicdemo.objdump');
    copyFileSync(join(FIXTURES, 'objdump_panicdemo_amd64_go1.19.txt'), dump);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a dump named in the setting resolves hovers, definitions and workspace symbols without being opened', async () => {
    const server = await LanguageServerProcess.start();
    try {
      await server.configure({ bluepill: { symbolFiles: [dump] } });
      await server.open('file:///work/crash.md', 'markdown', MD);
      const at = positionOf(MD, '0x460631', 2);
      const text = hoverText(await server.hover('file:///work/crash.md', at.line, at.character));
      assert.match(text, /main\.index\+0x31/);
      assert.match(text, /main\.go:6/);
      assert.match(text, /NOPL/);
      assert.ok(text.includes('panicdemo'), text);

      const dumpUri = pathToFileURL(dump).href;
      assert.deepEqual(firstLocation(await server.definition('file:///work/crash.md', at.line, at.character)), {
        uri: dumpUri,
        line: positionOf(PANIC_DUMP, '\t0x460631\t').line,
      });

      const caller = 'TEXT main.caller(SB) /x/caller.go\n  caller.go:3\t\t0x1000\t\te8fbffffff\t\tCALL main.main(SB)\t\n';
      await server.open('file:///work/caller.objdump', 'go-objdump', caller);
      const call = positionOf(caller, 'main.main', 2);
      assert.deepEqual(firstLocation(await server.definition('file:///work/caller.objdump', call.line, call.character)), {
        uri: dumpUri,
        line: positionOf(PANIC_DUMP, 'TEXT main.main').line,
      });

      const symbols = (await server.workspaceSymbols('main.index')) as SymbolInformation[];
      assert.deepEqual(
        symbols.map((s) => [s.name, s.location.uri, s.location.range.start.line]),
        [['main.index', dumpUri, 0]],
      );

      const listing = await server.connection.sendRequest<FunctionListingResult>(FunctionListingRequest.method, { path: dump, name: 'main.index' });
      assert.equal(listing.listing, PANIC_DUMP.slice(0, PANIC_DUMP.indexOf('TEXT main.main')));
    } finally {
      await server.stop();
    }
    assert.equal(server.unexpectedExit, undefined);
  });

  test('a wrong-toolchain dump on disk: loaded, with a message saying what to do', async () => {
    const wrong = join(dir, 'wrong.objdump');
    copyFileSync(join(FIXTURES, 'objdump_wrong-toolchain_amd64_go1.19.txt'), wrong);
    const server = await LanguageServerProcess.start();
    try {
      await server.configure({ bluepill: { symbolFiles: [wrong] } });
      await server.waitFor(() => server.messages.length > 0, 'a message');
      assert.equal(server.messages.length, 1);
      assert.match(server.messages[0], /wrong toolchain.*at least as new as the binary's/);
      assert.doesNotMatch(server.messages[0], /skipped/);
      const md = 'at 0x4847c5\n';
      await server.open('file:///work/w.md', 'markdown', md);
      assert.match(hoverText(await server.hover('file:///work/w.md', 0, 5)), /main\.classify\+0x5[\s\S]*JE 0x4847e7/);
    } finally {
      await server.stop();
    }
  });

  test('a dump rewritten on disk, and one that appears later, are (re)loaded', async () => {
    const rewritten = join(dir, 'rewritten.objdump');
    const later = join(dir, 'later.objdump');
    copyFileSync(join(FIXTURES, 'objdump_panicdemo_amd64_go1.19.txt'), rewritten);
    const server = await LanguageServerProcess.start();
    try {
      await server.configure({ bluepill: { symbolFiles: [rewritten, later] } });
      const md = 'at 0x460631 and 0x4847c5 and 0x928d4\n';
      await server.open('file:///work/r.md', 'markdown', md);
      const hoverAt = async (needle: string): Promise<string> => {
        const at = positionOf(md, needle, 2);
        return hoverText(await server.hover('file:///work/r.md', at.line, at.character));
      };
      assert.match(await hoverAt('0x460631'), /main\.index\+0x31/);
      assert.equal(await hoverAt('0x4847c5'), '');
      await server.waitFor(() => server.messages.some((m) => m.includes(later)), 'the missing file reported');

      copyFileSync(join(FIXTURES, 'objdump_wrong-toolchain_amd64_go1.19.txt'), rewritten);
      copyFileSync(join(FIXTURES, 'objdump_arm64_go1.19.txt'), later);
      await server.waitFor(() => server.messages.some((m) => m.includes(rewritten) && /wrong toolchain/.test(m)), 'the rewritten dump reloaded');
      assert.match(await hoverAt('0x4847c5'), /main\.classify\+0x5/);
      assert.equal(await hoverAt('0x460631'), '');
      await waitFor('a hover at 0x928d4 from the later dump', async () => (await hoverAt('0x928d4')) !== '', { timeoutMs: 20_000, intervalMs: 200 }).catch(
        () => undefined,
      );
      assert.match(await hoverAt('0x928d4'), /main\.classify\+0x4[\s\S]*CBZ R0, 10\(PC\)/);
    } finally {
      await server.stop();
    }
    assert.equal(server.unexpectedExit, undefined);
  });

  test('symbolFiles given in initializationOptions', async () => {
    const server = await LanguageServerProcess.start({ initializationOptions: { settings: { symbolFiles: [dump] } } });
    try {
      await server.open('file:///work/crash.txt', 'plaintext', MD);
      const at = positionOf(MD, '0x460631', 2);
      assert.match(hoverText(await server.hover('file:///work/crash.txt', at.line, at.character)), /main\.index\+0x31/);
    } finally {
      await server.stop();
    }
  });
});

describe('bluepill.symbolFiles: a Go binary', () => {
  test('a binary built here: hover, workspace symbols and definitions into its function documents', async (t) => {
    if (goVersion() === undefined) return t.skip('go is not installed: cannot build the test binary');
    const bin = buildPanicdemo().path;
    const entry = nmAddress(bin, 'main.index');
    const expected = addr2line(bin, entry + 0x31);
    const server = await LanguageServerProcess.start();
    try {
      await server.configure({ bluepill: { symbolFiles: [bin] } });
      const md = `crash at 0x${(entry + 0x31).toString(16)} in the binary\n`;
      await server.open('file:///work/bin.md', 'markdown', md);
      const at = positionOf(md, '0x', 3);
      const text = hoverText(await server.hover('file:///work/bin.md', at.line, at.character));
      assert.match(text, /main\.index\+0x31/);
      assert.equal(expected.func, 'main.index');
      assert.ok(text.includes(`main.go:${expected.line}`), text);
      assert.ok(text.includes(expected.file), text);
      // A binary has no listing to quote: the instruction comes from go tool objdump, as a dump's would.
      const listing = execFileSync('go', ['tool', 'objdump', '-s', '^main\\.index$', bin], { encoding: 'utf8' });
      const line = listing.split('\n').find((l) => l.includes(`\t0x${(entry + 0x31).toString(16)}\t`));
      assert.ok(line, `go tool objdump lists 0x${(entry + 0x31).toString(16)}`);
      const instruction = line.split('\t')[3].trim();
      // The first hover waits at most 3 s for the disassembly; a later one finds it ready.
      const quoted = await waitFor(
        `a hover that quotes "${instruction}"`,
        async () => {
          const h = hoverText(await server.hover('file:///work/bin.md', at.line, at.character));
          return h.includes(instruction) ? h : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      assert.match(quoted, /```go-objdump\n0x[0-9a-f]+\t[0-9a-f]+\t/, quoted);

      const traceback = 'goroutine 1 [running]:\nmain.index({0xc000088f58?, 0x404bb9?, 0x60?}, 0x0?)\n\t/tmp/main.go:6 +0x31\n';
      await server.open('file:///work/bin.log', 'log', traceback);
      const frame = positionOf(traceback, '+0x31', 2);
      const frameText = hoverText(await server.hover('file:///work/bin.log', frame.line, frame.character));
      assert.match(frameText, /main\.index\+0x31/);
      assert.ok(frameText.includes(`main.go:${expected.line}`), frameText);

      const symbols = (await server.workspaceSymbols('main.index')) as SymbolInformation[];
      const sym = symbols.find((s) => s.name === 'main.index');
      assert.deepEqual(parseFunctionDocumentUri(sym?.location.uri ?? ''), { file: bin, name: 'main.index' });

      const caller = 'TEXT main.caller(SB) /x/caller.go\n  caller.go:3\t\t0x1000\t\te8fbffffff\t\tCALL main.index(SB)\t\n';
      await server.open('file:///work/caller.objdump', 'go-objdump', caller);
      const call = positionOf(caller, 'main.index', 2);
      const loc = firstLocation(await server.definition('file:///work/caller.objdump', call.line, call.character));
      assert.deepEqual(parseFunctionDocumentUri(loc?.uri ?? ''), { file: bin, name: 'main.index' });

      const files = await server.connection.sendRequest<ListSymbolFilesResult>(ListSymbolFilesRequest.method);
      assert.deepEqual(
        files.files.map((f) => [f.path, f.kind, f.skipped]),
        [[bin, 'binary', false]],
      );
      const fns = await server.connection.sendRequest<ListFunctionsResult>(ListFunctionsRequest.method, { path: bin });
      assert.deepEqual(
        fns.functions.find((f) => f.name === 'main.index'),
        { name: 'main.index', start: entry, size: fns.functions.find((f) => f.name === 'main.index')?.size },
      );
      assert.ok(fns.functions.length > 1000, `${fns.functions.length} functions`);
    } finally {
      await server.stop();
    }
    assert.equal(server.unexpectedExit, undefined);
  });
});

describe('bad input never crashes the server', () => {
  let dir: string;
  const files: Record<string, string> = {};
  const LONG = 'z'.repeat(100_000);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bluepill-lsp-bad-'));
    files.notElf = join(dir, 'notes.txt');
    writeFileSync(files.notElf, 'These are notes, not a binary and not a dump.\n');
    const elf = readFileSync('/usr/bin/true');
    files.truncated = join(dir, 'truncated-elf');
    writeFileSync(files.truncated, elf.subarray(0, Math.floor(elf.length / 2)));
    files.headerOnly = join(dir, 'header-only-elf');
    writeFileSync(files.headerOnly, elf.subarray(0, 20));
    files.strippedC = '/usr/bin/true';
    files.garbage = join(dir, 'garbage.bin');
    writeFileSync(files.garbage, pseudoRandomBytes(1 << 20));
    files.empty = join(dir, 'empty.objdump');
    writeFileSync(files.empty, '');
    files.missing = join(dir, 'does-not-exist');
    files.directory = join(dir, 'a-directory');
    mkdirSync(files.directory);
    files.longLine = join(dir, 'long-line.objdump');
    writeFileSync(files.longLine, `${LONG}\n${PANIC_DUMP}`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('unusable files in symbolFiles: one clear message each, skipped; the good ones still work', async () => {
    const bad = [files.notElf, files.truncated, files.headerOnly, files.strippedC, files.garbage, files.empty, files.missing, files.directory];
    // The settings arrive twice, as VS Code's client sends them: still one message per file.
    const server = await LanguageServerProcess.start({ initializationOptions: { settings: { symbolFiles: [...bad, files.longLine] } } });
    try {
      await server.configure({ bluepill: { symbolFiles: [...bad, files.longLine] } });
      await server.waitFor(() => bad.every((p) => server.messages.some((m) => m.includes(p))), 'a message per bad file');
      for (const p of bad) {
        const m = server.messages.filter((x) => x.includes(`${p}:`));
        assert.equal(m.length, 1, `${p}: ${JSON.stringify(server.messages)}`);
        assert.match(m[0], /skipped/);
      }
      assert.match(server.messages.find((m) => m.includes(files.notElf)) ?? '', /neither an ELF binary nor a Go disassembly listing/);
      assert.match(server.messages.find((m) => m.includes(files.truncated)) ?? '', /not a usable ELF binary: truncated/);
      assert.match(server.messages.find((m) => m.includes(files.garbage)) ?? '', /binary data/);
      const infos = await server.connection.sendRequest<ListSymbolFilesResult>(ListSymbolFilesRequest.method);
      const good = infos.files.find((f) => f.path === files.longLine);
      assert.equal(good?.skipped, false);
      assert.equal(good?.functionCount, 2);

      await server.open('file:///work/crash.md', 'markdown', MD);
      const at = positionOf(MD, '0x460631', 2);
      assert.match(hoverText(await server.hover('file:///work/crash.md', at.line, at.character)), /main\.index\+0x31/);

      const added = await server.connection.sendRequest<SymbolFileInfo>(AddSymbolFileRequest.method, { path: files.truncated });
      assert.equal(added.skipped, true);
      assert.match(added.problem ?? '', /truncated/);
    } finally {
      await server.stop();
    }
    assert.equal(server.unexpectedExit, undefined);
  });

  test('a 100k-character line and binary garbage in open documents', async () => {
    const server = await LanguageServerProcess.start();
    try {
      const longDoc = `${PANIC_DUMP}${LONG} 0x460631 ${LONG}\n  main.go:6\t\t0x460631\t\t${'90'.repeat(50_000)}\t\tNOPL\t\n`;
      const garbage = pseudoRandomBytes(256 * 1024).toString('latin1');
      const docs: [string, string, string][] = [
        ['file:///work/long.objdump', 'go-objdump', longDoc],
        ['file:///work/long.txt', 'plaintext', longDoc],
        ['file:///work/garbage.objdump', 'go-objdump', garbage],
        ['file:///work/garbage.log', 'log', garbage],
      ];
      for (const [uri, lang, text] of docs) await server.open(uri, lang, text);
      const lines = longDoc.split('\n');
      const longLine = lines.length - 3;
      for (const [uri] of docs.slice(0, 2)) {
        const h = await server.hover(uri, longLine, LONG.length + 4);
        assert.match(hoverText(h), /main\.index\+0x31/);
        assert.equal(await server.hover(uri, longLine, 50_000), null);
        assert.equal(await server.hover(uri, longLine + 1, 60_000), null);
        await server.definition(uri, longLine, LONG.length + 4);
      }
      for (const [uri] of docs) {
        for (let line = 0; line < 200; line += 7) {
          await server.hover(uri, line, 5);
          await server.definition(uri, line, 5);
        }
        await server.documentSymbols(uri);
        await server.folding(uri);
      }
      await server.workspaceSymbols('0x460631');
      await server.workspaceSymbols('\u0000\uffff');
      const symbols = await server.documentSymbols('file:///work/long.objdump');
      assert.deepEqual(
        symbols.map((s) => s.name),
        ['main.index', 'main.main'],
      );
    } finally {
      await server.stop();
    }
    assert.equal(server.unexpectedExit, undefined);
  });
});

/** Deterministic bytes (a failing run can be repeated); NUL bytes included. */
function pseudoRandomBytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  let x = 0x2545f491;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
