// `npm run package` builds a .vsix that holds only what the extension needs at run time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../support/repoRoot';

test('the .vsix contains only dist/, syntaxes/, media/, README.md, LICENSE and package.json, and stays under 2 MB', () => {
  execFileSync('npm', ['run', '--silent', 'package'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  const files = execFileSync('npx', ['vsce', 'ls', '--no-dependencies'], { cwd: repoRoot, encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  for (const f of files) assert.match(f, /^(dist\/|syntaxes\/|media\/|README\.md$|LICENSE$|package\.json$)/, `${f} does not belong in the package`);
  for (const needed of [
    'dist/extension.js',
    'dist/adapter.js',
    'dist/languageServer.js',
    'syntaxes/go-objdump.tmLanguage.json',
    'package.json',
    'README.md',
    'LICENSE',
  ]) {
    assert.ok(files.includes(needed), `${needed} is packaged`);
  }
  assert.ok(!files.some((f) => f.endsWith('.map')), 'no source maps');
  const size = statSync(join(repoRoot, 'bluepill-debug.vsix')).size;
  assert.ok(size < 2 * 1024 * 1024, `the .vsix is ${size} bytes`);
});
