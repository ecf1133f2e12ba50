// `go tool objdump -s '^name$'` for one function (what the "Open function…" documents show),
// and the language server working on such a document next to its binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GoNotFoundError, goObjdumpFunction } from '../../../src/language/goObjdump';
import { functionDocumentUri, parseFunctionDocumentUri } from '../../../src/protocol/languageMessages';
import { firstLocation, hoverText, LanguageServerProcess, positionOf } from '../../support/languageServerProcess';
import { buildPanicdemo, goVersion, nmAddress } from './panicdemoBinary';

const textLines = (listing: string): string[] => listing.split('\n').filter((l) => l.startsWith('TEXT '));

test('one function, names with regexp metacharacters matched exactly', async (t) => {
  if (goVersion() === undefined) return t.skip('go is not installed');
  const bin = buildPanicdemo().path;
  const index = await goObjdumpFunction(bin, 'main.index');
  assert.deepEqual(
    textLines(index).map((l) => l.split('(SB)')[0]),
    ['TEXT main.index'],
  );
  const method = await goObjdumpFunction(bin, 'runtime.(*mheap).alloc');
  assert.deepEqual(
    textLines(method).map((l) => l.split('(SB)')[0]),
    ['TEXT runtime.(*mheap).alloc'],
  );
  await assert.rejects(goObjdumpFunction(bin, 'main.nothere'), /no function named main\.nothere/);
  await assert.rejects(goObjdumpFunction(bin, 'main.index', { goPath: '/nonexistent/go' }), GoNotFoundError);
});

test('a function document: hover, and definition of its calls into the binary', async (t) => {
  if (goVersion() === undefined) return t.skip('go is not installed');
  const bin = buildPanicdemo().path;
  const listing = await goObjdumpFunction(bin, 'main.index');
  const uri = functionDocumentUri({ file: bin, name: 'main.index' });
  const server = await LanguageServerProcess.start();
  try {
    await server.configure({ bluepill: { symbolFiles: [bin] } });
    await server.open(uri, 'go-objdump', listing);
    const entry = nmAddress(bin, 'main.index');
    const addr = `0x${(entry + 4).toString(16)}`;
    const at = positionOf(listing, `\t${addr}\t`, 3);
    assert.match(hoverText(await server.hover(uri, at.line, at.character)), /main\.index\+0x4/);
    const call = positionOf(listing, 'CALL runtime.panicIndex(SB)', 7);
    const loc = firstLocation(await server.definition(uri, call.line, call.character));
    assert.deepEqual(parseFunctionDocumentUri(loc?.uri ?? ''), { file: bin, name: 'runtime.panicIndex' });
  } finally {
    await server.stop();
  }
  assert.equal(server.unexpectedExit, undefined);
});
