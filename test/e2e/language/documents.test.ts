// The language server over LSP on open documents: hover in go-objdump, Markdown, plain text
// and log documents, go to definition, outline, folding, workspace symbols, diagnostics.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DocumentSymbol, SymbolInformation } from 'vscode-languageserver-protocol';
import { SymbolizeRequest, type SymbolizeParams, type SymbolizeResult } from '../../../src/protocol/languageMessages';
import { FIXTURES, firstLocation, hoverText, LanguageServerProcess, positionOf } from '../../support/languageServerProcess';

const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
const PANIC_DUMP = fixture('objdump_panicdemo_amd64_go1.19.txt');
const TRACEBACK = fixture('traceback_gotraceback-system_amd64_go1.19.txt');
const TRACEBACK_DEFAULT = fixture('traceback_default_amd64_go1.19.txt');
const ARM64_DUMP = fixture('objdump_arm64_go1.19.txt');
const AMD64_DUMP = fixture('objdump_amd64_go1.19.txt');
const WRONG = fixture('objdump_wrong-toolchain_amd64_go1.19.txt');
const SOURCE_DUMP = fixture('objdump-S_amd64_go1.19.txt');
const DELVE = fixture('delve-1.20.2_disassemble_amd64_atpc.txt');

const DUMP_URI = 'file:///work/dumps/panicdemo.objdump';
const ARM64_URI = 'file:///work/dumps/demo-arm64.objdump';
const AMD64_URI = 'file:///work/dumps/demo-amd64.objdump';

