import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goObjdumpArgs, quoteMeta } from '../../../src/language/goObjdump';

test('QuoteMeta like Go: every RE2 metacharacter escaped', () => {
  assert.equal(quoteMeta('main.(*Counter).Add'), 'main\\.\\(\\*Counter\\)\\.Add');
  assert.equal(quoteMeta('main.Sum[go.shape.int_0]'), 'main\\.Sum\\[go\\.shape\\.int_0\\]');
  assert.equal(quoteMeta('type..eq.struct { a|b; c$^+? }'), 'type\\.\\.eq\\.struct \\{ a\\|b; c\\$\\^\\+\\? \\}');
  assert.equal(quoteMeta('a\\b'), 'a\\\\b');
});

test('argv, never a shell string: the name is one argument, anchored', () => {
  assert.deepEqual(goObjdumpArgs('/bin/x y', "main.f'; rm -rf /"), ['tool', 'objdump', '-s', "^main\\.f'; rm -rf /$", '/bin/x y']);
});
