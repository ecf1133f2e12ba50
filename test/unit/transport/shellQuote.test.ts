// The quoter against a real POSIX shell: whatever goes in comes out as one literal word and
// nothing runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';
import { shellQuote, shellQuoteArgv, shellQuoteHomePath } from '../../../src/transport/shellQuote';

const dir = mkdtempSync(join(tmpdir(), 'bluepill-quote-'));
const canary = join(dir, 'canary');
const hostile = [
  `$(touch ${canary})`,
  `\`touch ${canary}\``,
  `; touch ${canary}`,
  `a\ntouch ${canary}`,
  `'; touch ${canary}; '`,
  `"; touch ${canary}; "`,
  `| touch ${canary}`,
  `&& touch ${canary}`,
  `> ${canary}`,
  `-oProxyCommand=touch ${canary}`,
  `it's`,
  '',
  '*',
  '~',
  '\\',
];

test('every hostile word reaches the program as exactly one literal argument, and nothing runs', () => {
  for (const word of hostile) {
    const out = execFileSync('sh', ['-c', `printf '%s\\0' ${shellQuote(word)}`]).toString('utf8');
    assert.equal(out, word + '\0', `round trip of ${JSON.stringify(word)}`);
  }
  const all = execFileSync('sh', ['-c', `printf '%s\\0' ${shellQuoteArgv(hostile)}`]).toString('utf8');
  assert.deepEqual(all.split('\0').slice(0, -1), hostile);
  assert.equal(existsSync(canary), false, 'the canary file was not created');
  rmSync(dir, { recursive: true, force: true });
});

test('NUL cannot be quoted and is refused', () => {
  assert.throws(() => shellQuote('a\0b'), /NUL/);
});

test('a leading ~/ is expanded by the shell, the rest stays literal', () => {
  const out = execFileSync('sh', ['-c', `printf '%s' ${shellQuoteHomePath('~/go/bin/$(x) dlv')}`], { env: { ...process.env, HOME: homedir() } }).toString(
    'utf8',
  );
  assert.equal(out, `${homedir()}/go/bin/$(x) dlv`);
  assert.equal(shellQuoteHomePath('/usr/bin/dlv'), `'/usr/bin/dlv'`);
  assert.equal(shellQuoteHomePath('~root/x'), `'~root/x'`, 'only ~/ is special');
});