describe('go-objdump language server: open documents', () => {
  let server: LanguageServerProcess;

  before(async () => {
    server = await LanguageServerProcess.start();
    await server.open(DUMP_URI, 'go-objdump', PANIC_DUMP);
    await server.open(ARM64_URI, 'go-objdump', ARM64_DUMP);
    await server.open(AMD64_URI, 'go-objdump', AMD64_DUMP);
  });

  after(async () => {
    await server.stop();
    assert.equal(server.unexpectedExit, undefined);
  });

  test('hover on an address in a go-objdump listing shows symbol+offset, file:line and the instruction', async () => {
    const at = positionOf(PANIC_DUMP, '0x460631', 3);
    const text = hoverText(await server.hover(DUMP_URI, at.line, at.character));
    assert.match(text, /main\.index\+0x31/);
    assert.match(text, /main\.go:6/);
    assert.match(text, /\/home\/pi\/src\/panicdemo\/main\.go/);
    assert.match(text, /```go-objdump\n0x460631\t90\tNOPL\n```/);
  });

  test('hover in an objdump -S listing shows the interleaved Go source line', async () => {
    const uri = 'file:///work/dumps/source.objdump';
    await server.open(uri, 'go-objdump', SOURCE_DUMP);
    const at = positionOf(SOURCE_DUMP, '0x433de4', 3);
    const text = hoverText(await server.hover(uri, at.line, at.character));
    assert.match(text, /runtime\.main\.func1\+0x24/);
    assert.match(text, /```go\nnewm\(sysmon, nil, -1\)\n```/);
    assert.match(text, /CALL runtime\.newm\(SB\)/);
  });

  test('hover on a branch target resolves to the function holding it', async () => {
    const at = positionOf(PANIC_DUMP, 'JBE 0x4606c3', 6);
    const text = hoverText(await server.hover(DUMP_URI, at.line, at.character));
    assert.match(text, /main\.main\+0x83/);
    assert.match(text, /CALL runtime\.morestack_noctxt\.abi0\(SB\)/);
  });

  test('the encoding column and words are not addresses', async () => {
    const enc = positionOf(PANIC_DUMP, '4883ec18', 2);
    assert.equal(await server.hover(DUMP_URI, enc.line, enc.character), null);
    const word = positionOf(PANIC_DUMP, 'SUBQ', 1);
    assert.equal(await server.hover(DUMP_URI, word.line, word.character), null);
  });

  test('a bare hex address counts in go-objdump documents only', async () => {
    const notes = 'crash notes\nthe guest exit landed at 460631 after the hop\n';
    await server.open('file:///work/notes.objdump', 'go-objdump', notes);
    await server.open('file:///work/notes.md', 'markdown', notes);
    const at = positionOf(notes, '460631', 2);
    assert.match(hoverText(await server.hover('file:///work/notes.objdump', at.line, at.character)), /main\.index\+0x31/);
    assert.equal(await server.hover('file:///work/notes.md', at.line, at.character), null);
  });

  test('hover in Markdown uses the listings that are open', async () => {
    const md = '# Crash\n\nThe panic came from `0x460631` in the dump.\n\n```\nNOPL at 0x460631\n```\n';
    await server.open('file:///work/crash.md', 'markdown', md);
    const at = positionOf(md, '0x460631', 4);
    const h = await server.hover('file:///work/crash.md', at.line, at.character);
    assert.match(hoverText(h), /main\.index\+0x31/);
    assert.deepEqual(h?.range, { start: { line: at.line, character: at.character - 4 }, end: { line: at.line, character: at.character + 4 } });
  });

  test('hover on +0x31 in a plain-text traceback names the frame from the line above', async () => {
    await server.open('file:///work/panic.txt', 'plaintext', TRACEBACK);
    const at = positionOf(TRACEBACK, '+0x31', 2);
    const text = hoverText(await server.hover('file:///work/panic.txt', at.line, at.character));
    assert.match(text, /main\.index\+0x31/);
    assert.match(text, /NOPL/);
    // the frame's pc is a return address: the call before it is shown too
    assert.match(text, /CALL runtime\.panicIndex\(SB\)/);
  });

  test('hover on pc= in a traceback; fp= and sp= are stack addresses and get none', async () => {
    const pc = positionOf(TRACEBACK, 'pc=0x460698', 6);
    const text = hoverText(await server.hover('file:///work/panic.txt', pc.line, pc.character));
    assert.match(text, /main\.main\+0x58/);
    assert.match(text, /CALL main\.index\(SB\)/);
    const fp = positionOf(TRACEBACK, 'fp=0xc000066f80', 6);
    assert.equal(await server.hover('file:///work/panic.txt', fp.line, fp.character), null);
  });

  test('hover on +0x58 in a log file', async () => {
    await server.open('file:///work/panic.log', 'log', TRACEBACK_DEFAULT);
    const at = positionOf(TRACEBACK_DEFAULT, '+0x58', 1);
    const text = hoverText(await server.hover('file:///work/panic.log', at.line, at.character));
    assert.match(text, /main\.main\+0x58/);
    assert.match(text, /main\.go:9/);
  });

  test('hover on name+0xoff (Delve and traceback style) in a note', async () => {
    const note = 'stopped at main.main+0x58 twice\n';
    await server.open('file:///work/stop.txt', 'plaintext', note);
    const at = positionOf(note, '+0x58', 2);
    assert.match(hoverText(await server.hover('file:///work/stop.txt', at.line, at.character)), /main\.main\+0x58[\s\S]*MOVQ AX, 0x20\(SP\)/);
  });

  test('go to definition from CALL x(SB) goes to the TEXT line', async () => {
    const at = positionOf(PANIC_DUMP, 'CALL main.index(SB)', 7);
    const loc = firstLocation(await server.definition(DUMP_URI, at.line, at.character));
    assert.deepEqual(loc, { uri: DUMP_URI, line: positionOf(PANIC_DUMP, 'TEXT main.index(SB)').line });
  });

  test('go to definition of a CALL into another open listing', async () => {
    const caller = 'TEXT main.caller(SB) /x/caller.go\n  caller.go:3\t\t0x1000\t\te8fbffffff\t\tCALL main.index(SB)\t\n';
    await server.open('file:///work/caller.objdump', 'go-objdump', caller);
    const at = positionOf(caller, 'main.index', 2);
    const loc = firstLocation(await server.definition('file:///work/caller.objdump', at.line, at.character));
    assert.deepEqual(loc, { uri: DUMP_URI, line: 0 });
  });

  test('go to definition from an amd64 absolute branch target goes to the target instruction', async () => {
    const at = positionOf(PANIC_DUMP, 'JBE 0x460626', 6);
    const loc = firstLocation(await server.definition(DUMP_URI, at.line, at.character));
    assert.deepEqual(loc, { uri: DUMP_URI, line: positionOf(PANIC_DUMP, '\t0x460626\t').line });
  });

  test('go to definition from an arm64 N(PC) branch: target = pc + 4·N', async () => {
    const at = positionOf(ARM64_DUMP, 'BLS 80(PC)', 4);
    const loc = firstLocation(await server.definition(ARM64_URI, at.line, at.character));
    // 0x926f8 + 4*80 = 0x92838
    assert.deepEqual(loc, { uri: ARM64_URI, line: positionOf(ARM64_DUMP, '0x92838\t').line });
    const back = positionOf(ARM64_DUMP, 'CBNZ R27, -4(PC)', 11);
    const loc2 = firstLocation(await server.definition(ARM64_URI, back.line, back.character));
    // 0x9275c - 16 = 0x9274c
    assert.deepEqual(loc2, { uri: ARM64_URI, line: positionOf(ARM64_DUMP, '0x9274c\t').line });
  });

  test('ADRP N(PC) is a byte offset to data, not a jump', async () => {
    const at = positionOf(ARM64_DUMP, 'ADRP 999424(PC)', 6);
    assert.equal(await server.definition(ARM64_URI, at.line, at.character), null);
  });

  test('go to definition in a Delve (intel flavour) listing', async () => {
    await server.open('file:///work/delve.objdump', 'go-objdump', DELVE);
    const at = positionOf(DELVE, 'jl 0x4847f4', 4);
    const loc = firstLocation(await server.definition('file:///work/delve.objdump', at.line, at.character));
    assert.equal(loc?.line, positionOf(DELVE, '0x4847f4\t').line);
  });

  test('definition links carry the origin range when the client supports them', async () => {
    const s = await LanguageServerProcess.start({ linkSupport: true });
    try {
      await s.open(DUMP_URI, 'go-objdump', PANIC_DUMP);
      const at = positionOf(PANIC_DUMP, 'CALL main.index(SB)', 7);
      const links = await s.definition(DUMP_URI, at.line, at.character);
      assert.ok(Array.isArray(links) && links.length === 1 && 'targetUri' in links[0]);
      const link = links[0] as { originSelectionRange?: { start: { character: number } }; targetUri: string };
      assert.equal(link.targetUri, DUMP_URI);
      assert.equal(link.originSelectionRange?.start.character, at.character - 2);
    } finally {
      await s.stop();
    }
  });

  test('document symbols: one per TEXT block, with its range', async () => {
    const symbols = await server.documentSymbols(DUMP_URI);
    assert.deepEqual(
      symbols.map((s: DocumentSymbol) => [s.name, s.range.start.line, s.range.end.line, s.detail]),
      [
        ['main.index', 0, 14, '0x460600 /home/pi/src/panicdemo/main.go'],
        ['main.main', 16, PANIC_DUMP.trimEnd().split('\n').length - 1, '0x460640 /home/pi/src/panicdemo/main.go'],
      ],
    );
  });

  test('folding: one range per TEXT block, blank separators left out', async () => {
    const ranges = await server.folding(ARM64_URI);
    const lines = ARM64_DUMP.split('\n');
    const textLines = lines.flatMap((l, i) => (l.startsWith('TEXT ') ? [i] : []));
    assert.deepEqual(
      ranges?.map((r) => r.startLine),
      textLines,
    );
    for (const r of ranges ?? []) assert.notEqual(lines[r.endLine].trim(), '');
    assert.equal(ranges?.[0].endLine, textLines[1] - 2);
  });

  test('workspace symbols by name and by address', async () => {
    const byName = (await server.workspaceSymbols('classify')) as SymbolInformation[];
    const uris = byName.filter((s) => s.name === 'main.classify').map((s) => s.location.uri);
    assert.ok(uris.includes(ARM64_URI) && uris.includes(AMD64_URI), JSON.stringify(byName));
    const byAddr = (await server.workspaceSymbols('0x460631')) as SymbolInformation[];
    assert.deepEqual(
      byAddr.map((s) => [s.name, s.location.uri, s.location.range.start.line]),
      [['main.index+0x31 (0x460631)', DUMP_URI, 0]],
    );
  });

  test('a dump from the wrong toolchain gets one diagnostic saying what to do; a good one none', async () => {
    const uri = 'file:///work/wrong.objdump';
    await server.open(uri, 'go-objdump', WRONG);
    await server.waitFor(() => server.diagnostics.has(uri), 'diagnostics');
    const d = server.diagnostics.get(uri) ?? [];
    assert.equal(d.length, 1);
    assert.equal(d[0].code, 'wrong-toolchain');
    assert.equal(d[0].range.start.line, 0);
    assert.match(d[0].message, /wrong toolchain/);
    assert.match(d[0].message, /Go toolchain at least as new as the binary's/);
    await server.waitFor(() => server.diagnostics.has(DUMP_URI), 'diagnostics of the good dump');
    assert.deepEqual(server.diagnostics.get(DUMP_URI), []);
  });

  test('edits are re-indexed: a hover after a change sees the new listing', async () => {
    const uri = 'file:///work/edited.objdump';
    await server.open(uri, 'go-objdump', 'TEXT main.a(SB) /a.go\n  a.go:1\t\t0x9000\t\t90\t\tNOPL\t\n');
    await server.replace(uri, 'TEXT main.b(SB) /b.go\n  b.go:1\t\t0x9000\t\t90\t\tNOPL\t\n');
    const text = hoverText(await server.hover(uri, 1, 12));
    assert.match(text, /main\.b/);
    // the wrong-toolchain text is replaced by a clean listing: diagnostics cleared
    await server.replace(uri, WRONG);
    await server.waitFor(() => (server.diagnostics.get(uri) ?? []).length === 1, 'diagnostic after edit');
    await server.replace(uri, PANIC_DUMP);
    await server.waitFor(() => (server.diagnostics.get(uri) ?? []).length === 0, 'diagnostic cleared');
  });
});

describe('go-objdump language server: the live debug session', () => {
  test('addresses no file knows are asked of the session through the client', async () => {
    const server = await LanguageServerProcess.start({ initializationOptions: { liveSymbolize: true } });
    const asked: number[][] = [];
    server.connection.onRequest(SymbolizeRequest.method, (p: SymbolizeParams): SymbolizeResult => {
      asked.push(p.addresses);
      return {
        symbols: p.addresses.map((a) =>
          a >= 0x95c6c0 && a < 0x95c700
            ? { function: 'gvisor.dev/gvisor/pkg/sentry/platform/kvm.bluepill', entry: 0x95c6c0, file: '/src/kvm/bluepill.go', line: 42 }
            : null,
        ),
      };
    });
    try {
      const md = 'hop: 0x95c6d8 MRS (bluepill) then 0x12345 unknown\n';
      await server.open('file:///work/hops.md', 'markdown', md);
      const at = positionOf(md, '0x95c6d8', 3);
      const text = hoverText(await server.hover('file:///work/hops.md', at.line, at.character));
      assert.match(text, /kvm\.bluepill\+0x18/);
      assert.match(text, /bluepill\.go:42/);
      assert.match(text, /debug session/);
      assert.deepEqual(asked, [[0x95c6d8]]);
      const none = positionOf(md, '0x12345', 2);
      assert.equal(await server.hover('file:///work/hops.md', none.line, none.character), null);
    } finally {
      await server.stop();
    }
    assert.equal(server.unexpectedExit, undefined);
  });
});
