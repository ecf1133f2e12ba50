import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hoverMarkdown, symbolOffset } from '../../../src/language/hoverMarkdown';

test('symbol+offset like tracebacks and Delve print it', () => {
  assert.equal(symbolOffset({ name: 'main.index', offset: 0x31 }), 'main.index+0x31');
  assert.equal(symbolOffset({ name: 'main.index', offset: 0 }), 'main.index');
});

test('the hover: name, address, file:line, source, instruction, origin', () => {
  const md = hoverMarkdown({
    resolved: {
      address: 0x460631,
      name: 'main.(*T).m',
      start: 0x460600,
      offset: 0x31,
      file: '/src/x/main.go',
      line: 6,
      sourceText: 'return xs[i]',
      instruction: { address: 0x460631, encoding: '90', text: 'NOPL' },
      sourceLabel: 'file:///dumps/x.objdump',
    },
    callSite: { address: 0x46062c, encoding: 'e84f97ffff', text: 'CALL runtime.panicIndex(SB)' },
  });
  assert.equal(
    md,
    [
      '**`main.(*T).m+0x31`** at `0x460631`',
      '`main.go:6` — `/src/x/main.go`',
      '```go\nreturn xs[i]\n```',
      '```go-objdump\n0x46062c\te84f97ffff\tCALL runtime.panicIndex(SB)    // the call (return address below)\n0x460631\t90\tNOPL\n```',
      '_from /dumps/x\\.objdump_',
    ].join('\n\n'),
  );
});

test('backticks in names and fences in text cannot break out of the code', () => {
  const md = hoverMarkdown({
    resolved: {
      address: 1,
      name: 'a`b',
      start: 0,
      offset: 1,
      file: '',
      line: 0,
      instruction: { address: 1, encoding: '00', text: '```evil' },
      sourceLabel: 'x',
    },
  });
  assert.ok(md.startsWith('**``a`b+0x1``**'), md);
  assert.ok(!md.includes('\n```evil'), md);
});
